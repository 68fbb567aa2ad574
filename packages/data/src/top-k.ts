/**
 * The project's one top-K: the k best entries of scores[offset .. offset+n), best first, as indices relative
 * to `offset` in outItems[outOffset ..] with their scores in outScores[outOffset ..]. Returns how many were
 * written (fewer than k when fewer are eligible). Entries that are -Infinity (how callers exclude items) or
 * NaN are never returned. Ties go to the lower index, so rankings are deterministic whatever the block size.
 * O(n log k) with a binary min-heap kept in the output arrays (no allocation).
 */
export function topK(
  scores: Float32Array,
  offset: number,
  n: number,
  k: number,
  outItems: Uint32Array,
  outScores: Float32Array,
  outOffset = 0,
): number {
  if (k <= 0) return 0;
  const items = outOffset === 0 && outItems.length === k ? outItems : outItems.subarray(outOffset, outOffset + k);
  const heap = outOffset === 0 && outScores.length === k ? outScores : outScores.subarray(outOffset, outOffset + k);
  let size = 0;
  for (let j = 0; j < n; j++) {
    const s = scores[offset + j]!;
    if (!(s > Number.NEGATIVE_INFINITY)) continue; // -Infinity (excluded) and NaN
    if (size < k) {
      // Sift up: the root is the worst of the best so far (lowest score, then highest index).
      let c = size++;
      while (c > 0) {
        const p = (c - 1) >> 1;
        const ps = heap[p]!;
        if (worse(s, j, ps, items[p]!)) {
          heap[c] = ps;
          items[c] = items[p]!;
          c = p;
        } else break;
      }
      heap[c] = s;
      items[c] = j;
    } else if (s > heap[0]!) {
      // Equal scores never displace: the heap already holds the lower index.
      siftDown(heap, items, size, s, j);
    }
  }
  // Heap sort in place: repeatedly move the worst to the end → best first.
  for (let end = size - 1; end > 0; end--) {
    const s = heap[end]!;
    const item = items[end]!;
    heap[end] = heap[0]!;
    items[end] = items[0]!;
    siftDown(heap, items, end, s, item);
  }
  return size;
}

/** Whether (sa, ia) ranks below (sb, ib). */
const worse = (sa: number, ia: number, sb: number, ib: number): boolean => sa < sb || (sa === sb && ia > ib);

/** Put (s, item) at the root and sift it down within heap[0, size). */
function siftDown(heap: Float32Array, items: Uint32Array, size: number, s: number, item: number): void {
  let c = 0;
  for (;;) {
    const l = 2 * c + 1;
    if (l >= size) break;
    const r = l + 1;
    const m = r < size && worse(heap[r]!, items[r]!, heap[l]!, items[l]!) ? r : l;
    if (!worse(heap[m]!, items[m]!, s, item)) break;
    heap[c] = heap[m]!;
    items[c] = items[m]!;
    c = m;
  }
  heap[c] = s;
  items[c] = item;
}
