import type { Interactions } from '@pncf/data';

/**
 * Dense item × item co-occurrence G = XᵀX of the binary user × item matrix X (G[i,j] = users having both),
 * accumulated from each user's item list: O(Σ_u n_u²), no dense X.
 */
export function cooccurrence(
  data: Interactions,
  Kind: Float32ArrayConstructor | Float64ArrayConstructor,
): Float32Array | Float64Array {
  const n = data.byUser.cols;
  const g = new Kind(n * n);
  const { indptr, indices } = data.byUser;
  for (let u = 0; u < data.byUser.rows; u++) {
    const start = indptr[u]!;
    const end = indptr[u + 1]!;
    for (let p = start; p < end; p++) {
      const row = indices[p]! * n;
      for (let q = start; q < end; q++) g[row + indices[q]!]! += 1;
    }
  }
  return g;
}
