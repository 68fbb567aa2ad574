import { availableParallelism } from 'node:os';
import type { Recommender } from '@pncf/evaluation';
import { type PncfConfigOverrides, PncfRecommender, type PresetName, resolvePncfConfig } from '@pncf/pncf';

/** What the PNCF entries read from the experiment's settings. */
interface PncfSettings {
  dataset: string;
}

/**
 * Per-data-set adjustments, laid over the preset and the variant. On the sparse author-tag set (≈19k users × 7k
 * items) validation scoring is the expensive part of a fit, so fewer users are scored per epoch.
 */
function forDataset(dataset: string): PncfConfigOverrides {
  return dataset === 'author-tag' ? { tower: { validationUsers: 500 } } : {};
}

/** A PNCF entry: defaults → preset → variant → data set (resolvePncfConfig), scoring on every core. */
function entry(label: string, preset: PresetName, variant: PncfConfigOverrides = {}) {
  return {
    label,
    create: (s: PncfSettings): Recommender =>
      new PncfRecommender(resolvePncfConfig(preset, variant, forDataset(s.dataset)), {
        name: label,
        scoringThreads: availableParallelism(),
      }),
  };
}

/** PNCF's entries for the experiment CLI's model registry (merged into MODEL_REGISTRY). */
export const PNCF_MODELS: Record<string, { label: string; create: (settings: PncfSettings) => Recommender }> = {
  pncf: entry('PNCF', 'default'),
  npncf: entry('NPNCF', 'npncf'),
  /** Formula 1 replaced by uniform draws: the ablation that shows what the counts contribute. */
  'pncf-uniform': entry('PNCF-uniform', 'default', { bags: { weightExponent: 0 } }),
  /** CBOW pre-training instead of skip-gram: the default before the validation sweep (bench/pncf-tuning.ts). */
  'pncf-cbow': entry('PNCF-CBOW', 'default', { word2vec: { mode: 'cbow' } }),
  'pncf-reference': entry('PNCF-reference', 'reference'),
};
