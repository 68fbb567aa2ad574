import { type Csr, Random, shuffleInPlace, sortedContains } from '@pncf/data';

/** One epoch of tower training data: parallel arrays of (user, item, label), already shuffled. */
export interface TrainingSamples {
  users: Uint32Array;
  items: Uint32Array;
  labels: Float32Array;
}

/**
 * 'user': each negative is drawn for the positive's own user, uniformly among items that user has not
 * interacted with (daisyRec's sampler). 'random': a uniformly random (user, item) pair with no check, as the
 * reference code does (about 7% of them are false negatives on ML-100K).
 */
export type NegativeSampling = 'user' | 'random';

/** Every train pair as a positive plus `negatives` negatives per positive, shuffled. */
export function sampleEpoch(byUser: Csr, negatives: number, mode: NegativeSampling, seed: number): TrainingSamples {
  const rng = new Random(seed);
  const positives = byUser.indices.length;
  const n = positives * (1 + negatives);
  const users = new Uint32Array(n);
  const items = new Uint32Array(n);
  const labels = new Float32Array(n);
  const nItems = byUser.cols;
  let at = 0;
  for (let u = 0; u < byUser.rows; u++) {
    const start = byUser.indptr[u]!;
    const end = byUser.indptr[u + 1]!;
    const full = end - start >= nItems;
    for (let k = start; k < end; k++) {
      users[at] = u;
      items[at] = byUser.indices[k]!;
      labels[at++] = 1;
      for (let j = 0; j < negatives; j++) {
        if (mode === 'random') {
          users[at] = rng.int(byUser.rows);
          items[at++] = rng.int(nItems);
          continue;
        }
        let item = rng.int(nItems);
        // Rejection sampling: cheap because users see a small fraction of the catalogue.
        for (let tries = 0; !full && tries < 64 && sortedContains(byUser.indices, start, end, item); tries++) {
          item = rng.int(nItems);
        }
        users[at] = u;
        items[at++] = item;
      }
    }
  }
  // Shuffle via a permutation so the three arrays stay aligned.
  const order = new Uint32Array(n);
  for (let k = 0; k < n; k++) order[k] = k;
  shuffleInPlace(order, rng);
  const out: TrainingSamples = { users: new Uint32Array(n), items: new Uint32Array(n), labels: new Float32Array(n) };
  for (let k = 0; k < n; k++) {
    const p = order[k]!;
    out.users[k] = users[p]!;
    out.items[k] = items[p]!;
    out.labels[k] = labels[p]!;
  }
  return out;
}
