import { type Interactions, Random } from '@pncf/data';
import { type PncfModel, TowerInference } from './inference.js';
import { type NegativeSampling, sampleEpoch } from './negatives.js';
import { TowerTrainer } from './tower-trainer.js';
import type { TowerWeights } from './tower-weights.js';

export interface TowerOptions {
  hidden: number[];
  batchNorm: boolean;
  dropout: number;
  loss: 'mse' | 'bce';
  learningRate: number;
  batchSize: number;
  /** Maximum epochs; early stopping may end sooner. */
  epochs: number;
  /** Negatives per positive, resampled every epoch. */
  negatives: number;
  negativeSampling: NegativeSampling;
  fineTuneEmbeddings: boolean;
  /** Stop after this many epochs without a better validation recall (0: no early stopping). */
  patience: number;
  /** Validation recall is measured on at most this many users (bounds the cost per epoch). */
  validationUsers: number;
  validationK: number;
}

export interface EpochRecord {
  epoch: number;
  loss: number;
  samples: number;
  seconds: number;
  /** Recall@validationK on the validation split, hits / min(K, |validation items|). */
  validationRecall?: number;
}

export interface TowerResult {
  model: PncfModel;
  history: EpochRecord[];
  bestEpoch: number;
  /** Training samples (forward + backward) per second over all epochs, validation excluded. */
  samplesPerSecond: number;
}

/** Recall@k of a model on held-out items of a sample of users, train items excluded. */
export function validationRecall(
  model: PncfModel,
  train: Interactions,
  validation: Interactions,
  k: number,
  users: Uint32Array,
): number {
  const inference = TowerInference.fromModel(model);
  try {
    const top = inference.recommend(users, k, train.byUser);
    const held = validation.byUser;
    let sum = 0;
    for (let b = 0; b < users.length; b++) {
      const u = users[b]!;
      const start = held.indptr[u]!;
      const end = held.indptr[u + 1]!;
      let hits = 0;
      for (let r = 0; r < top.counts[b]!; r++) {
        const item = top.items[b * k + r]!;
        // Rows are sorted: binary search the held-out row.
        let lo = start;
        let hi = end;
        while (lo < hi) {
          const mid = (lo + hi) >>> 1;
          if (held.indices[mid]! < item) lo = mid + 1;
          else hi = mid;
        }
        if (lo < end && held.indices[lo] === item) hits++;
      }
      sum += hits / Math.min(k, end - start);
    }
    return users.length > 0 ? sum / users.length : 0;
  } finally {
    inference.dispose();
  }
}

function validationSample(validation: Interactions, max: number, rng: Random): Uint32Array {
  const candidates: number[] = [];
  const held = validation.byUser;
  for (let u = 0; u < held.rows; u++) if (held.indptr[u + 1]! > held.indptr[u]!) candidates.push(u);
  const users = Uint32Array.from(candidates);
  for (let i = users.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const t = users[i]!;
    users[i] = users[j]!;
    users[j] = t;
  }
  return users.subarray(0, Math.min(max, users.length)).sort();
}

/**
 * Fine-tune the tower (and optionally the embeddings) on the train split: every epoch draws fresh negatives,
 * runs shuffled mini-batches, and if a validation split is given keeps the epoch with the best recall.
 */
export function trainTower(
  train: Interactions,
  init: { tower: TowerWeights; userVectors: Float32Array; itemVectors: Float32Array },
  options: TowerOptions,
  seed: number,
  validation?: Interactions,
  onEpoch?: (record: EpochRecord) => void,
): TowerResult {
  const rng = new Random(seed);
  const trainer = new TowerTrainer(init.tower, init.userVectors, init.itemVectors, options, rng.nextU32());
  const numUsers = train.byUser.rows;
  const numItems = train.byUser.cols;
  const valUsers = validation ? validationSample(validation, options.validationUsers, rng.fork(1)) : undefined;
  const history: EpochRecord[] = [];
  let best: PncfModel | undefined;
  let bestRecall = Number.NEGATIVE_INFINITY;
  let bestEpoch = -1;
  let trainSeconds = 0;
  let trainSamples = 0;
  try {
    for (let epoch = 0; epoch < options.epochs; epoch++) {
      const started = performance.now();
      const samples = sampleEpoch(train.byUser, options.negatives, options.negativeSampling, rng.nextU32());
      const n = samples.users.length;
      let lossSum = 0;
      for (let at = 0; at < n; at += options.batchSize) {
        const end = Math.min(n, at + options.batchSize);
        // Batch norm needs more than one sample; a trailing singleton is dropped.
        if (end - at < 2) break;
        const loss = trainer.step(
          samples.users.subarray(at, end),
          samples.items.subarray(at, end),
          samples.labels.subarray(at, end),
        );
        lossSum += loss * (end - at);
      }
      const seconds = (performance.now() - started) / 1000;
      trainSeconds += seconds;
      trainSamples += n;
      const record: EpochRecord = { epoch, loss: lossSum / n, samples: n, seconds };
      const snapshot = (): PncfModel => ({ numUsers, numItems, ...trainer.weights() });
      if (validation && valUsers && valUsers.length > 0) {
        const current = snapshot();
        record.validationRecall = validationRecall(current, train, validation, options.validationK, valUsers);
        if (record.validationRecall > bestRecall) {
          bestRecall = record.validationRecall;
          best = current;
          bestEpoch = epoch;
        }
      } else {
        bestEpoch = epoch;
      }
      history.push(record);
      onEpoch?.(record);
      if (options.patience > 0 && bestEpoch >= 0 && epoch - bestEpoch >= options.patience) break;
    }
    const model = best ?? { numUsers, numItems, ...trainer.weights() };
    return { model, history, bestEpoch, samplesPerSecond: trainSamples / Math.max(trainSeconds, 1e-9) };
  } finally {
    trainer.dispose();
  }
}
