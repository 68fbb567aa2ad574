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

/**
 * PNCF+ per data set, chosen on seed 1's validation part (bench/pncf-plus-tuning.ts, pncf-plus-tuning.json); the
 * `plus` preset itself holds the author-tag choices (the product's data).
 */
const PLUS_FOR_DATASET: Record<string, PncfConfigOverrides> = {
  'ml-100k': { word2vec: { window: 20 }, history: { dropout: 0.5, batchSize: 64, epochs: 50 } },
};

/** A PNCF entry: defaults → preset → data set → variant (resolvePncfConfig), scoring on every core. */
function entry(label: string, preset: PresetName, variant: PncfConfigOverrides = {}) {
  return {
    label,
    create: (s: PncfSettings): Recommender =>
      new PncfRecommender(
        resolvePncfConfig(
          preset,
          forDataset(s.dataset),
          preset === 'plus' ? (PLUS_FOR_DATASET[s.dataset] ?? {}) : {},
          variant,
        ),
        {
          name: label,
          scoringThreads: availableParallelism(),
        },
      ),
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
  /** The paper's model as its text describes it (config.ts, preset `paper`). */
  'pncf-paper': entry('PNCF-paper', 'paper'),
  /** PNCF+: the same pre-training, then the history model with a full softmax (preset `plus`). */
  'pncf-plus': entry('PNCF+', 'plus'),
  /** PNCF+ ablations (bench/pncf-plus-tuning.ts has the validation figures of each). */
  'pncf-plus-no-history': entry('PNCF+ without history', 'plus', { history: { userSide: 'own' } }),
  'pncf-plus-no-pretrain': entry('PNCF+ without pre-training', 'plus', { pretrain: false, randomInitRange: 0.1 }),
  'pncf-plus-frozen': entry('PNCF+ with frozen tables', 'plus', { history: { fineTuneEmbeddings: false } }),
};
