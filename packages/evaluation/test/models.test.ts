import { type Interactions, Random, sortedContains, splitPerUser } from '@pncf/data';
import { describe, expect, it } from 'vitest';
import {
  Ease,
  evaluateModel,
  ItemKnn,
  invertSpdCholesky,
  invertSpdSweep,
  MostPop,
  NeuMf,
  parseInteractions,
  pointwiseSamples,
  tfRuntime,
} from '../src/index.js';

/** Toy matrix: u0 and u1 have items 0 and 1, u2 has items 1 and 2. */
const toy = parseInteractions('u0,i0\nu0,i1\nu1,i0\nu1,i1\nu2,i1\nu2,i2\n', 'generic');

async function scores(
  model: { scoreUsers(u: Uint32Array, o: Float32Array): void | Promise<void> },
  user: number,
  n = 3,
) {
  const out = new Float32Array(n);
  await model.scoreUsers(Uint32Array.of(user), out);
  return Array.from(out);
}

function expectClose(actual: number[], expected: number[], digits = 5): void {
  expect(actual.length).toBe(expected.length);
  actual.forEach((v, j) => {
    expect(v, `[${j}]`).toBeCloseTo(expected[j]!, digits);
  });
}

describe('EASE on a toy matrix with a hand-solved answer', () => {
  // G + λI with λ = 1 is [[3,2,0],[2,4,1],[0,1,2]]; its inverse is [[7,-4,2],[-4,6,-3],[2,-3,8]]/13, so
  // B = −P/diag(P) off the diagonal: row 0 = [0, 4/6, −2/8], row 1 = [4/7, 0, 3/8], row 2 = [−2/7, 3/6, 0].
  const expectedU2 = [4 / 7 - 2 / 7, 0.5, 3 / 8]; // x_u2 = items 1 and 2 → rows 1 + 2
  const expectedU0 = [4 / 7, 4 / 6, -2 / 8 + 3 / 8];

  it.each(['cholesky', 'sweep'] as const)('%s solver reproduces B', async (solver) => {
    const ease = new Ease({ lambda: 1, solver });
    await ease.fit(toy);
    expectClose(await scores(ease, 2), expectedU2);
    expectClose(await scores(ease, 0), expectedU0);
  });

  it('the blocked sweep agrees with the Float64 Cholesky inverse across several blocks', async () => {
    const n = 37;
    const rng = new Random(5);
    const a = new Float64Array(n * n);
    for (let r = 0; r < 200; r++) {
      const items = [0, 1, 2, 3].map(() => rng.int(n));
      for (const i of items) for (const j of items) a[i * n + j]! += 1;
    }
    for (let i = 0; i < n; i++) a[i * n + i]! += 3;
    const exact = invertSpdCholesky(a, n);
    // A·A⁻¹ = I for the reference
    for (let i = 0; i < n; i += 5)
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let k = 0; k < n; k++) s += a[i * n + k]! * exact[k * n + j]!;
        expect(s).toBeCloseTo(i === j ? 1 : 0, 10);
      }
    const swept = invertSpdSweep(Float32Array.from(a), n, await tfRuntime(), 8);
    for (let x = 0; x < n * n; x++) expect(swept[x]!).toBeCloseTo(exact[x]!, 5);
  });
});

describe('ItemKNN on the toy matrix', () => {
  // Cosine: sim(0,1) = 2/(√2·√3), sim(0,2) = 0, sim(1,2) = 1/√3.
  const s01 = 2 / Math.sqrt(6);
  const s12 = 1 / Math.sqrt(3);

  it('scores a user by summing the similarities of their items', async () => {
    const knn = new ItemKnn({ neighbours: 0 });
    await knn.fit(toy);
    expectClose(await scores(knn, 2), [s01, s12, s12]);
    expectClose(await scores(knn, 0), [s01, s01, s12]);
  });

  it('keeps only the top neighbours per item', async () => {
    const knn = new ItemKnn({ neighbours: 1 });
    await knn.fit(toy);
    // rows keep: 0 → {1}, 1 → {0}, 2 → {1}; u2 = rows 1 + 2
    expectClose(await scores(knn, 2), [s01, s12, 0]);
  });

  it('target pruning scores each item from its own top neighbours instead', async () => {
    const knn = new ItemKnn({ neighbours: 1, prune: 'target' });
    await knn.fit(toy);
    // targets keep: 0 ← {1}, 1 ← {0}, 2 ← {1}; u2 has items 1 and 2, and only item 1 is anyone's top neighbour
    expectClose(await scores(knn, 2), [s01, 0, s12]);
    expectClose(await scores(knn, 0), [s01, s01, s12]);
  });

  it('shrink is added to the cosine denominator', async () => {
    const knn = new ItemKnn({ neighbours: 0, shrink: 1 });
    await knn.fit(toy);
    expectClose(await scores(knn, 2), [2 / (Math.sqrt(6) + 1), 1 / (Math.sqrt(3) + 1), 1 / (Math.sqrt(3) + 1)]);
  });
});

describe('MostPop', () => {
  it('scores items by their number of users', async () => {
    const pop = new MostPop();
    await pop.fit(toy);
    expect(await scores(pop, 0)).toEqual([2, 3, 1]);
  });
});

/** Two communities: users 0..29 like items 0..19, users 30..59 like items 20..39 (each a random 60%). */
function communities(): Interactions {
  const rng = new Random(11);
  const lines: string[] = [];
  for (let u = 0; u < 60; u++) {
    const base = u < 30 ? 0 : 20;
    for (let i = 0; i < 20; i++) if (rng.next() < 0.6) lines.push(`u${u},i${base + i}`);
  }
  return parseInteractions(lines.join('\n'), 'generic');
}

describe('negative sampling', () => {
  it('draws user-conditioned negatives outside the user’s train items', () => {
    const data = communities();
    const s = pointwiseSamples(data, 3, new Random(1));
    expect(s.labels.length).toBe(data.byUser.indices.length * 4);
    const { indptr, indices } = data.byUser;
    let positives = 0;
    for (let k = 0; k < s.labels.length; k++) {
      const u = s.users[k]!;
      const known = sortedContains(indices, indptr[u]!, indptr[u + 1]!, s.items[k]!);
      expect(known).toBe(s.labels[k] === 1);
      if (s.labels[k] === 1) positives++;
    }
    expect(positives).toBe(indices.length);
  });
});

describe('NeuMF', () => {
  it('learns the community structure (held-out items ranked far above chance)', async () => {
    const data = communities();
    const { train, test } = splitPerUser(data, 0.2, 3);
    const model = new NeuMf({ epochs: 15, factors: 8, layers: 2, batchSize: 256, learningRate: 0.01, dropout: 0 });
    try {
      await model.fit(train, { seed: 1 });
      const result = await evaluateModel(model, train, test, { ks: [5] });
      // Chance precision@5 is about 2.4/28 ≈ 0.09 (≈2.4 test items among ≈28 unseen); the community alone gives ≈0.4.
      expect(result.metrics.precision[0]!).toBeGreaterThan(0.25);
    } finally {
      model.dispose();
    }
  });
});
