import { z } from 'zod';
import type { BagOptions } from './bags.js';
import type { HistoryOptions } from './train-history.js';
import type { TowerOptions } from './train-tower.js';
import { referenceWord2Vec, type Word2VecOptions } from './word2vec.js';

/** Every hyper-parameter of a PNCF fit. Artifacts store it verbatim; `pncfConfigSchema` validates it. */
export interface PncfConfig {
  /** false gives NPNCF: the same tower on random embeddings (the paper's ablation). */
  pretrain: boolean;
  /** Range of the NPNCF random initialisation, U(−r, r) (reference 0.01). */
  randomInitRange: number;
  /** Bags of items per user (for the item vectors) and of users per item (for the user vectors). */
  bags: BagOptions;
  userWord2Vec: Word2VecOptions;
  itemWord2Vec: Word2VecOptions;
  /**
   * The learned scorer over the pre-trained tables: the paper's tower on (user, item) pairs, or PNCF+'s
   * history model (history-model.ts: the user's pre-trained vector plus their pooled items, dot product with
   * the items, full softmax).
   */
  scorer: 'tower' | 'history';
  tower: TowerOptions;
  history: HistoryOptions;
}

const count = (min: number) => z.number().int().min(min);

export const bagOptionsSchema = z.object({
  bagSize: count(1),
  bagsExponent: z.number().min(0),
  weightExponent: z.number().min(0),
  minMembers: count(0),
});

export const word2VecOptionsSchema = z.object({
  mode: z.enum(['skipgram', 'cbow']),
  dim: count(1),
  window: count(1),
  negative: count(0),
  noiseExponent: z.number(),
  epochs: count(1),
  alpha: z.number().positive(),
  minAlpha: z.number().min(0),
  sample: z.number().min(0),
  /** 0 and 1 both train in the calling thread. */
  threads: count(0),
});

export const towerOptionsSchema = z.object({
  hidden: z.array(count(1)),
  batchNorm: z.boolean(),
  dropout: z.number().min(0).lt(1),
  loss: z.enum(['mse', 'bce']),
  learningRate: z.number().positive(),
  /** Batch norm needs two samples at least (a trailing singleton batch is dropped). */
  batchSize: count(2),
  epochs: count(1),
  negatives: count(0),
  negativeSampling: z.enum(['user', 'random']),
  fineTuneEmbeddings: z.boolean(),
  patience: count(0),
  validationUsers: count(1),
  validationK: count(1),
});

export const historyOptionsSchema = z.object({
  historyDrop: z.number().min(0).lt(1),
  targets: z.enum(['all', 'dropped']),
  dropout: z.number().min(0).lt(1),
  learningRate: z.number().positive(),
  weightDecay: z.number().min(0),
  batchSize: count(1),
  epochs: count(1),
  fineTuneEmbeddings: z.boolean(),
  // Defaults: history artifacts written before these options existed.
  userSide: z.enum(['both', 'history', 'own']).default('both'),
  countExponent: z.number().min(0).default(0),
  poolNormExponent: z.number().min(0).default(1),
});

/** PNCF+'s history model as tuned on validation (bench/pncf-plus-tuning.ts); presets override per data set. */
export const HISTORY_DEFAULTS: HistoryOptions = {
  historyDrop: 0.5,
  targets: 'all',
  dropout: 0.3,
  learningRate: 0.001,
  weightDecay: 0.5,
  batchSize: 64,
  epochs: 60,
  fineTuneEmbeddings: true,
  userSide: 'both',
  countExponent: 0,
  poolNormExponent: 1,
};

/** The schema of `PncfConfig`: presets are built through it and artifacts' configs are checked against it. */
export const pncfConfigSchema = z
  .object({
    pretrain: z.boolean(),
    randomInitRange: z.number().positive(),
    bags: bagOptionsSchema,
    userWord2Vec: word2VecOptionsSchema,
    itemWord2Vec: word2VecOptionsSchema,
    // Artifacts written before PNCF+ have neither field: they are tower models.
    scorer: z.enum(['tower', 'history']).default('tower'),
    tower: towerOptionsSchema,
    history: historyOptionsSchema.default(HISTORY_DEFAULTS),
  })
  .refine((c) => c.itemWord2Vec.dim === c.userWord2Vec.dim, {
    path: ['itemWord2Vec', 'dim'],
    message: 'must equal userWord2Vec.dim (the tower concatenates a user and an item vector)',
  });

// Compile-time: each schema describes exactly its option type (a field added to one side only fails `tsc`).
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
true satisfies Same<z.output<typeof bagOptionsSchema>, BagOptions>;
true satisfies Same<z.output<typeof word2VecOptionsSchema>, Word2VecOptions>;
true satisfies Same<z.output<typeof towerOptionsSchema>, TowerOptions>;
true satisfies Same<z.output<typeof historyOptionsSchema>, HistoryOptions>;
true satisfies Same<z.output<typeof pncfConfigSchema>, PncfConfig>;

/** A config that fails `pncfConfigSchema`; the message names where it came from and every bad field. */
export class InvalidPncfConfigError extends Error {
  constructor(
    readonly source: string,
    readonly issues: { path: string; message: string }[],
  ) {
    super(`${source}: invalid PNCF config: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`);
    this.name = 'InvalidPncfConfigError';
  }
}

/** Validate an untrusted config (`source` names it in the error: an artifact, a preset, a command line). */
export function parsePncfConfig(value: unknown, source: string): PncfConfig {
  const parsed = pncfConfigSchema.safeParse(value);
  if (parsed.success) return parsed.data;
  throw new InvalidPncfConfigError(
    source,
    parsed.error.issues.map((issue) => ({
      path: issue.path.length > 0 ? issue.path.map(String).join('.') : '(config)',
      message: issue.message,
    })),
  );
}

/**
 * Part of a config laid over another: each section is merged field by field, and a field left undefined keeps
 * the value below it. `word2vec` applies to both word2vec tables, before `userWord2Vec` / `itemWord2Vec`.
 */
export interface PncfConfigOverrides {
  pretrain?: boolean | undefined;
  randomInitRange?: number | undefined;
  scorer?: PncfConfig['scorer'] | undefined;
  bags?: Partial<BagOptions> | undefined;
  word2vec?: Partial<Word2VecOptions> | undefined;
  userWord2Vec?: Partial<Word2VecOptions> | undefined;
  itemWord2Vec?: Partial<Word2VecOptions> | undefined;
  tower?: Partial<TowerOptions> | undefined;
  history?: Partial<HistoryOptions> | undefined;
}

function defined<T extends object>(overrides: T | undefined): Partial<T> {
  const out: Partial<T> = {};
  for (const [key, value] of Object.entries(overrides ?? {})) {
    if (value !== undefined) out[key as keyof T] = value as T[keyof T];
  }
  return out;
}

/** `overrides` laid over `base` (not validated: `resolvePncfConfig` validates the result). */
export function mergePncfConfig(base: PncfConfig, overrides: PncfConfigOverrides): PncfConfig {
  const top = defined({
    pretrain: overrides.pretrain,
    randomInitRange: overrides.randomInitRange,
    scorer: overrides.scorer,
  });
  const word2vec = defined(overrides.word2vec);
  return {
    ...base,
    ...top,
    bags: { ...base.bags, ...defined(overrides.bags) },
    userWord2Vec: { ...base.userWord2Vec, ...word2vec, ...defined(overrides.userWord2Vec) },
    itemWord2Vec: { ...base.itemWord2Vec, ...word2vec, ...defined(overrides.itemWord2Vec) },
    tower: { ...base.tower, ...defined(overrides.tower) },
    history: { ...base.history, ...defined(overrides.history) },
  };
}

/**
 * The defaults every preset starts from: the product default, the best configuration found on the validation
 * part of seed 1 on ML-100K and author-tag (`npm run bench:pncf-tuning`, table in the README): formula-1 bags,
 * skip-gram pre-training (ahead of CBOW by 0.009 validation Recall@20 on ML-100K and 0.023 on author-tag, for
 * about 3.5× the pre-training time), a smaller tower (128-64, dropout 0.2) trained with BCE, lr 0.003, batch
 * 2048, 4 negatives per positive drawn for the positive's user and resampled every epoch, early stopping on
 * validation recall@20.
 */
export const PNCF_DEFAULTS: PncfConfig = pncfConfigSchema.parse({
  pretrain: true,
  randomInitRange: 0.01,
  bags: { bagSize: 20, bagsExponent: 0.75, weightExponent: 0.75, minMembers: 2 },
  userWord2Vec: { ...referenceWord2Vec, mode: 'skipgram', threads: 2 },
  itemWord2Vec: { ...referenceWord2Vec, mode: 'skipgram', threads: 2 },
  tower: {
    hidden: [128, 64],
    batchNorm: true,
    dropout: 0.2,
    loss: 'bce',
    learningRate: 0.003,
    batchSize: 2048,
    epochs: 20,
    negatives: 4,
    negativeSampling: 'user',
    fineTuneEmbeddings: true,
    patience: 3,
    validationUsers: 1000,
    validationK: 20,
  },
  scorer: 'tower',
  history: HISTORY_DEFAULTS,
} satisfies PncfConfig);

/** The reference code's tower and its training (main.py on ML-100K), shared by the reference and paper presets. */
const REFERENCE_TOWER: Partial<TowerOptions> = {
  hidden: [256, 128, 64],
  dropout: 0.5,
  loss: 'mse',
  learningRate: 0.001,
  batchSize: 1024,
  epochs: 10,
  negatives: 5,
  negativeSampling: 'random',
  patience: 0,
};

/** Each preset as overrides of PNCF_DEFAULTS. */
const PRESET_OVERRIDES = {
  /** The product default: PNCF_DEFAULTS as they are. */
  default: {},
  /**
   * The reference code's choices (main.py on ML-100K): raw-count bag draws, gensim CBOW 32-d, the 256-128-64
   * tower with dropout 0.5, MSE, 5 random-pair negatives, 10 epochs, batch 1024, no early stopping. (The
   * reference builds its negatives once; here they are resampled per epoch, the one deviation.)
   */
  reference: {
    bags: { weightExponent: 1, minMembers: 1 },
    word2vec: referenceWord2Vec,
    tower: REFERENCE_TOWER,
  },
  /** NPNCF: the default tower on random embeddings. */
  npncf: { pretrain: false },
  /**
   * The paper's model as its text describes it: formula-1 bags (floor(n^0.75) bags of 20 per row, members drawn
   * ∝ count^0.75), word2vec on both sides, the 64→256→128→64→1 tower with batch norm, ReLU, dropout and a
   * sigmoid, trained with MSE on positives and sampled negatives. What the text leaves open comes from the
   * reference code: CBOW with gensim's defaults, 32-d per side (so 64 into the tower), dropout 0.5, 5 random
   * (user, item) negatives per positive, Adam lr 0.001, batch 1024, 10 epochs, no early stopping, no minimum
   * bag membership. Ours: negatives are resampled every epoch.
   */
  paper: {
    bags: { bagsExponent: 0.75, weightExponent: 0.75, minMembers: 1 },
    word2vec: referenceWord2Vec,
    tower: { ...REFERENCE_TOWER, batchNorm: true },
  },
  /**
   * PNCF+: the same pre-training (formula-1 bags, word2vec on both sides, here 64-d skip-gram without
   * subsampling), then the history model (history-model.ts) with a full softmax instead of the tower. Batch
   * and epochs as chosen on author-tag's validation part (bench/pncf-plus-tuning.ts): best NDCG@10 at epoch 12,
   * with items weighted by count^0.75 (formula 1's weights) in the pool and in the softmax targets (0.0702 against
   * 0.0678 binary).
   */
  plus: {
    scorer: 'history',
    word2vec: { mode: 'skipgram', dim: 64, window: 5, sample: 0 },
    history: { batchSize: 256, epochs: 12, countExponent: 0.75 },
  },
} satisfies Record<string, PncfConfigOverrides>;

export type PresetName = keyof typeof PRESET_OVERRIDES;
export const PRESET_NAMES = Object.keys(PRESET_OVERRIDES) as PresetName[];

/**
 * The one way a PNCF config is built, in this order of precedence (later wins, field by field):
 * PNCF_DEFAULTS → the preset's overrides → each of `overrides` in turn (e.g. the environment, then the command
 * line). The result is validated; an invalid one throws an InvalidPncfConfigError naming every bad field.
 */
export function resolvePncfConfig(preset: PresetName = 'default', ...overrides: PncfConfigOverrides[]): PncfConfig {
  const layer = PRESET_OVERRIDES[preset] as PncfConfigOverrides | undefined;
  if (!layer) throw new Error(`unknown PNCF preset "${preset}" (known: ${PRESET_NAMES.join(', ')})`);
  let config = mergePncfConfig(PNCF_DEFAULTS, layer);
  for (const o of overrides) config = mergePncfConfig(config, o);
  const source = `preset "${preset}"${overrides.length > 0 ? ' with overrides' : ''}`;
  return parsePncfConfig(config, source);
}

export const presets: Readonly<Record<PresetName, PncfConfig>> = {
  default: resolvePncfConfig('default'),
  reference: resolvePncfConfig('reference'),
  npncf: resolvePncfConfig('npncf'),
  paper: resolvePncfConfig('paper'),
  plus: resolvePncfConfig('plus'),
};
export const defaultPreset: PncfConfig = presets.default;
export const referencePreset: PncfConfig = presets.reference;
export const npncfPreset: PncfConfig = presets.npncf;
