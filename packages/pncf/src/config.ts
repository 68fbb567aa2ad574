import type { BagOptions } from './bags.js';
import type { TowerOptions } from './train-tower.js';
import { referenceWord2Vec, type Word2VecOptions } from './word2vec.js';

/** Every hyper-parameter of a PNCF fit. Artifacts store it verbatim. */
export interface PncfConfig {
  /** false gives NPNCF: the same tower on random embeddings (the paper's ablation). */
  pretrain: boolean;
  /** Range of the NPNCF random initialisation, U(−r, r) (reference 0.01). */
  randomInitRange: number;
  /** Bags of items per user (for the item vectors) and of users per item (for the user vectors). */
  bags: BagOptions;
  userWord2Vec: Word2VecOptions;
  itemWord2Vec: Word2VecOptions;
  tower: TowerOptions;
}

/**
 * The reference code's choices (main.py on ML-100K): raw-count bag draws, gensim CBOW 32-d, the
 * 256-128-64 tower with dropout 0.5, MSE, 5 random-pair negatives built once, 10 epochs, batch 1024.
 * (The reference builds its negatives once; here they are resampled per epoch, the one deviation.)
 */
export const referencePreset: PncfConfig = {
  pretrain: true,
  randomInitRange: 0.01,
  bags: { bagSize: 20, bagsExponent: 0.75, weightExponent: 1, minMembers: 1 },
  userWord2Vec: referenceWord2Vec,
  itemWord2Vec: referenceWord2Vec,
  tower: {
    hidden: [256, 128, 64],
    batchNorm: true,
    dropout: 0.5,
    loss: 'mse',
    learningRate: 0.001,
    batchSize: 1024,
    epochs: 10,
    negatives: 5,
    negativeSampling: 'random',
    fineTuneEmbeddings: true,
    patience: 0,
    validationUsers: 1000,
    validationK: 20,
  },
};

/**
 * The product default: the best configuration found on the validation part of seed 1 on ML-100K and author-tag
 * (`npm run bench:pncf-tuning`, table in the README): formula-1 bags, skip-gram pre-training (ahead of CBOW by
 * 0.009 validation Recall@20 on ML-100K and 0.023 on author-tag, for about 3.5× the pre-training time), a smaller
 * tower (128-64, dropout 0.2) trained with BCE, lr 0.003, batch 2048, 4 negatives per positive drawn for the
 * positive's user and resampled every epoch, early stopping on validation recall@20.
 */
export const defaultPreset: PncfConfig = {
  ...referencePreset,
  bags: { bagSize: 20, bagsExponent: 0.75, weightExponent: 0.75, minMembers: 2 },
  userWord2Vec: { ...referenceWord2Vec, mode: 'skipgram', threads: 2 },
  itemWord2Vec: { ...referenceWord2Vec, mode: 'skipgram', threads: 2 },
  tower: {
    ...referencePreset.tower,
    hidden: [128, 64],
    dropout: 0.2,
    loss: 'bce',
    learningRate: 0.003,
    batchSize: 2048,
    negatives: 4,
    negativeSampling: 'user',
    epochs: 20,
    patience: 3,
  },
};

export const npncfPreset: PncfConfig = { ...defaultPreset, pretrain: false };

export const presets = { default: defaultPreset, reference: referencePreset, npncf: npncfPreset } as const;
export type PresetName = keyof typeof presets;
