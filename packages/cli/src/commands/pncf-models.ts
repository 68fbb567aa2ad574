import { availableParallelism } from 'node:os';
import type { Recommender } from '@pncf/evaluation';
import { defaultPreset, type PncfConfig, PncfRecommender, referencePreset } from '@pncf/pncf';

/** What the PNCF entries read from the experiment's settings. */
interface PncfSettings {
  dataset: string;
}

/**
 * Per-data-set adjustments to a preset. On the sparse author-tag set (≈19k users × 7k items) validation
 * scoring is the expensive part of a fit, so fewer users are scored per epoch.
 */
function forDataset(config: PncfConfig, dataset: string): PncfConfig {
  if (dataset !== 'author-tag') return config;
  return { ...config, tower: { ...config.tower, validationUsers: 500 } };
}

/** Evaluation scores on every core (see PncfRecommender.scoringThreads). */
function onAllCores(model: PncfRecommender): PncfRecommender {
  model.scoringThreads = availableParallelism();
  return model;
}

/** CBOW pre-training instead of skip-gram: the default before the validation sweep (bench/pncf-tuning.ts). */
const cbow = (c: PncfConfig): PncfConfig => ({
  ...c,
  userWord2Vec: { ...c.userWord2Vec, mode: 'cbow' },
  itemWord2Vec: { ...c.itemWord2Vec, mode: 'cbow' },
});

/** Formula 1 replaced by uniform draws: the ablation that shows what the counts contribute. */
const uniformBags = (c: PncfConfig): PncfConfig => ({ ...c, bags: { ...c.bags, weightExponent: 0 } });

/** PNCF's entries for the experiment CLI's model registry (merged into MODEL_REGISTRY). */
export const PNCF_MODELS: Record<string, { label: string; create: (settings: PncfSettings) => Recommender }> = {
  pncf: { label: 'PNCF', create: (s) => onAllCores(new PncfRecommender(forDataset(defaultPreset, s.dataset), 'PNCF')) },
  npncf: {
    label: 'NPNCF',
    create: (s) =>
      onAllCores(new PncfRecommender(forDataset({ ...defaultPreset, pretrain: false }, s.dataset), 'NPNCF')),
  },
  'pncf-uniform': {
    label: 'PNCF-uniform',
    create: (s) => onAllCores(new PncfRecommender(forDataset(uniformBags(defaultPreset), s.dataset), 'PNCF-uniform')),
  },
  'pncf-cbow': {
    label: 'PNCF-CBOW',
    create: (s) => onAllCores(new PncfRecommender(forDataset(cbow(defaultPreset), s.dataset), 'PNCF-CBOW')),
  },
  'pncf-reference': {
    label: 'PNCF-reference',
    create: (s) => onAllCores(new PncfRecommender(forDataset(referencePreset, s.dataset), 'PNCF-reference')),
  },
};
