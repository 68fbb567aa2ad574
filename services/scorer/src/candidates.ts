import { topK } from '@pncf/data';

/**
 * Candidate generation for one user, so the tower runs on a few hundred items instead of all of them: the
 * `nearest` items of highest affinity (see ServingModel: the user's vector against each item's centroid of its
 * users' vectors), then the `popular` most popular items not already chosen. Items in `seen` are never
 * candidates. `affinity[offset .. offset+numItems)` is scratch and gets overwritten; `marks` is a zeroed
 * scratch array of numItems and is left zeroed. Writes into outItems from outOffset (capacity nearest +
 * popular; outScratch is the same size) and returns how many candidates were written.
 */
export function selectCandidates(
  affinity: Float32Array,
  offset: number,
  numItems: number,
  seen: ArrayLike<number>,
  popularOrder: Uint32Array,
  nearest: number,
  popular: number,
  marks: Uint8Array,
  outItems: Uint32Array,
  outScratch: Float32Array,
  outOffset: number,
): number {
  for (let p = 0; p < seen.length; p++) {
    const item = seen[p]!;
    affinity[offset + item] = Number.NEGATIVE_INFINITY;
    marks[item] = 1;
  }
  let count = nearest > 0 ? topK(affinity, offset, numItems, nearest, outItems, outScratch, outOffset) : 0;
  for (let c = 0; c < count; c++) marks[outItems[outOffset + c]!] = 1;
  let added = 0;
  for (let p = 0; p < popularOrder.length && added < popular; p++) {
    const item = popularOrder[p]!;
    if (marks[item] === 1) continue;
    outItems[outOffset + count++] = item;
    added++;
  }
  for (let p = 0; p < seen.length; p++) marks[seen[p]!] = 0;
  for (let c = 0; c < count; c++) marks[outItems[outOffset + c]!] = 0;
  return count;
}

/** Item indices by descending weight (ties: lower index first), at most `limit` of them, zero weights left out. */
export function popularityOrder(weights: Float64Array, limit: number): Uint32Array {
  const order: number[] = [];
  for (let i = 0; i < weights.length; i++) if (weights[i]! > 0) order.push(i);
  order.sort((a, b) => weights[b]! - weights[a]! || a - b);
  return Uint32Array.from(order.slice(0, limit));
}
