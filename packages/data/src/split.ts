import { partitionByMask } from './csr-ops.js';
import type { Interactions } from './interactions.js';
import { deriveSeed, Random } from './random.js';

export interface Split {
  train: Interactions;
  test: Interactions;
}

/**
 * Per-user random split, as the reference code (pandas `sample(frac=0.2)` per user): each user puts
 * round(fraction · n_u) of their n_u distinct items in the test part, chosen uniformly with a seeded RNG.
 * Same data + same seed → same split. Users and items keep their dense indices in both parts.
 */
export function splitPerUser(data: Interactions, fraction: number, seed: number): Split {
  if (!(fraction >= 0 && fraction < 1)) throw new RangeError(`split fraction must be in [0, 1), got ${fraction}`);
  const { byUser } = data;
  const rng = new Random(seed);
  const mask = new Uint8Array(byUser.indices.length);
  let scratch = new Uint32Array(64);
  for (let u = 0; u < byUser.rows; u++) {
    const start = byUser.indptr[u]!;
    const n = byUser.indptr[u + 1]! - start;
    const take = Math.round(fraction * n);
    if (take === 0) continue;
    if (scratch.length < n) scratch = new Uint32Array(n * 2);
    for (let j = 0; j < n; j++) scratch[j] = j;
    // Partial Fisher–Yates: the first `take` slots are a uniform sample without replacement.
    for (let j = 0; j < take; j++) {
      const r = j + rng.int(n - j);
      const tmp = scratch[j]!;
      scratch[j] = scratch[r]!;
      scratch[r] = tmp;
      mask[start + scratch[j]!] = 1;
    }
  }
  const { rest, selected } = partitionByMask(data, mask);
  return { train: rest, test: selected };
}

export interface ProtocolSplit extends Split {
  /** Train minus validation: what models that early-stop or tune are fitted on. */
  fit: Interactions;
  /** Carved from train (per user, `validationFraction`), never from test. */
  validation: Interactions;
}

/** The full protocol split for one seed: train/test, then a validation part carved from train. */
export function protocolSplit(
  data: Interactions,
  seed: number,
  testFraction = 0.2,
  validationFraction = 0.1,
): ProtocolSplit {
  const { train, test } = splitPerUser(data, testFraction, deriveSeed(seed, 1));
  return { train, test, ...carveValidation(train, seed, validationFraction) };
}

/**
 * The validation part of the protocol, carved per user from a train part (for early stopping and tuning):
 * `fit` is the rest. The same seed stream whoever carves it, so the trainer's splits match the harness's.
 */
export function carveValidation(
  train: Interactions,
  seed: number,
  validationFraction = 0.1,
): { fit: Interactions; validation: Interactions } {
  const inner = splitPerUser(train, validationFraction, deriveSeed(seed, 2));
  return { fit: inner.train, validation: inner.test };
}
