import { fromPairs } from '@pncf/data';
import { tfRuntime } from '@pncf/evaluation';
import { TowerInference } from '@pncf/pncf';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { popularityOrder, selectCandidates } from '../src/candidates.js';
import { historyOfRow } from '../src/history.js';
import { ServingModel } from '../src/serving-model.js';
import { fixture, ITEMS, USERS } from './fixture.js';

describe('selectCandidates', () => {
  it('takes the nearest unseen items, then popular ones not yet chosen, and leaves the marks clean', () => {
    const affinity = Float32Array.from([0.9, 0.8, 0.1, 0.7, 0.2, 0.3]);
    const marks = new Uint8Array(6);
    const out = new Uint32Array(4);
    const scratch = new Float32Array(4);
    const popular = Uint32Array.from([0, 2, 4, 5]);
    const n = selectCandidates(affinity, 0, 6, [0], popular, 2, 2, marks, out, scratch, 0);
    expect(n).toBe(4);
    expect([...out.subarray(0, 2)]).toEqual([1, 3]); // 0 is seen
    expect([...out.subarray(2, 4)]).toEqual([2, 4]); // popular, skipping seen 0
    expect([...marks]).toEqual([0, 0, 0, 0, 0, 0]);
  });

  it('orders popularity descending with ties by index and drops zero weights', () => {
    expect([...popularityOrder(Float64Array.from([1, 3, 0, 3, 2]), 10)]).toEqual([1, 3, 4, 0]);
    expect([...popularityOrder(Float64Array.from([1, 3, 0, 3, 2]), 2)]).toEqual([1, 3]);
  });
});

describe('ServingModel', () => {
  const { artifact, data } = fixture();
  let exact: ServingModel;
  let fast: ServingModel;
  beforeAll(async () => {
    await tfRuntime();
    const source = { version: 'v000001', createdAt: new Date().toISOString(), artifact, data };
    exact = new ServingModel({ ...source, candidates: { nearest: 0, popular: 0, fullRanking: true } });
    fast = new ServingModel({ ...source, candidates: { nearest: 40, popular: 10 } });
  });
  afterAll(() => {
    exact.dispose();
    fast.dispose();
  });

  const historyOf = (u: number) => historyOfRow(data, u);

  it('full ranking gives the same Top-K as the offline inference (the harness ranking) with the seen items excluded', () => {
    const reference = TowerInference.fromModel(artifact.model);
    const users = Uint32Array.from({ length: 10 }, (_, u) => u);
    // The store's history is the seen set; build the same CSR over the model's ids for the reference.
    const rows: number[] = [];
    const cols: number[] = [];
    for (const u of users) {
      for (const item of historyOf(u).items) {
        rows.push(u);
        cols.push(Number(item.slice(1)));
      }
    }
    const seenCsr = fromPairs(artifact.userIds, artifact.itemIds, rows, cols).byUser;
    const expected = reference.recommend(users, 10, seenCsr);
    const { results, scored } = exact.recommend(
      [...users].map((u) => ({ user: `u${u}`, history: historyOf(u) })),
      10,
    );
    expect(scored).toBe(10 * (ITEMS - 6));
    for (let b = 0; b < users.length; b++) {
      const got = results[b]!;
      expect(got.source).toBe('model');
      expect(got.items.map((x) => x.item)).toEqual(
        [...expected.items.subarray(b * 10, b * 10 + 10)].map((i) => artifact.itemIds[i]),
      );
      got.items.forEach((x, j) => {
        expect(x.score).toBeCloseTo(expected.scores[b * 10 + j]!, 5);
      });
    }
    reference.dispose();
  });

  it('with candidates: scores only nearest + popular per user, never a seen item, best first', () => {
    const requests = Array.from({ length: USERS }, (_, u) => ({ user: `u${u}`, history: historyOf(u) }));
    const { results, scored } = fast.recommend(requests, 10);
    expect(scored).toBe(USERS * 50);
    results.forEach((result, u) => {
      const seen = new Set(historyOf(u).items);
      expect(result.items).toHaveLength(10);
      for (const { item } of result.items) expect(seen.has(item)).toBe(false);
      for (let j = 1; j < 10; j++) expect(result.items[j]!.score).toBeLessThanOrEqual(result.items[j - 1]!.score);
    });
    // Candidate scores are the tower's: each listed item has the score full ranking gives it.
    const full = exact.recommend([requests[0]!], ITEMS).results[0]!;
    const byItem = new Map(full.items.map((x) => [x.item, x.score]));
    for (const x of results[0]!.items) expect(x.score).toBeCloseTo(byItem.get(x.item)!, 5);
  });

  it('cold start: an unknown user with known items gets a vector from them; unknown items give popularity', () => {
    const [cold, popular, nobody] = fast.recommend(
      [
        { user: 'new0', history: historyOf(USERS) },
        { user: 'new1', history: { items: ['x0', 'x1'], counts: [1, 2] } },
        { user: 'new2', history: { items: [], counts: [] } },
      ],
      5,
    ).results;
    expect(cold!.source).toBe('cold-start');
    expect(cold!.items).toHaveLength(5);
    expect(cold!.items.map((x) => x.item)).not.toContain('i3');
    expect(popular!.source).toBe('popular');
    expect(popular!.items).toHaveLength(5);
    expect(popular!.items[0]!.score).toBe(1);
    // None of new1's items is known to the model, so nothing is excluded: the plain popularity list.
    expect(fast.popular(5)).toEqual(popular!.items);
    expect(nobody!.source).toBeUndefined();
    expect(nobody!.items).toEqual([]);
  });

  it('leaves no tfjs tensors behind per call', () => {
    const requests = Array.from({ length: 8 }, (_, u) => ({ user: `u${u}`, history: historyOf(u) }));
    fast.recommend(requests, 10);
    const before = tf.memory().numTensors;
    for (let r = 0; r < 5; r++) fast.recommend(requests, 10);
    exact.recommend(requests.slice(0, 2), 10);
    fast.recommend([{ user: 'new0', history: historyOf(USERS) }], 5);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('refuses to score after dispose', () => {
    const model = new ServingModel({
      version: 'v000002',
      createdAt: new Date().toISOString(),
      artifact,
      data,
      candidates: { nearest: 5, popular: 5 },
    });
    model.dispose();
    expect(() => model.recommend([{ user: 'u1', history: historyOf(1) }], 3)).toThrow(/disposed/);
  });
});
