/**
 * Indices of the k largest entries of scores[offset .. offset+n), best first, skipping entries equal to
 * -Infinity (how callers mark excluded items). A size-k min-heap: O(n log k), no sort of the whole row.
 * Writes into outItems/outScores at outOffset and returns how many were found (< k when few are eligible).
 */
export function topKRow(
  scores: Float32Array,
  offset: number,
  n: number,
  k: number,
  outItems: Uint32Array,
  outScores: Float32Array,
  outOffset: number,
): number {
  const heapItems = outItems.subarray(outOffset, outOffset + k);
  const heapScores = outScores.subarray(outOffset, outOffset + k);
  let size = 0;
  for (let j = 0; j < n; j++) {
    const s = scores[offset + j]!;
    if (s === Number.NEGATIVE_INFINITY) continue;
    if (size < k) {
      // sift up
      let c = size++;
      while (c > 0) {
        const p = (c - 1) >> 1;
        if (heapScores[p]! <= s) break;
        heapScores[c] = heapScores[p]!;
        heapItems[c] = heapItems[p]!;
        c = p;
      }
      heapScores[c] = s;
      heapItems[c] = j;
    } else if (s > heapScores[0]!) {
      siftDown(heapScores, heapItems, size, s, j);
    }
  }
  // Heap-sort in place: repeatedly move the minimum to the end, giving descending order.
  for (let end = size - 1; end > 0; end--) {
    const s = heapScores[end]!;
    const item = heapItems[end]!;
    heapScores[end] = heapScores[0]!;
    heapItems[end] = heapItems[0]!;
    siftDown(heapScores, heapItems, end, s, item);
  }
  return size;
}

function siftDown(scores: Float32Array, items: Uint32Array, size: number, s: number, item: number): void {
  let c = 0;
  for (;;) {
    const l = 2 * c + 1;
    if (l >= size) break;
    const r = l + 1;
    const m = r < size && scores[r]! < scores[l]! ? r : l;
    if (scores[m]! >= s) break;
    scores[c] = scores[m]!;
    items[c] = items[m]!;
    c = m;
  }
  scores[c] = s;
  items[c] = item;
}
