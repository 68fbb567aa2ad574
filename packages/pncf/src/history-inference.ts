import * as tf from '@tensorflow/tfjs';
import { type HistoryModel, type HistoryRows, historyUserVectors } from './history-model.js';
import type { InferenceOptions, ItemRows, TopK } from './inference.js';
import { rankAll, rankCandidates, type VectorScorer } from './ranking.js';

/**
 * Inference of PNCF+'s history model, with the same two modes and the same ranking functions as the tower's
 * (ranking.ts): full ranking is one matmul of the block's user vectors with every item's output vector (tfjs),
 * candidate mode a dot product per pair (typed arrays). User vectors come from `userVectors`: each user's own
 * trained vector (if any) plus their history, so a user with items but no trained vector is served without a
 * separate cold-start rule.
 */
export class HistoryInference implements VectorScorer {
  readonly numUsers: number;
  readonly numItems: number;
  readonly dim: number;
  readonly marks: Uint8Array;
  private readonly maxPairsPerPass: number;
  private readonly scratch: Float32Array;
  /** Full ranking only, created on first use: itemOutputᵀ (dim × items) and the bias. */
  private tensors: { outputT: tf.Tensor2D; bias: tf.Tensor1D } | undefined;

  constructor(
    readonly model: HistoryModel,
    options: InferenceOptions = {},
  ) {
    this.numUsers = model.numUsers;
    this.numItems = model.numItems;
    this.dim = model.dim;
    this.marks = new Uint8Array(model.numItems);
    this.scratch = new Float32Array(model.dim);
    this.maxPairsPerPass = Math.max(1, options.maxPairsPerPass ?? 1 << 20);
  }

  /**
   * The vectors of a block of users (rows × dim): row b from users[b] (a model user index, or NO_USER for a user
   * without a trained vector) and history row b.
   */
  userVectors(users: Int32Array | Uint32Array, history: HistoryRows): Float32Array {
    const out = new Float32Array(users.length * this.dim);
    historyUserVectors(this.model, users, history, out, this.scratch);
    return out;
  }

  scoreVectors(vectors: Float32Array, out: Float32Array): void {
    const d = this.dim;
    const m = this.numItems;
    const rows = vectors.length / d;
    const perPass = this.usersPerPass();
    this.tensors ??= {
      outputT: tf.tidy(() => tf.transpose(tf.tensor2d(this.model.itemOutput, [m, d]))),
      bias: tf.tensor1d(this.model.itemBias),
    };
    const { outputT, bias } = this.tensors;
    for (let start = 0; start < rows; start += perPass) {
      const n = Math.min(perPass, rows - start);
      const scores = tf.tidy(() =>
        tf.add(tf.matMul(tf.tensor2d(vectors.subarray(start * d, (start + n) * d), [n, d]), outputT), bias),
      );
      out.set(scores.dataSync() as Float32Array, start * m);
      scores.dispose();
    }
  }

  scorePairs(vectors: Float32Array, pairRows: Uint32Array, pairItems: Uint32Array): Float32Array {
    const d = this.dim;
    const { itemOutput, itemBias } = this.model;
    const out = new Float32Array(pairItems.length);
    for (let p = 0; p < pairItems.length; p++) {
      const item = pairItems[p]!;
      const v = pairRows[p]! * d;
      const w = item * d;
      let s = itemBias[item]!;
      for (let k = 0; k < d; k++) s += vectors[v + k]! * itemOutput[w + k]!;
      out[p] = s;
    }
    return out;
  }

  usersPerPass(): number {
    return Math.max(1, Math.floor(this.maxPairsPerPass / Math.max(1, this.numItems)));
  }

  /**
   * Best k items for each row of a block of user vectors, without the row's `seen` items: among the row's
   * `candidates` when given, else among every item.
   */
  recommendVectors(vectors: Float32Array, k: number, options: { seen?: ItemRows; candidates?: ItemRows } = {}): TopK {
    const { seen, candidates } = options;
    return candidates ? rankCandidates(this, vectors, k, candidates, seen) : rankAll(this, vectors, k, seen, (r) => r);
  }

  dispose(): void {
    this.tensors?.outputT.dispose();
    this.tensors?.bias.dispose();
    this.tensors = undefined;
  }
}
