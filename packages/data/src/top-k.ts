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
  // The heap lives in the output window itself, at outOffset (no views, no allocation).
  const o = outOffset;
  let size = 0;
  for (let j = 0; j < n; j++) {
    const s = scores[offset + j]!;
    if (!(s > Number.NEGATIVE_INFINITY)) continue; // -Infinity (excluded) and NaN
    if (size < k) {
      // Sift up: the root is the worst of the best so far (lowest score, then highest index).
      let c = size++;
      while (c > 0) {
        const p = (c - 1) >> 1;
        const ps = outScores[o + p]!;
        if (!worse(s, j, ps, outItems[o + p]!)) break;
        outScores[o + c] = ps;
        outItems[o + c] = outItems[o + p]!;
        c = p;
      }
      outScores[o + c] = s;
      outItems[o + c] = j;
    } else if (s > outScores[o]!) {
      // Equal scores never displace: the heap already holds the lower index.
      siftDown(outScores, outItems, o, size, s, j);
    }
  }
  // Heap sort in place: repeatedly move the worst to the end → best first.
  for (let end = size - 1; end > 0; end--) {
    const s = outScores[o + end]!;
    const item = outItems[o + end]!;
    outScores[o + end] = outScores[o]!;
    outItems[o + end] = outItems[o]!;
    siftDown(outScores, outItems, o, end, s, item);
  }
  return size;
}

/** Whether (sa, ia) ranks below (sb, ib). */
const worse = (sa: number, ia: number, sb: number, ib: number): boolean => sa < sb || (sa === sb && ia > ib);

/** Put (s, item) at the root of the heap at heap[o .. o+size) and sift it down. */
function siftDown(heap: Float32Array, items: Uint32Array, o: number, size: number, s: number, item: number): void {
  let c = 0;
  for (;;) {
    const l = 2 * c + 1;
    if (l >= size) break;
    const r = l + 1;
    const m = r < size && worse(heap[o + r]!, items[o + r]!, heap[o + l]!, items[o + l]!) ? r : l;
    if (!worse(heap[o + m]!, items[o + m]!, s, item)) break;
    heap[o + c] = heap[o + m]!;
    items[o + c] = items[o + m]!;
    c = m;
  }
  heap[o + c] = s;
  items[o + c] = item;
}
