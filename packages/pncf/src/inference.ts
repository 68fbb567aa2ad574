import type { Csr } from '@pncf/data';
import * as tf from '@tensorflow/tfjs';
import { rankAll, rankCandidates, type VectorScorer } from './ranking.js';
import { foldBatchNorm, type TowerWeights } from './tower-weights.js';

/** A trained model: both embedding tables (rows = dense indices) and the tower. */
export interface PncfModel {
  /** Absent in models written before PNCF+ (all tower models). */
  kind?: 'tower';
  numUsers: number;
  numItems: number;
  userVectors: Float32Array;
  itemVectors: Float32Array;
  tower: TowerWeights;
}

/** A hidden layer after the first, batch norm folded in: a plain dense layer with ReLU. */
export interface FoldedLayer {
  inputs: number;
  outputs: number;
  kernel: Float32Array;
  bias: Float32Array;
}

/**
 * A model ready for inference, as plain typed arrays: what `prepareTower` computes once per model and what
 * `TowerInference` is built from. Structured-clonable, and transferable between threads without a copy
 * (`preparedTowerBuffers`): the scorer service prepares it off its event loop, `ParallelScorer` ships it to
 * its worker threads.
 *
 * Batch norm is folded into every layer. The first layer's input is concat(user, item), so its output is
 * user·W_user + item·W_item + b: the item half (`itemPart`) does not depend on the user and is precomputed for
 * every item here; per user only the small user half remains.
 */
export interface PreparedTower {
  numUsers: number;
  numItems: number;
  dim: number;
  /** Width of the first hidden layer. */
  width: number;
  /** The trained user vectors (numUsers × dim), for scoring users by index. */
  userVectors: Float32Array;
  /** The user half of the first layer's folded kernel (dim × width). */
  userKernel: Float32Array;
  /** The item half of the first layer's folded kernel applied to every item, plus the folded bias (numItems × width). */
  itemPart: Float32Array;
  /** The hidden layers after the first, folded. */
  deeper: FoldedLayer[];
  /** Output layer (last hidden width × 1) and its bias (1); a sigmoid follows. */
  outKernel: Float32Array;
  outBias: Float32Array;
}

/**
 * Item indices per row, CSR-style: row r's items are indices[indptr[r] .. indptr[r+1]). A `Csr` is one (e.g.
 * `train.byUser`, the items each user already has).
 */
export type ItemRows = Pick<Csr, 'indptr' | 'indices'>;

/** Best k items per row, best first. */
export interface TopK {
  k: number;
  /** rows × k item indices; rows with fewer eligible items end early, see `counts`. */
  items: Uint32Array;
  scores: Float32Array;
  counts: Uint32Array;
}

export interface InferenceOptions {
  /** Bounds memory: one tfjs pass holds at most this many (user, item) pairs × first-layer width floats. */
  maxPairsPerPass?: number;
}

/**
 * The one place that folds batch norm and precomputes the item half of the first layer. Pure typed-array
 * work (no tfjs), so it can run in any thread.
 */
export function prepareTower(model: PncfModel): PreparedTower {
  const { tower } = model;
  const first = tower.layers[0];
  if (!first) throw new Error('the tower needs at least one hidden layer');
  const d = tower.dim;
  const h = first.outputs;
  const folded = foldBatchNorm(first, tower.batchNorm);
  return {
    numUsers: model.numUsers,
    numItems: model.numItems,
    dim: d,
    width: h,
    userVectors: model.userVectors,
    userKernel: folded.kernel.slice(0, d * h),
    itemPart: matMulRows(model.itemVectors, model.numItems, d, folded.kernel.subarray(d * h), h, folded.bias),
    deeper: tower.layers.slice(1).map((layer) => {
      const f = foldBatchNorm(layer, tower.batchNorm);
      return { inputs: layer.inputs, outputs: layer.outputs, kernel: f.kernel, bias: f.bias };
    }),
    outKernel: tower.outKernel,
    outBias: tower.outBias,
  };
}

/** The buffers of a prepared tower, to transfer (not copy) it to another thread. */
export function preparedTowerBuffers(p: PreparedTower): ArrayBuffer[] {
  const arrays = [p.userVectors, p.userKernel, p.itemPart, p.outKernel, p.outBias];
  for (const layer of p.deeper) arrays.push(layer.kernel, layer.bias);
  return [...new Set(arrays.map((a) => a.buffer as ArrayBuffer))];
}

/**
 * Inference of a PNCF tower, in two modes with the same weights:
 *
 * - **full ranking** (`scoreUsers`, `scoreVectors`, `recommend` and `recommendVectors` without candidates):
 *   every item for a block of users in one batched tfjs pass — the user half of the first layer as one small
 *   matmul, broadcast-added to the precomputed item half, then the deeper layers as fused matmuls over all
 *   pairs. What the evaluation harness and the trainer's gate use.
 * - **candidate mode** (`scorePairs`, `recommendVectors` with candidates): explicit (user, item) pairs. The
 *   first layer is a gather of precomputed rows plus ReLU in typed arrays (tfjs' wasm gather is far slower
 *   than this loop), the deeper layers, where the FLOPs are, batched fused matmuls. What the scorer service
 *   uses on its few hundred candidates per user.
 *
 * Users are given either as trained users (model indices) or as a block of user vectors (rows × dim, e.g.
 * cold-start vectors). The top-K methods exclude each user's `seen` items, like implicit's
 * `recommend(userid, user_items, N, filter_already_liked_items, items=…)`, with the project's one `topK`.
 *
 * `dispose()` releases every tfjs tensor; the full-ranking tensors are only created on first use.
 */
export class TowerInference implements VectorScorer {
  readonly numUsers: number;
  readonly numItems: number;
  readonly dim: number;
  readonly width: number;
  /** The plain arrays this was built from (to ship to another thread). */
  readonly prepared: PreparedTower;
  private readonly maxPairsPerPass: number;
  private readonly deeper: { kernel: tf.Tensor2D; bias: tf.Tensor1D }[];
  private readonly outKernel: tf.Tensor2D;
  private readonly outBias: tf.Tensor1D;
  /** Full ranking only: the user half of the first layer and the item half of every item, as tensors. */
  private firstLayer: { userKernel: tf.Tensor2D; itemPart: tf.Tensor2D } | undefined;
  /** Zeroed scratch of numItems, left zeroed (seen items in candidate mode). */
  readonly marks: Uint8Array;

  constructor(prepared: PreparedTower, options: InferenceOptions = {}) {
    this.prepared = prepared;
    this.numUsers = prepared.numUsers;
    this.numItems = prepared.numItems;
    this.dim = prepared.dim;
    this.width = prepared.width;
    this.maxPairsPerPass = Math.max(1, options.maxPairsPerPass ?? 1 << 16);
    this.marks = new Uint8Array(prepared.numItems);
    this.deeper = prepared.deeper.map((layer) => ({
      kernel: tf.tensor2d(layer.kernel, [layer.inputs, layer.outputs]),
      bias: tf.tensor1d(layer.bias),
    }));
    this.outKernel = tf.tensor2d(prepared.outKernel, [prepared.outKernel.length, 1]);
    this.outBias = tf.tensor1d(prepared.outBias);
  }

  /** `new TowerInference(prepareTower(model), options)`. */
  static fromModel(model: PncfModel, options: InferenceOptions = {}): TowerInference {
    return new TowerInference(prepareTower(model), options);
  }

  /** The trained vectors of `users` (model indices), one row each: a block for the methods taking vectors. */
  userVectors(users: Uint32Array): Float32Array {
    const d = this.dim;
    const source = this.prepared.userVectors;
    const out = new Float32Array(users.length * d);
    for (let b = 0; b < users.length; b++) {
      const u = users[b]!;
      out.set(source.subarray(u * d, u * d + d), b * d);
    }
    return out;
  }

  /** Full ranking: sigmoid scores of every item for each user, row-major into out (users.length × numItems). */
  scoreUsers(users: Uint32Array, out: Float32Array): void {
    this.scoreVectors(this.userVectors(users), out);
  }

  /** Full ranking for a block of user vectors (rows × dim): scores row-major into out (rows × numItems). */
  scoreVectors(vectors: Float32Array, out: Float32Array): void {
    const d = this.dim;
    const m = this.numItems;
    const rows = vectors.length / d;
    const perPass = this.usersPerPass();
    const { userKernel, itemPart } = this.fullRankingLayer();
    for (let start = 0; start < rows; start += perPass) {
      const n = Math.min(perPass, rows - start);
      const block = vectors.subarray(start * d, (start + n) * d);
      const scores = tf.tidy(() => {
        const userPart = tf.matMul(tf.tensor2d(block, [n, d]), userKernel);
        const hidden = tf.relu(
          tf.reshape(tf.add(tf.expandDims(userPart, 1), tf.expandDims(itemPart, 0)), [n * m, this.width]),
        ) as tf.Tensor2D;
        return this.deeperLayers(hidden);
      });
      out.set(scores.dataSync() as Float32Array, start * m);
      scores.dispose();
    }
  }

  /**
   * Candidate mode: sigmoid scores of explicit pairs, pair p being (row pairRows[p] of `vectors`, item
   * pairItems[p]), into out (a new array when not given).
   */
  scorePairs(
    vectors: Float32Array,
    pairRows: Uint32Array,
    pairItems: Uint32Array,
    out = new Float32Array(pairItems.length),
  ): Float32Array {
    const h = this.width;
    const userPart = matMulRows(vectors, vectors.length / this.dim, this.dim, this.prepared.userKernel, h);
    const itemPart = this.prepared.itemPart;
    const pairs = pairItems.length;
    const perPass = Math.min(pairs, this.maxPairsPerPass);
    const hidden = new Float32Array(perPass * h);
    for (let start = 0; start < pairs; start += perPass) {
      const n = Math.min(perPass, pairs - start);
      for (let p = 0; p < n; p++) {
        const item = pairItems[start + p]! * h;
        const user = pairRows[start + p]! * h;
        const at = p * h;
        for (let o = 0; o < h; o++) {
          const x = itemPart[item + o]! + userPart[user + o]!;
          hidden[at + o] = Math.max(x, 0);
        }
      }
      const scores = tf.tidy(() => this.deeperLayers(tf.tensor2d(hidden.subarray(0, n * h), [n, h])));
      out.set(scores.dataSync() as Float32Array, start);
      scores.dispose();
    }
    return out;
  }

  /** Best k items for each of `users` (model indices), full ranking, without the user's row of `seen`. */
  recommend(users: Uint32Array, k: number, seen?: ItemRows): TopK {
    return rankAll(this, this.userVectors(users), k, seen, (row) => users[row]!);
  }

  /**
   * Best k items for each row of a block of user vectors, without the row's `seen` items: among the row's
   * `candidates` when given (candidate mode), else among every item (full ranking).
   */
  recommendVectors(vectors: Float32Array, k: number, options: { seen?: ItemRows; candidates?: ItemRows } = {}): TopK {
    const { seen, candidates } = options;
    return candidates
      ? rankCandidates(this, vectors, k, candidates, seen)
      : rankAll(this, vectors, k, seen, (row) => row);
  }

  dispose(): void {
    for (const layer of this.deeper) {
      layer.kernel.dispose();
      layer.bias.dispose();
    }
    this.outKernel.dispose();
    this.outBias.dispose();
    this.firstLayer?.userKernel.dispose();
    this.firstLayer?.itemPart.dispose();
    this.firstLayer = undefined;
  }

  /** Users per full-ranking pass: every item per user, at most maxPairsPerPass pairs (at least one user). */
  usersPerPass(): number {
    return Math.max(1, Math.floor(this.maxPairsPerPass / Math.max(1, this.numItems)));
  }

  private fullRankingLayer(): { userKernel: tf.Tensor2D; itemPart: tf.Tensor2D } {
    const p = this.prepared;
    this.firstLayer ??= {
      userKernel: tf.tensor2d(p.userKernel, [p.dim, p.width]),
      itemPart: tf.tensor2d(p.itemPart, [p.numItems, p.width]),
    };
    return this.firstLayer;
  }

  /** The hidden layers after the first and the sigmoid output, on the first layer's activations (pairs × width). */
  private deeperLayers(hidden: tf.Tensor2D): tf.Tensor2D {
    let h = hidden;
    for (const layer of this.deeper)
      h = tf.fused.matMul({ a: h, b: layer.kernel, bias: layer.bias, activation: 'relu' }) as tf.Tensor2D;
    return tf.sigmoid(tf.fused.matMul({ a: h, b: this.outKernel, bias: this.outBias })) as tf.Tensor2D;
  }
}

/** rows × inner times inner × outputs (row-major), plus an optional bias per output, in typed arrays. */
export function matMulRows(
  a: Float32Array,
  rows: number,
  inner: number,
  b: Float32Array,
  outputs: number,
  bias?: Float32Array,
): Float32Array {
  const out = new Float32Array(rows * outputs);
  for (let r = 0; r < rows; r++) {
    const at = r * outputs;
    if (bias) out.set(bias, at);
    for (let k = 0; k < inner; k++) {
      const x = a[r * inner + k]!;
      if (x === 0) continue;
      const from = k * outputs;
      for (let o = 0; o < outputs; o++) out[at + o]! += x * b[from + o]!;
    }
  }
  return out;
}
