import { type Interactions, Random, shuffleInPlace } from '@pncf/data';
import * as tf from '@tensorflow/tfjs';
import { abortPoint } from './abort-point.js';
import type { HistoryModel } from './history-model.js';

export interface HistoryOptions {
  /** Each epoch, each history item is left out of the user's input with this probability. */
  historyDrop: number;
  /** What the softmax is trained to predict: every train item of the user, or only the ones left out. */
  targets: 'all' | 'dropped';
  /** Dropout on the user's pooled history and own vector, and on the user vector. */
  dropout: number;
  learningRate: number;
  /** Decoupled weight decay (AdamW), per unit of learning rate. */
  weightDecay: number;
  /** Users per step. */
  batchSize: number;
  epochs: number;
  /** false keeps the pre-trained tables fixed and trains only the kernels, the output side and the bias. */
  fineTuneEmbeddings: boolean;
  /**
   * What represents a user: their pooled history and their own pre-trained vector ('both', PNCF+), or one of
   * the two alone (ablations: the unused kernel is held at zero).
   */
  userSide: 'both' | 'history' | 'own';
  /** Items weigh count^countExponent in the pooled history and in the softmax targets (0: binary). */
  countExponent: number;
  /** The pool divides by (Σ weights)^poolNormExponent: 1 a mean, 0.5 as FISM / Mult-VAE's L2-normalised input. */
  poolNormExponent: number;
}

export interface HistoryEpochRecord {
  epoch: number;
  loss: number;
  seconds: number;
  /** Set when the caller measures something after the epoch (e.g. validation in tuning). */
  validation?: number;
}

export interface HistoryInit {
  /** numUsers × dim pre-trained user vectors. */
  userVectors: Float32Array;
  /** numItems × dim pre-trained item (input) vectors. */
  itemInput: Float32Array;
  /** numItems × dim pre-trained item context vectors. */
  itemOutput: Float32Array;
  dim: number;
}

/** Identity (dim × dim) */
function identity(dim: number): Float32Array {
  const out = new Float32Array(dim * dim);
  for (let k = 0; k < dim; k++) out[k * dim + k] = 1;
  return out;
}

/** Fresh kernels and bias over pre-trained tables: the model training starts from. */
export function initHistoryModel(init: HistoryInit, numUsers: number, numItems: number): HistoryModel {
  const d = init.dim;
  return {
    kind: 'history',
    numUsers,
    numItems,
    dim: d,
    itemInput: init.itemInput.slice(),
    historyKernel: identity(d),
    userVectors: init.userVectors.slice(),
    userKernel: new Float32Array(d * d),
    itemOutput: init.itemOutput.slice(),
    itemBias: new Float32Array(numItems),
  };
}

/** A batch's kept history items as a sparse users × items matrix (COO): the input of the mean pool. */
interface BatchInput {
  items: Int32Array;
  rows: Int32Array;
  /** 1/|kept| of the row: a mean pool as one weighted segment sum. */
  weights: Float32Array;
  length: number;
}

/**
 * A batch: each user's kept history items (sparse, `input`, weighted for a mean pool) and a dense users × items
 * target matrix (dense because a full softmax needs users × items logits anyway). Items are weighted by
 * count^countExponent (formula 1's weights at 0.75, binary at 0) in the pool and in the targets. Returns the total
 * target weight.
 */
function buildBatch(
  train: Interactions,
  users: Uint32Array,
  options: HistoryOptions,
  rng: Random,
  input: BatchInput,
  target: Float32Array,
): number {
  const n = train.byUser.cols;
  const { indptr, indices, counts } = train.byUser;
  const exponent = options.countExponent;
  target.fill(0, 0, users.length * n);
  input.length = 0;
  let targets = 0;
  for (let b = 0; b < users.length; b++) {
    const u = users[b]!;
    const start = indptr[u]!;
    const end = indptr[u + 1]!;
    const row = b * n;
    const first = input.length;
    let dropped = 0;
    let keptWeight = 0;
    for (let p = start; p < end; p++) {
      const weight = exponent === 0 ? 1 : counts[p]! ** exponent;
      if (rng.next() < options.historyDrop) {
        target[row + indices[p]!] = weight;
        dropped += weight;
      } else {
        input.items[input.length] = indices[p]!;
        input.weights[input.length] = weight;
        input.rows[input.length++] = b;
        keptWeight += weight;
      }
    }
    const norm = keptWeight ** options.poolNormExponent;
    for (let p = first; p < input.length; p++) input.weights[p]! /= norm;
    // A user left with nothing to predict (targets 'dropped', nothing dropped) predicts all their items instead.
    const all = options.targets === 'all' || dropped === 0;
    if (all) for (let p = first; p < input.length; p++) target[row + input.items[p]!] = input.weights[p]! * norm;
    targets += all ? dropped + keptWeight : dropped;
  }
  return targets;
}

/**
 * Trains PNCF+'s history model from pre-trained tables with a full softmax over all items: each step, a batch of
 * users with part of their history left out; the loss is the negative log-likelihood of each target item under
 * softmax(user · itemOutputᵀ + bias), averaged over target pairs; AdamW. `onEpoch` may return the model's
 * quality on held-out data (tuning); nothing here looks at any data but `train`. An aborted `signal` rejects with
 * its reason within about one batch.
 */
export async function trainHistoryModel(
  train: Interactions,
  start: HistoryModel,
  options: HistoryOptions,
  seed: number,
  onEpoch?: (record: HistoryEpochRecord, model: () => HistoryModel) => void,
  signal?: AbortSignal,
): Promise<{ model: HistoryModel; history: HistoryEpochRecord[]; usersPerSecond: number }> {
  const stopPoint = abortPoint(signal);
  const rng = new Random(seed);
  const { numUsers, numItems, dim } = start;
  const trainable = options.fineTuneEmbeddings;
  // The initial tensors are released by tidy; the variables (their own copies) are kept.
  const variable = (values: Float32Array, shape: [number, number] | [number], train = true) =>
    tf.tidy(() => tf.variable(tf.tensor(values, shape), train));
  const useHistory = options.userSide !== 'own';
  const useOwn = options.userSide !== 'history';
  const zero = new Float32Array(dim * dim);
  const vars = {
    itemInput: variable(start.itemInput, [numItems, dim], trainable && useHistory),
    historyKernel: variable(useHistory ? start.historyKernel : zero, [dim, dim], useHistory),
    userVectors: variable(start.userVectors, [numUsers, dim], trainable && useOwn),
    userKernel: variable(useOwn ? start.userKernel : zero, [dim, dim], useOwn),
    itemOutput: variable(start.itemOutput, [numItems, dim]),
    itemBias: variable(start.itemBias, [numItems]),
  };
  const varList = Object.values(vars).filter((v) => v.trainable);
  const optimizer = tf.train.adam(options.learningRate);
  const decay = 1 - options.learningRate * options.weightDecay;
  const order = new Uint32Array(numUsers);
  for (let u = 0; u < numUsers; u++) order[u] = u;
  const batch = options.batchSize;
  let maxHistory = 0;
  for (let u = 0; u < numUsers; u++)
    maxHistory = Math.max(maxHistory, train.byUser.indptr[u + 1]! - train.byUser.indptr[u]!);
  const capacity = batch * maxHistory;
  const input: BatchInput = {
    items: new Int32Array(capacity),
    rows: new Int32Array(capacity),
    weights: new Float32Array(capacity),
    length: 0,
  };
  const target = new Float32Array(batch * numItems);
  const history: HistoryEpochRecord[] = [];
  let seconds = 0;
  const snapshot = (): HistoryModel => ({
    kind: 'history',
    poolCountExponent: options.countExponent,
    poolNormExponent: options.poolNormExponent,
    numUsers,
    numItems,
    dim,
    itemInput: vars.itemInput.dataSync() as Float32Array,
    historyKernel: vars.historyKernel.dataSync() as Float32Array,
    userVectors: vars.userVectors.dataSync() as Float32Array,
    userKernel: vars.userKernel.dataSync() as Float32Array,
    itemOutput: vars.itemOutput.dataSync() as Float32Array,
    itemBias: vars.itemBias.dataSync() as Float32Array,
  });
  try {
    for (let epoch = 0; epoch < options.epochs; epoch++) {
      const started = performance.now();
      shuffleInPlace(order, rng);
      let lossSum = 0;
      let targetSum = 0;
      for (let at = 0; at < numUsers; at += batch) {
        await stopPoint();
        const users = order.subarray(at, Math.min(numUsers, at + batch));
        const rows = users.length;
        const targets = buildBatch(train, users, options, rng, input, target);
        if (targets === 0) continue;
        const dropSeed = rng.nextU32();
        const loss = tf.tidy(() => {
          const nnz = input.length;
          const historyItems = tf.tensor1d(input.items.subarray(0, nnz), 'int32');
          const historyRows = tf.tensor1d(input.rows.subarray(0, nnz), 'int32');
          const historyWeights = tf.tensor2d(input.weights.subarray(0, nnz), [nnz, 1]);
          const y = tf.tensor2d(target.subarray(0, rows * numItems), [rows, numItems]);
          const ids = tf.tensor1d(Int32Array.from(users), 'int32');
          const cost = optimizer.minimize(
            () => {
              const drop = (t: tf.Tensor2D, s: number): tf.Tensor2D =>
                options.dropout > 0 ? (tf.dropout(t, options.dropout, undefined, dropSeed + s) as tf.Tensor2D) : t;
              const members = tf.gather(vars.itemInput, historyItems).mul(historyWeights);
              const mean = tf.unsortedSegmentSum(members, historyRows, rows) as tf.Tensor2D;
              const pooled = drop(mean, 1).matMul(vars.historyKernel);
              const own = drop(tf.gather(vars.userVectors, ids) as tf.Tensor2D, 2).matMul(vars.userKernel);
              const user = drop(pooled.add(own) as tf.Tensor2D, 3);
              const logits = user.matMul(vars.itemOutput, false, true).add(vars.itemBias);
              return tf.logSoftmax(logits).mul(y).sum().neg().div(targets) as tf.Scalar;
            },
            true,
            varList,
          );
          // Decoupled weight decay (AdamW): shrink the weights apart from the gradient step.
          for (const v of varList) v.assign(v.mul(decay));
          return cost!.dataSync()[0]!;
        });
        lossSum += loss * targets;
        targetSum += targets;
      }
      const epochSeconds = (performance.now() - started) / 1000;
      seconds += epochSeconds;
      const record: HistoryEpochRecord = { epoch, loss: lossSum / Math.max(1, targetSum), seconds: epochSeconds };
      onEpoch?.(record, snapshot);
      history.push(record);
      if (!Number.isFinite(record.loss)) break;
    }
    return {
      model: snapshot(),
      history,
      usersPerSecond: (numUsers * history.length) / Math.max(seconds, 1e-9),
    };
  } finally {
    for (const v of Object.values(vars)) v.dispose();
    optimizer.dispose();
  }
}
