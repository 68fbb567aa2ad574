import { Ease, Ials, ItemKnn, MostPop, NeuMf } from '../src/index.js';
import { recommenderContract } from './support/recommender-contract.js';

recommenderContract('MostPop', () => new MostPop());
recommenderContract('ItemKNN', () => new ItemKnn({ neighbours: 10 }));
recommenderContract(
  'ItemKNN (target pruning, shrink)',
  () => new ItemKnn({ neighbours: 10, shrink: 5, prune: 'target' }),
);
recommenderContract('iALS (CG)', () => new Ials({ factors: 8, lambda: 1, alpha: 5, sweeps: 4 }));
recommenderContract(
  'iALS (Cholesky)',
  () => new Ials({ factors: 8, lambda: 1, alpha: 5, sweeps: 4, solver: 'cholesky' }),
);
recommenderContract('EASE (tfjs sweep)', () => new Ease({ lambda: 10, solver: 'sweep' }));
recommenderContract('EASE (Cholesky)', () => new Ease({ lambda: 10, solver: 'cholesky' }));
recommenderContract(
  'NeuMF',
  () => new NeuMf({ epochs: 3, patience: 2, factors: 8, layers: 2, batchSize: 256, validationUsers: 20 }),
);
