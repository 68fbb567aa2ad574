import { type Interactions, Random, shuffleInPlace, sortedContains } from '@pncf/data';
import { MetricAccumulator } from '@pncf/evaluation';
import { abortPoint } from './abort-point.js';
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
  /**
   * Recall@validationK on the validation split (early stopping only): the harness's standard Recall@K, hits in
   * the top K / |the user's validation items|, averaged over the sampled validation users (`validationRecall`).
   */
  validationRecall?: number;
}

export interface TowerResult {
  model: PncfModel;
  history: EpochRecord[];
  bestEpoch: number;
  /** Training samples (forward + backward) per second over all epochs, validation excluded. */
  samplesPerSecond: number;
}

/**
 * Recall@k of a model on the validation items of a sample of users, each user's train items excluded: the
 * harness's standard Recall@K (hits in the top k / |the user's validation items|, averaged over users), computed
 * by the harness's own metric code (`MetricAccumulator`, as `evaluateModel` and the trainer's gate use) on a
 * ranking made with the one `topK` (`TowerInference.recommend`, full ranking). Early stopping chooses on this.
 */
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
    const metrics = new MetricAccumulator([k]);
    const hits = new Uint8Array(k);
    for (let b = 0; b < users.length; b++) {
      const u = users[b]!;
      const start = held.indptr[u]!;
      const end = held.indptr[u + 1]!;
      if (end === start) continue;
      const length = top.counts[b]!;
      for (let r = 0; r < length; r++)
        hits[r] = sortedContains(held.indices, start, end, top.items[b * k + r]!) ? 1 : 0;
      metrics.add(hits, length, end - start);
    }
    return metrics.means().recall[0]!;
  } finally {
    inference.dispose();
  }
}

function validationSample(validation: Interactions, max: number, rng: Random): Uint32Array {
  const candidates: number[] = [];
  const held = validation.byUser;
  for (let u = 0; u < held.rows; u++) if (held.indptr[u + 1]! > held.indptr[u]!) candidates.push(u);
  const users = Uint32Array.from(candidates);
  shuffleInPlace(users, rng);
  return users.subarray(0, Math.min(max, users.length)).sort();
}

/**
 * Fine-tune the tower (and optionally the embeddings) on the train split: every epoch draws fresh negatives and
 * runs shuffled mini-batches. With early stopping (`patience` > 0) and a validation split, the validation recall
 * is measured after every epoch, training stops after `patience` epochs without a better one, and the best
 * epoch's tower is returned. Without early stopping (`patience` 0) the validation split is not looked at (the
 * caller may have trained on it): every epoch runs and the last epoch's tower is returned. An aborted `signal`
 * rejects with its reason within about one batch.
 */
export async function trainTower(
  train: Interactions,
  init: { tower: TowerWeights; userVectors: Float32Array; itemVectors: Float32Array },
  options: TowerOptions,
  seed: number,
  validation?: Interactions,
  onEpoch?: (record: EpochRecord) => void,
  signal?: AbortSignal,
): Promise<TowerResult> {
  const stopPoint = abortPoint(signal);
  const rng = new Random(seed);
  const trainer = new TowerTrainer(init.tower, init.userVectors, init.itemVectors, options, rng.nextU32());
  const numUsers = train.byUser.rows;
  const numItems = train.byUser.cols;
  // Only early stopping looks at the validation split: choosing an epoch on it is choosing on data the caller
  // may have trained on when it does not early-stop (as the harness's models without usesValidation do).
  const earlyStopping = options.patience > 0 && validation !== undefined;
  const valUsers = earlyStopping ? validationSample(validation, options.validationUsers, rng.fork(1)) : undefined;
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
        await stopPoint();
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
      if (earlyStopping && valUsers && valUsers.length > 0) {
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
