import { Ease, ItemKnn, MostPop, NeuMf } from '../src/index.js';
import { recommenderContract } from './support/recommender-contract.js';

recommenderContract('MostPop', () => new MostPop());
recommenderContract('ItemKNN', () => new ItemKnn({ neighbours: 10 }));
recommenderContract('EASE (tfjs sweep)', () => new Ease({ lambda: 10, solver: 'sweep' }));
recommenderContract('EASE (Cholesky)', () => new Ease({ lambda: 10, solver: 'cholesky' }));
recommenderContract(
  'NeuMF',
  () => new NeuMf({ epochs: 3, patience: 2, factors: 8, layers: 2, batchSize: 256, validationUsers: 20 }),
);
