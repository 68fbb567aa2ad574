import type { Random } from '@pncf/data';

/**
 * Walker alias table over n outcomes: O(n) to build, O(1) per draw. `prob[k]` is the chance of keeping k in
 * bucket k, `alias[k]` the outcome taken otherwise.
 */
export interface AliasTable {
  prob: Float32Array;
  alias: Uint32Array;
}

export function buildAlias(weights: ArrayLike<number>, offset = 0, length = weights.length - offset): AliasTable {
  const n = length;
  const prob = new Float32Array(n);
  const alias = new Uint32Array(n);
  if (n === 0) return { prob, alias };
  let total = 0;
  for (let k = 0; k < n; k++) total += weights[offset + k]!;
  const scaled = new Float64Array(n);
  const small = new Uint32Array(n);
  const large = new Uint32Array(n);
  let ns = 0;
  let nl = 0;
  for (let k = 0; k < n; k++) {
    scaled[k] = total > 0 ? (weights[offset + k]! * n) / total : 1;
    if (scaled[k]! < 1) small[ns++] = k;
    else large[nl++] = k;
  }
  while (ns > 0 && nl > 0) {
    const s = small[--ns]!;
    const l = large[--nl]!;
    prob[s] = scaled[s]!;
    alias[s] = l;
    scaled[l] = scaled[l]! + scaled[s]! - 1;
    if (scaled[l]! < 1) small[ns++] = l;
    else large[nl++] = l;
  }
  // Leftovers are 1 up to rounding error.
  while (nl > 0) {
    const l = large[--nl]!;
    prob[l] = 1;
    alias[l] = l;
  }
  while (ns > 0) {
    const s = small[--ns]!;
    prob[s] = 1;
    alias[s] = s;
  }
  return { prob, alias };
}

/** One draw in [0, n) from a table built with buildAlias. */
export function drawAlias(prob: Float32Array, alias: Uint32Array, offset: number, n: number, rng: Random): number {
  const u = rng.next() * n;
  const k = Math.floor(u);
  return u - k < prob[offset + k]! ? k : alias[offset + k]!;
}
