import { type Interactions, type Random, sortedContains } from '@pncf/data';

export interface PointwiseSamples {
  users: Int32Array;
  items: Int32Array;
  labels: Float32Array;
}

/**
 * daisyRec-style pointwise training set: every train pair (u, i) with label 1 plus `negatives` pairs (u, j)
 * with label 0, j uniform over the items the user has no train interaction with (user-conditioned and
 * filtered, unlike the PNCF reference's random (user, item) pairs). Returned in a seeded random order.
 * Users who have interacted with every item get no negatives.
 */
export function pointwiseSamples(train: Interactions, negatives: number, rng: Random): PointwiseSamples {
  const { indptr, indices, rows, cols } = train.byUser;
  const nnz = indices.length;
  const total = nnz * (1 + negatives);
  const users = new Int32Array(total);
  const items = new Int32Array(total);
  const labels = new Float32Array(total);
  let at = 0;
  for (let u = 0; u < rows; u++) {
    const start = indptr[u]!;
    const end = indptr[u + 1]!;
    const full = end - start >= cols;
    for (let p = start; p < end; p++) {
      users[at] = u;
      items[at] = indices[p]!;
      labels[at++] = 1;
      if (full) continue;
      for (let s = 0; s < negatives; s++) {
        let j: number;
        do j = rng.int(cols);
        while (sortedContains(indices, start, end, j));
        users[at] = u;
        items[at] = j;
        labels[at++] = 0;
      }
    }
  }
  // Shuffle the filled prefix so mini-batches mix users.
  for (let k = at - 1; k > 0; k--) {
    const r = rng.int(k + 1);
    const tu = users[k]!;
    users[k] = users[r]!;
    users[r] = tu;
    const ti = items[k]!;
    items[k] = items[r]!;
    items[r] = ti;
    const tl = labels[k]!;
    labels[k] = labels[r]!;
    labels[r] = tl;
  }
  return { users: users.subarray(0, at), items: items.subarray(0, at), labels: labels.subarray(0, at) };
}
