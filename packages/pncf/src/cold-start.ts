import type { Csr } from '@pncf/data';

/**
 * Cold start for users the model has no vector for. User and item vectors live in different spaces (two
 * word2vec models), so a new user cannot be the mean of their items' vectors. Instead each item gets the
 * centroid of the vectors of its known users (count^0.75 weighted, as the bags are), and a new user is the
 * weighted mean of the centroids of their items: the users who share their items, in user space.
 */
export function itemUserCentroids(
  userVectors: Float32Array,
  dim: number,
  /** Index into userVectors for each user of byItem's column space, or -1 when the model does not know it. */
  modelUser: Int32Array,
  byItem: Csr,
): Float32Array {
  const centroids = new Float32Array(byItem.rows * dim);
  for (let i = 0; i < byItem.rows; i++) {
    let weight = 0;
    const at = i * dim;
    for (let p = byItem.indptr[i]!; p < byItem.indptr[i + 1]!; p++) {
      const m = modelUser[byItem.indices[p]!]!;
      if (m < 0) continue;
      const w = byItem.counts[p]! ** 0.75;
      weight += w;
      const from = m * dim;
      for (let d = 0; d < dim; d++) centroids[at + d]! += w * userVectors[from + d]!;
    }
    if (weight > 0) for (let d = 0; d < dim; d++) centroids[at + d]! /= weight;
  }
  return centroids;
}

/**
 * Write the cold-start vector of a user with the given items (indices into the centroid table) and counts
 * into out[offset..offset+dim). Returns false, leaving zeros, when none of the items has a centroid.
 */
export function coldStartUserVector(
  centroids: Float32Array,
  dim: number,
  items: ArrayLike<number>,
  counts: ArrayLike<number>,
  out: Float32Array,
  offset: number,
): boolean {
  out.fill(0, offset, offset + dim);
  let weight = 0;
  for (let p = 0; p < items.length; p++) {
    const at = items[p]! * dim;
    let empty = true;
    for (let d = 0; d < dim && empty; d++) if (centroids[at + d] !== 0) empty = false;
    if (empty) continue;
    const w = counts[p]! ** 0.75;
    weight += w;
    for (let d = 0; d < dim; d++) out[offset + d]! += w * centroids[at + d]!;
  }
  if (weight === 0) return false;
  for (let d = 0; d < dim; d++) out[offset + d]! /= weight;
  return true;
}
