import type { Interactions } from '@pncf/data';
import type { Recommender } from '../model.js';
import { cooccurrence } from './gram.js';

export interface ItemKnnOptions {
  /** Neighbours kept per item (the most similar); 0 keeps all. */
  neighbours?: number;
  /** Added to the cosine denominator, damping similarities built on few co-occurrences. */
  shrink?: number;
}

/**
 * Item-based KNN with cosine similarity on binary interactions: sim(i, j) = |U_i ∩ U_j| / (√|U_i|·√|U_j| + shrink),
 * each item keeping its `neighbours` most similar items; score(u, j) = Σ_{i ∈ train(u)} sim(i, j).
 */
export class ItemKnn implements Recommender {
  readonly name = 'ItemKNN';
  private readonly neighbours: number;
  private readonly shrink: number;
  private similarity: Float32Array = new Float32Array(0); // dense items × items, row i = neighbours of i
  private train: Interactions | undefined;

  constructor(options: ItemKnnOptions = {}) {
    this.neighbours = options.neighbours ?? 100;
    this.shrink = options.shrink ?? 0;
  }

  async fit(train: Interactions): Promise<void> {
    const n = train.byItem.rows;
    const sim = cooccurrence(train, Float32Array) as Float32Array;
    const norm = new Float64Array(n);
    for (let i = 0; i < n; i++) norm[i] = Math.sqrt(train.byItem.indptr[i + 1]! - train.byItem.indptr[i]!);
    for (let i = 0; i < n; i++) {
      const row = i * n;
      sim[row + i] = 0; // an item is not its own neighbour
      for (let j = 0; j < n; j++) {
        const v = sim[row + j]!;
        if (v !== 0) sim[row + j] = v / (norm[i]! * norm[j]! + this.shrink);
      }
    }
    if (this.neighbours > 0 && this.neighbours < n) keepTopPerRow(sim, n, this.neighbours);
    this.similarity = sim;
    this.train = train;
  }

  scoreUsers(users: Uint32Array, out: Float32Array): void {
    const train = this.train;
    if (!train) throw new Error('ItemKNN: fit before scoring');
    sparseRowsTimesDense(train, users, this.similarity, out);
  }
}

/** Zero all but the `keep` largest entries of each row (ties at the threshold are all kept). */
function keepTopPerRow(matrix: Float32Array, n: number, keep: number): void {
  const scratch = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const row = matrix.subarray(i * n, (i + 1) * n);
    scratch.set(row);
    scratch.sort();
    const threshold = scratch[n - keep]!;
    if (threshold <= 0) continue;
    for (let j = 0; j < n; j++) if (row[j]! < threshold) row[j] = 0;
  }
}

/**
 * out[b, :] = Σ_{i ∈ train(users[b])} W[i, :] — the binary user row times a dense item × item matrix.
 * Sparse rows make this O(|train(u)| · items) per user instead of items².
 */
export function sparseRowsTimesDense(
  train: Interactions,
  users: Uint32Array,
  weights: Float32Array,
  out: Float32Array,
): void {
  const n = train.byUser.cols;
  const { indptr, indices } = train.byUser;
  out.fill(0, 0, users.length * n);
  for (let b = 0; b < users.length; b++) {
    const u = users[b]!;
    const o = b * n;
    for (let p = indptr[u]!; p < indptr[u + 1]!; p++) {
      const w = indices[p]! * n;
      for (let j = 0; j < n; j++) out[o + j]! += weights[w + j]!;
    }
  }
}
