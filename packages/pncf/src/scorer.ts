import { type Csr, topK } from '@pncf/data';
import * as tf from '@tensorflow/tfjs';
import { foldBatchNorm, type TowerWeights } from './tower-weights.js';

/** Everything needed to score: both embedding tables (rows = dense indices) and the tower. */
export interface PncfModel {
  numUsers: number;
  numItems: number;
  userVectors: Float32Array;
  itemVectors: Float32Array;
  tower: TowerWeights;
}

export interface TopK {
  k: number;
  /** users.length × k, best first; rows with fewer eligible items end early, see `counts`. */
  items: Uint32Array;
  scores: Float32Array;
  counts: Uint32Array;
}

/**
 * Scores all items for blocks of users in one batched pass. The item half of the first layer (item vectors
 * times their kernel rows, plus bias, with batch norm folded in) does not depend on the user, so it is
 * computed once here; a block then costs one small matmul per user plus the deeper layers over all pairs.
 */
export class Scorer {
  readonly numUsers: number;
  readonly numItems: number;
  private readonly dim: number;
  private readonly userVectors: Float32Array;
  private readonly userKernel: tf.Tensor2D;
  private readonly itemPart: tf.Tensor2D;
  private readonly deeper: { kernel: tf.Tensor2D; bias: tf.Tensor1D }[];
  private readonly outKernel: tf.Tensor2D;
  private readonly outBias: tf.Tensor1D;
  private readonly blockUsers: number;

  /** `maxPairsPerPass` bounds memory: a block holds pairs × first-layer width floats. */
  constructor(model: PncfModel, maxPairsPerPass = 1 << 16) {
    const { tower } = model;
    const first = tower.layers[0];
    if (!first) throw new Error('the tower needs at least one hidden layer');
    this.numUsers = model.numUsers;
    this.numItems = model.numItems;
    this.dim = tower.dim;
    this.userVectors = model.userVectors;
    this.blockUsers = Math.max(1, Math.floor(maxPairsPerPass / Math.max(1, model.numItems)));
    const d = tower.dim;
    const folded = foldBatchNorm(first, tower.batchNorm);
    const h = first.outputs;
    this.userKernel = tf.tensor2d(folded.kernel.subarray(0, d * h), [d, h]);
    this.itemPart = tf.tidy(() =>
      tf.add(
        tf.matMul(
          tf.tensor2d(model.itemVectors, [model.numItems, d]),
          tf.tensor2d(folded.kernel.subarray(d * h), [d, h]),
        ),
        tf.tensor1d(folded.bias),
      ),
    ) as tf.Tensor2D;
    this.deeper = tower.layers.slice(1).map((l) => {
      const f = foldBatchNorm(l, tower.batchNorm);
      return { kernel: tf.tensor2d(f.kernel, [l.inputs, l.outputs]), bias: tf.tensor1d(f.bias) };
    });
    this.outKernel = tf.tensor2d(tower.outKernel, [tower.layers.at(-1)!.outputs, 1]);
    this.outBias = tf.tensor1d(tower.outBias);
  }

  /** Sigmoid scores of every item for each user, row-major into out (users.length × numItems). */
  scoreUsers(users: Uint32Array, out: Float32Array): void {
    const d = this.dim;
    const block = new Float32Array(Math.min(users.length, this.blockUsers) * d);
    for (let start = 0; start < users.length; start += this.blockUsers) {
      const n = Math.min(this.blockUsers, users.length - start);
      const vectors = block.subarray(0, n * d);
      for (let b = 0; b < n; b++) {
        const u = users[start + b]!;
        vectors.set(this.userVectors.subarray(u * d, u * d + d), b * d);
      }
      const scores = tf.tidy(() => {
        const userPart = tf.matMul(tf.tensor2d(vectors, [n, d]), this.userKernel);
        const width = this.itemPart.shape[1];
        let h = tf.relu(
          tf.reshape(tf.add(tf.expandDims(userPart, 1), tf.expandDims(this.itemPart, 0)), [n * this.numItems, width]),
        ) as tf.Tensor2D;
        for (const l of this.deeper)
          h = tf.fused.matMul({ a: h, b: l.kernel, bias: l.bias, activation: 'relu' }) as tf.Tensor2D;
        return tf.sigmoid(tf.fused.matMul({ a: h, b: this.outKernel, bias: this.outBias }));
      });
      out.set(scores.dataSync() as Float32Array, start * this.numItems);
      scores.dispose();
    }
  }

  /** Best k items per user, excluding the user's row in `seen` (e.g. the train items) when given. */
  topK(users: Uint32Array, k: number, seen?: Csr): TopK {
    const m = this.numItems;
    const result: TopK = {
      k,
      items: new Uint32Array(users.length * k),
      scores: new Float32Array(users.length * k),
      counts: new Uint32Array(users.length),
    };
    const block = Math.min(users.length, this.blockUsers);
    const scores = new Float32Array(block * m);
    for (let start = 0; start < users.length; start += block) {
      const part = users.subarray(start, Math.min(users.length, start + block));
      this.scoreUsers(part, scores);
      for (let b = 0; b < part.length; b++) {
        const u = part[b]!;
        if (seen && u < seen.rows) {
          for (let p = seen.indptr[u]!; p < seen.indptr[u + 1]!; p++)
            scores[b * m + seen.indices[p]!] = Number.NEGATIVE_INFINITY;
        }
        result.counts[start + b] = topK(scores, b * m, m, k, result.items, result.scores, (start + b) * k);
      }
    }
    return result;
  }

  dispose(): void {
    this.userKernel.dispose();
    this.itemPart.dispose();
    for (const l of this.deeper) {
      l.kernel.dispose();
      l.bias.dispose();
    }
    this.outKernel.dispose();
    this.outBias.dispose();
  }
}
