import type { Interactions } from '@pncf/data';
import type { Recommender } from '../model.js';
import { cooccurrence } from './gram.js';

export interface ItemKnnOptions {
  /** Neighbours kept per item (the most similar); 0 keeps all. */
  neighbours?: number;
  /**
   * Added to the cosine denominator, damping similarities built on few co-occurrences (on the sparse author-tag
   * set, rare items otherwise look perfectly similar to whatever they co-occurred with once).
   */
  shrink?: number;
  /**
   * Whose neighbour list is cut to `neighbours`: 'source' — each of the user's items votes only for its own
   * most similar items (implicit's ItemItemRecommender); 'target' — each candidate item is scored from its own
   * most similar items only (Sarwar et al. 2001, RecBole's ItemKNN), so a candidate is never scored from
   * items that are far down its list. Identical when all neighbours are kept.
   */
  prune?: 'source' | 'target';
}

/**
 * Item-based KNN with cosine similarity on binary interactions: sim(i, j) = |U_i ∩ U_j| / (√|U_i|·√|U_j| + shrink),
 * pruned to the `neighbours` most similar items per source or per target item (`prune`);
 * score(u, j) = Σ_{i ∈ train(u)} W[i, j], W the pruned similarity.
 */
export class ItemKnn implements Recommender {
  readonly name = 'ItemKNN';
  private readonly neighbours: number;
  private readonly shrink: number;
  private readonly prune: 'source' | 'target';
  private similarity: Float32Array = new Float32Array(0); // dense items × items, W[i, j] = weight of i's vote for j
  private train: Interactions | undefined;

  constructor(options: ItemKnnOptions = {}) {
    this.neighbours = options.neighbours ?? 100;
    this.shrink = options.shrink ?? 0;
    this.prune = options.prune ?? 'source';
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
    // The similarity is symmetric, so row i is both what i votes for and what j = i is scored from: pruning rows
    // cuts the source lists; pruning rows and then transposing cuts the target lists (W[·, j] = j's neighbours).
    if (this.neighbours > 0 && this.neighbours < n) {
      keepTopPerRow(sim, n, this.neighbours);
      if (this.prune === 'target') transposeInPlace(sim, n);
    }
    this.similarity = sim;
    this.train = train;
  }

  scoreUsers(users: Uint32Array, out: Float32Array): void {
    const train = this.train;
    if (!train) throw new Error('ItemKNN: fit before scoring');
    sparseRowsTimesDense(train, users, this.similarity, out);
  }
}

function transposeInPlace(m: Float32Array, n: number): void {
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const t = m[i * n + j]!;
      m[i * n + j] = m[j * n + i]!;
      m[j * n + i] = t;
    }
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
