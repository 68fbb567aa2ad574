/** Helpers over ascending typed-array ranges (CSR rows are sorted by column index). */

/** First position p in [start, end) with values[p] >= value (end when none): binary search. */
export function lowerBound(values: ArrayLike<number>, start: number, end: number, value: number): number {
  let lo = start;
  let hi = end;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (values[mid]! < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Whether ascending `values[start, end)` contains `value`. */
export function sortedContains(values: ArrayLike<number>, start: number, end: number, value: number): boolean {
  const at = lowerBound(values, start, end, value);
  return at < end && values[at] === value;
}

/** First position p in [start, end) with values[p] > value (end when none): binary search. */
export function upperBound(values: ArrayLike<number>, start: number, end: number, value: number): number {
  let lo = start;
  let hi = end;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (values[mid]! <= value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
