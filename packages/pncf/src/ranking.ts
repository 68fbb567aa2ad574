import { topK } from '@pncf/data';
import type { ItemRows, TopK } from './inference.js';

/**
 * What ranks items for a block of user vectors: the tower (TowerInference) or PNCF+'s history model
 * (HistoryInference). The top-K functions below are the one ranking path both share.
 */
export interface VectorScorer {
  readonly dim: number;
  readonly numItems: number;
  /** Full ranking: scores of every item for each row of `vectors` (rows × dim), row-major into `out`. */
  scoreVectors(vectors: Float32Array, out: Float32Array): void;
  /** Candidate mode: the score of each pair (row pairRows[p] of `vectors`, item pairItems[p]). */
  scorePairs(vectors: Float32Array, pairRows: Uint32Array, pairItems: Uint32Array): Float32Array;
  /** Rows scored per full-ranking pass (bounds memory). */
  usersPerPass(): number;
  /** Zeroed scratch of numItems, left zeroed. */
  readonly marks: Uint8Array;
}

export function emptyTopK(rows: number, k: number): TopK {
  return { k, items: new Uint32Array(rows * k), scores: new Float32Array(rows * k), counts: new Uint32Array(rows) };
}

/** Full ranking then top-K per row, without `seen` items; `seenRow` maps a block row to its row of `seen`. */
export function rankAll(
  scorer: VectorScorer,
  vectors: Float32Array,
  k: number,
  seen: ItemRows | undefined,
  seenRow: (row: number) => number,
): TopK {
  const d = scorer.dim;
  const m = scorer.numItems;
  const rows = vectors.length / d;
  const top = emptyTopK(rows, k);
  const block = Math.min(rows, scorer.usersPerPass());
  const scores = new Float32Array(block * m);
  for (let start = 0; start < rows; start += block) {
    const n = Math.min(block, rows - start);
    scorer.scoreVectors(vectors.subarray(start * d, (start + n) * d), scores);
    for (let b = 0; b < n; b++) {
      const u = seenRow(start + b);
      if (seen && u + 1 < seen.indptr.length) {
        for (let p = seen.indptr[u]!; p < seen.indptr[u + 1]!; p++)
          scores[b * m + seen.indices[p]!] = Number.NEGATIVE_INFINITY;
      }
      top.counts[start + b] = topK(scores, b * m, m, k, top.items, top.scores, (start + b) * k);
    }
  }
  return top;
}

/** Candidate mode then top-K per row, without `seen` items; ties go to the earlier candidate. */
export function rankCandidates(
  scorer: VectorScorer,
  vectors: Float32Array,
  k: number,
  candidates: ItemRows,
  seen: ItemRows | undefined,
): TopK {
  const rows = vectors.length / scorer.dim;
  const pairs = candidatePairs(scorer.marks, rows, candidates, seen);
  const scores = scorer.scorePairs(vectors, pairs.rows, pairs.items);
  const top = emptyTopK(rows, k);
  for (let r = 0; r < rows; r++) {
    const start = pairs.indptr[r]!;
    const found = topK(scores, start, pairs.indptr[r + 1]! - start, k, top.items, top.scores, r * k);
    for (let j = 0; j < found; j++) top.items[r * k + j] = pairs.items[start + top.items[r * k + j]!]!;
    top.counts[r] = found;
  }
  return top;
}

/** The (row, item) pairs of each row's candidates that are not in its seen items, row by row. */
function candidatePairs(
  marks: Uint8Array,
  rows: number,
  candidates: ItemRows,
  seen: ItemRows | undefined,
): { indptr: Uint32Array; rows: Uint32Array; items: Uint32Array } {
  const total = candidates.indptr[rows]! - candidates.indptr[0]!;
  const indptr = new Uint32Array(rows + 1);
  const pairRows = new Uint32Array(total);
  const pairItems = new Uint32Array(total);
  let at = 0;
  for (let r = 0; r < rows; r++) {
    const s0 = seen ? seen.indptr[r]! : 0;
    const s1 = seen ? seen.indptr[r + 1]! : 0;
    for (let p = s0; p < s1; p++) marks[seen!.indices[p]!] = 1;
    for (let p = candidates.indptr[r]!; p < candidates.indptr[r + 1]!; p++) {
      const item = candidates.indices[p]!;
      if (marks[item] === 1) continue;
      pairRows[at] = r;
      pairItems[at++] = item;
    }
    for (let p = s0; p < s1; p++) marks[seen!.indices[p]!] = 0;
    indptr[r + 1] = at;
  }
  return { indptr, rows: pairRows.subarray(0, at), items: pairItems.subarray(0, at) };
}
