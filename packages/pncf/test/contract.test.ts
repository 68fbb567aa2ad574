import { recommenderContract } from '../../evaluation/test/support/recommender-contract.js';
import { defaultPreset, HISTORY_DEFAULTS, type PncfConfig } from '../src/config.js';
import { PncfRecommender } from '../src/pncf.js';

/** Small enough for a fit in about a second; one word2vec thread, so a seeded fit is reproducible. */
const tiny: PncfConfig = {
  ...defaultPreset,
  userWord2Vec: { ...defaultPreset.userWord2Vec, dim: 8, threads: 1, epochs: 2 },
  itemWord2Vec: { ...defaultPreset.itemWord2Vec, dim: 8, threads: 1, epochs: 2 },
  tower: { ...defaultPreset.tower, hidden: [16, 8], batchSize: 128, epochs: 3, patience: 1, validationUsers: 20 },
};

recommenderContract('PNCF', () => new PncfRecommender(tiny));
recommenderContract('NPNCF', () => new PncfRecommender({ ...tiny, pretrain: false }));
recommenderContract('PNCF scoring on 2 threads', () => new PncfRecommender(tiny, { scoringThreads: 2 }));
recommenderContract(
  'PNCF+',
  () => new PncfRecommender({ ...tiny, scorer: 'history', history: { ...HISTORY_DEFAULTS, epochs: 3, batchSize: 16 } }),
);
