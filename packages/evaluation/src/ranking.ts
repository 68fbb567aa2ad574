/**
 * Partial sort: the `k` best items of one score row, best first, written into `outItems`; returns how many
 * were written (fewer than k when fewer items are eligible). Items whose score is -Infinity or NaN are never
 * returned, which is how the harness excludes train items. Ties go to the lower item index, so rankings are
 * deterministic. O(n log k) with a binary min-heap kept in caller-provided typed arrays (no allocation).
 */
export function topK(
  scores: Float32Array,
  offset: number,
  n: number,
  k: number,
  outItems: Uint32Array,
  heapScores: Float32Array,
): number {
  let size = 0;
  // Heap root = the worst of the current best k.
  const worse = (a: number, b: number): boolean => {
    const sa = heapScores[a]!;
    const sb = heapScores[b]!;
    return sa < sb || (sa === sb && outItems[a]! > outItems[b]!);
  };
  const swap = (a: number, b: number): void => {
    const s = heapScores[a]!;
    heapScores[a] = heapScores[b]!;
    heapScores[b] = s;
    const i = outItems[a]!;
    outItems[a] = outItems[b]!;
    outItems[b] = i;
  };
  const siftDown = (start: number, end: number): void => {
    let p = start;
    for (;;) {
      const l = 2 * p + 1;
      if (l >= end) return;
      const r = l + 1;
      const c = r < end && worse(r, l) ? r : l;
      if (!worse(c, p)) return;
      swap(c, p);
      p = c;
    }
  };
  for (let item = 0; item < n; item++) {
    const s = scores[offset + item]!;
    if (!(s > Number.NEGATIVE_INFINITY)) continue; // -Infinity (excluded) and NaN
    if (size < k) {
      let c = size++;
      heapScores[c] = s;
      outItems[c] = item;
      while (c > 0) {
        const p = (c - 1) >> 1;
        if (!worse(c, p)) break;
        swap(c, p);
        c = p;
      }
    } else if (s > heapScores[0]!) {
      // Equal scores never displace: the heap already holds the lower index.
      heapScores[0] = s;
      outItems[0] = item;
      siftDown(0, size);
    }
  }
  // Heap sort in place: repeatedly move the worst to the end → best first.
  for (let end = size - 1; end > 0; end--) {
    swap(0, end);
    siftDown(0, end);
  }
  return size;
}
