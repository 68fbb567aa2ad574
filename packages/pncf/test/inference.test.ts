import { Random } from '@pncf/data';
import { tfRuntime } from '@pncf/evaluation';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { type PncfModel, preparedTowerBuffers, prepareTower, TowerInference } from '../src/inference.js';
import { initTower } from '../src/tower-weights.js';

beforeAll(async () => {
  await tfRuntime(() => {});
});

const dim = 6;
const USERS = 13;
const ITEMS = 40;

/** A random model whose batch norm is far from identity (so folding matters). */
function randomModel(hidden: number[], batchNorm: boolean, seed: number): PncfModel {
  const rng = new Random(seed);
  const table = (rows: number) => Float32Array.from({ length: rows * dim }, () => rng.next() * 2 - 1);
  const tower = initTower(dim, hidden, batchNorm, seed, 0.5);
  for (const l of tower.layers) {
    l.runningMean = l.runningMean.map(() => rng.next() - 0.5);
    l.runningVariance = l.runningVariance.map(() => 0.5 + rng.next());
    l.gamma = l.gamma.map(() => 0.5 + rng.next());
    l.beta = l.beta.map(() => rng.next() - 0.5);
  }
  return { numUsers: USERS, numItems: ITEMS, userVectors: table(USERS), itemVectors: table(ITEMS), tower };
}

/** Every (row, item) pair of a block of `rows` users, row-major. */
function allPairs(rows: number): { pairRows: Uint32Array; pairItems: Uint32Array } {
  return {
    pairRows: Uint32Array.from({ length: rows * ITEMS }, (_, p) => Math.floor(p / ITEMS)),
    pairItems: Uint32Array.from({ length: rows * ITEMS }, (_, p) => p % ITEMS),
  };
}

const users = Uint32Array.of(12, 0, 5, 5, 7, 3, 1);

describe('TowerInference', () => {
  it('full ranking and candidate mode give the same score for the same pair', () => {
    for (const [hidden, batchNorm] of [
      [[16, 8], true],
      [[12], true],
      [[10, 6, 4], false],
    ] as const) {
      const model = randomModel([...hidden], batchNorm, 3);
      // Small passes: several blocks in full ranking, several passes in candidate mode.
      const inference = TowerInference.fromModel(model, { maxPairsPerPass: 100 });
      const full = new Float32Array(users.length * ITEMS);
      inference.scoreUsers(users, full);
      const { pairRows, pairItems } = allPairs(users.length);
      const pairs = inference.scorePairs(inference.userVectors(users), pairRows, pairItems);
      for (let p = 0; p < full.length; p++) expect(Math.abs(pairs[p]! - full[p]!)).toBeLessThan(1e-6);
      // Arbitrary vectors (e.g. cold start) too.
      const vectors = Float32Array.from({ length: 3 * dim }, (_, j) => Math.sin(j));
      const fullVectors = new Float32Array(3 * ITEMS);
      inference.scoreVectors(vectors, fullVectors);
      const candidate = inference.scorePairs(vectors, allPairs(3).pairRows, allPairs(3).pairItems);
      for (let p = 0; p < fullVectors.length; p++) expect(Math.abs(candidate[p]! - fullVectors[p]!)).toBeLessThan(1e-6);
      inference.dispose();
    }
  });

  it('recommends the same Top-K with full ranking and with every item as candidate, seen items excluded', () => {
    const inference = TowerInference.fromModel(randomModel([16, 8], true, 4));
    // Seen items by user index (as train.byUser) for recommend; per block row for recommendVectors.
    const byUser = { indptr: new Uint32Array(USERS + 1), indices: new Uint32Array(0) };
    const seenOf = (u: number) => [u % ITEMS, (u * 7 + 3) % ITEMS];
    const flat: number[] = [];
    for (let u = 0; u < USERS; u++) {
      flat.push(...seenOf(u).sort((a, b) => a - b));
      byUser.indptr[u + 1] = flat.length;
    }
    byUser.indices = Uint32Array.from(flat);
    const perRow = {
      indptr: Uint32Array.from({ length: users.length + 1 }, (_, r) => 2 * r),
      indices: Uint32Array.from([...users].flatMap((u) => seenOf(u))),
    };
    const every = {
      indptr: Uint32Array.from({ length: users.length + 1 }, (_, r) => r * ITEMS),
      indices: allPairs(users.length).pairItems,
    };
    const k = 8;
    const full = inference.recommend(users, k, byUser);
    const fromVectors = inference.recommendVectors(inference.userVectors(users), k, { seen: perRow });
    const candidates = inference.recommendVectors(inference.userVectors(users), k, { seen: perRow, candidates: every });
    expect(fromVectors).toEqual(full);
    expect(candidates.items).toEqual(full.items);
    expect([...candidates.counts]).toEqual(new Array(users.length).fill(k));
    for (let j = 0; j < full.scores.length; j++) expect(candidates.scores[j]).toBeCloseTo(full.scores[j]!, 6);
    users.forEach((u, r) => {
      const ranked = [...full.items.subarray(r * k, (r + 1) * k)];
      for (const item of seenOf(u)) expect(ranked).not.toContain(item);
    });
    inference.dispose();
  });

  it('candidate mode ranks only the given items, best first, and returns fewer when fewer are eligible', () => {
    const inference = TowerInference.fromModel(randomModel([16, 8], true, 5));
    const vectors = inference.userVectors(Uint32Array.of(2, 9));
    const candidates = { indptr: Uint32Array.of(0, 4, 6), indices: Uint32Array.of(30, 1, 17, 8, 5, 6) };
    const top = inference.recommendVectors(vectors, 3, {
      candidates,
      seen: { indptr: Uint32Array.of(0, 1, 2), indices: Uint32Array.of(17, 6) },
    });
    expect([...top.counts]).toEqual([3, 1]);
    const scores = inference.scorePairs(vectors, Uint32Array.of(0, 0, 0, 1), Uint32Array.of(30, 1, 8, 5));
    const expected = [30, 1, 8].sort((a, b) => scores[[30, 1, 8].indexOf(b)]! - scores[[30, 1, 8].indexOf(a)]!);
    expect([...top.items.subarray(0, 3)]).toEqual(expected);
    expect(top.items[3]).toBe(5);
    expect(top.scores[3]).toBe(scores[3]);
    inference.dispose();
  });

  it('is built from plain arrays that survive a transfer to another thread', () => {
    const model = randomModel([16, 8], true, 6);
    const here = TowerInference.fromModel(model);
    const expected = new Float32Array(users.length * ITEMS);
    here.scoreUsers(users, expected);
    here.dispose();
    const prepared = prepareTower(model);
    // What postMessage does with the transfer list: the buffers move, the originals are detached.
    const moved = structuredClone(prepared, { transfer: preparedTowerBuffers(prepared) });
    expect(prepared.itemPart.length).toBe(0);
    const there = new TowerInference(moved);
    const out = new Float32Array(users.length * ITEMS);
    there.scoreUsers(users, out);
    expect(out).toEqual(expected);
    there.dispose();
  });

  it('dispose releases every tensor, and calls leave none behind', () => {
    const before = tf.memory().numTensors;
    const inference = TowerInference.fromModel(randomModel([16, 8, 4], true, 7), { maxPairsPerPass: 64 });
    const vectors = inference.userVectors(users);
    inference.recommend(users, 5);
    const during = tf.memory().numTensors;
    inference.scoreUsers(users, new Float32Array(users.length * ITEMS));
    const candidates = { indptr: Uint32Array.of(0, 3), indices: Uint32Array.of(1, 2, 3) };
    inference.recommendVectors(vectors.subarray(0, dim), 5, { candidates });
    inference.scorePairs(vectors, Uint32Array.of(0, 6), Uint32Array.of(39, 0));
    expect(tf.memory().numTensors).toBe(during);
    inference.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});
