import { numItems, numUsers, Random, splitPerUser } from '@pncf/data';
import { describe, expect, it } from 'vitest';
import { evaluateModel, Ials, invertSpdCholesky, RowSolver } from '../src/index.js';
import { communityData } from './support/recommender-contract.js';

const data = communityData({ users: 30, items: 24, perUser: 6, seed: 5 });
const k = 6;
const lambda = 0.5;
const alpha = 3;

/** Random fixed item factors and the per-pair c − 1 = alpha·count of the users' CSR. */
function problem() {
  const rng = new Random(9);
  const items = Float64Array.from({ length: numItems(data) * k }, () => rng.next() - 0.5);
  const extra = Float64Array.from(data.byUser.counts, (c) => alpha * c);
  return { items, extra };
}

/** x_u from the dense normal equations over every item: (Yᵀ C_u Y + λI) x = Yᵀ C_u p_u, C_u = 1 off u's items. */
function denseSolve(items: Float64Array, extra: Float64Array, u: number): Float64Array {
  const n = numItems(data);
  const c = new Float64Array(n).fill(1);
  const p = new Float64Array(n);
  const { indptr, indices } = data.byUser;
  for (let q = indptr[u]!; q < indptr[u + 1]!; q++) {
    c[indices[q]!] = 1 + extra[q]!;
    p[indices[q]!] = 1;
  }
  const a = new Float64Array(k * k);
  const b = new Float64Array(k);
  for (let i = 0; i < n; i++) {
    for (let f = 0; f < k; f++) {
      b[f]! += c[i]! * p[i]! * items[i * k + f]!;
      for (let g = 0; g < k; g++) a[f * k + g]! += c[i]! * items[i * k + f]! * items[i * k + g]!;
    }
  }
  for (let f = 0; f < k; f++) a[f * k + f]! += lambda;
  const inv = invertSpdCholesky(a, k);
  return Float64Array.from({ length: k }, (_, f) => {
    let s = 0;
    for (let g = 0; g < k; g++) s += inv[f * k + g]! * b[g]!;
    return s;
  });
}

describe('iALS row solves', () => {
  it('the exact solve (YᵀY + own items only) equals the dense normal equations over all items', () => {
    const { items, extra } = problem();
    const users = new Float64Array(numUsers(data) * k);
    new RowSolver(k, lambda, 'cholesky', 0).solveAll(users, items, data.byUser, extra);
    for (const u of [0, 1, 17, 29]) {
      const expected = denseSolve(items, extra, u);
      for (let f = 0; f < k; f++) expect(users[u * k + f]!).toBeCloseTo(expected[f]!, 10);
    }
  });

  it('conjugate gradient reaches the exact solve in k steps, and 3 warm-started steps get close', () => {
    const { items, extra } = problem();
    const exact = new Float64Array(numUsers(data) * k);
    new RowSolver(k, lambda, 'cholesky', 0).solveAll(exact, items, data.byUser, extra);
    const cg = new Float64Array(exact.length);
    new RowSolver(k, lambda, 'cg', k).solveAll(cg, items, data.byUser, extra);
    for (let x = 0; x < exact.length; x++) expect(cg[x]!).toBeCloseTo(exact[x]!, 8);
    // Warm start (what a sweep does): from the exact answer perturbed by 10 %, more steps get closer.
    const rng = new Random(4);
    const start = Float64Array.from(exact, (v) => v * (1 + 0.1 * (rng.next() - 0.5)));
    const error = (x: Float64Array) => Math.hypot(...x.map((v, i) => v - exact[i]!));
    const after = (steps: number) => {
      const x = Float64Array.from(start);
      new RowSolver(k, lambda, 'cg', steps).solveAll(x, items, data.byUser, extra);
      return error(x);
    };
    expect(after(1)).toBeLessThan(error(start));
    expect(after(3)).toBeLessThan(after(1));
    expect(after(3)).toBeLessThan(error(start) / 5);
  });
});

describe('iALS fit', () => {
  it.each(['cholesky', 'cg'] as const)('%s: the objective never rises over sweeps', async (solver) => {
    const model = new Ials({ factors: 8, lambda: 1, alpha: 5, sweeps: 8, solver, recordLoss: true });
    const { losses } = await model.fit(data, { seed: 3 });
    expect(losses).toHaveLength(8);
    for (let s = 1; s < losses.length; s++) expect(losses[s]!).toBeLessThanOrEqual(losses[s - 1]! * (1 + 1e-9));
    expect(losses.at(-1)!).toBeLessThan(losses[0]!);
  });

  it('binary confidence ignores the counts; counts confidence does not', async () => {
    const fitScores = async (confidence: 'binary' | 'counts', counts?: Uint32Array) => {
      const d = counts ? { ...data, byUser: { ...data.byUser, counts }, byItem: data.byItem } : data;
      const model = new Ials({ factors: 4, sweeps: 3, confidence });
      await model.fit(d, { seed: 1 });
      const out = new Float32Array(numItems(data));
      model.scoreUsers(Uint32Array.of(0), out);
      return out;
    };
    // Counts on the user side only (the item side keeps the originals): binary must not see the change.
    const doubled = Uint32Array.from(data.byUser.counts, (c) => c * 2);
    expect(await fitScores('binary', doubled)).toEqual(await fitScores('binary'));
    expect(await fitScores('counts', doubled)).not.toEqual(await fitScores('counts'));
  });

  it('ranks the user’s own community first (held-out items far above chance)', async () => {
    const { train, test } = splitPerUser(data, 0.3, 2);
    // Two factors: the data have two communities, and more overfit 4 train items per user.
    const model = new Ials({ factors: 2, lambda: 1, alpha: 5 });
    await model.fit(train, { seed: 1 });
    const { metrics } = await evaluateModel(model, train, test, { ks: [5] });
    // ≈2 test items among ≈20 unseen: chance Recall@5 ≈ 0.25 (MostPop 0.22); ItemKNN reaches 0.5.
    expect(metrics.recall[0]!).toBeGreaterThan(0.4);
  });
});
