import { fromPairs } from '@pncf/data';
import { tfRuntime } from '@pncf/evaluation';
import { HistoryInference, type HistoryModel, NO_USER, type PncfModel, TowerInference } from '@pncf/pncf';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { popularityOrder, selectCandidates } from '../src/candidates.js';
import { historyOfRow } from '../src/history.js';
import { type PreparedModel, preparedBuffers, prepareModel, ServingModel } from '../src/serving-model.js';
import { fixture, historyFixture, ITEMS, USERS } from './fixture.js';

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
    const reference = TowerInference.fromModel(artifact.model as PncfModel);
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

describe('ServingModel with a history model (PNCF+)', () => {
  const { artifact, data } = historyFixture();
  const model = artifact.model as HistoryModel;
  const itemIndex = new Map(artifact.itemIds.map((id, i) => [id, i]));
  const source = { version: 'v000003', createdAt: new Date().toISOString(), artifact, data };
  let served: ServingModel;
  let reference: HistoryInference;
  beforeAll(async () => {
    await tfRuntime();
    // The service's default settings: candidates, no full ranking (they do not apply to a history model).
    served = new ServingModel({ ...source, candidates: { nearest: 40, popular: 10 } });
    reference = new HistoryInference(model);
  });
  afterAll(() => {
    served.dispose();
    reference.dispose();
  });

  const historyOf = (u: number) => historyOfRow(data, u);
  /** The offline HistoryInference's Top-k for one user (model index or NO_USER) and their history's known items. */
  const expected = (user: number, history: { items: string[]; counts: number[] }, k: number) => {
    const known = history.items.flatMap((id, p) =>
      itemIndex.has(id) ? [[itemIndex.get(id)!, history.counts[p]!]] : [],
    );
    const rows = {
      indptr: Uint32Array.of(0, known.length),
      indices: Uint32Array.from(known, ([item]) => item!),
      counts: Uint32Array.from(known, ([, count]) => count!),
    };
    const top = reference.recommendVectors(reference.userVectors(Int32Array.of(user), rows), k, { seen: rows });
    return {
      items: [...top.items.subarray(0, top.counts[0]!)].map((i) => artifact.itemIds[i]!),
      scores: [...top.scores.subarray(0, top.counts[0]!)],
      seen: known.length,
    };
  };

  it('a known user: their own vector plus their history, every unseen item ranked as the offline inference does', () => {
    expect(served.kind).toBe('history');
    expect(served.dim).toBe(model.dim);
    const users = Array.from({ length: 12 }, (_, u) => u);
    const { results, scored } = served.recommend(
      users.map((u) => ({ user: `u${u}`, history: historyOf(u) })),
      10,
    );
    // No candidate generation: every item but the user's own 6.
    expect(scored).toBe(users.length * (ITEMS - 6));
    users.forEach((u, b) => {
      const want = expected(u, historyOf(u), 10);
      const got = results[b]!;
      expect(got.source).toBe('model');
      expect(got.items.map((x) => x.item)).toEqual(want.items);
      got.items.forEach((x, j) => {
        expect(x.score).toBeCloseTo(want.scores[j]!, 5);
      });
      const seen = new Set(historyOf(u).items);
      for (const { item } of got.items) expect(seen.has(item)).toBe(false);
    });
    // The request's history counts: the same user with a longer history, and with other counts, is ranked anew.
    const longer = { items: [...historyOf(0).items, 'i1', 'i2', 'i4'], counts: [...historyOf(0).counts, 1, 1, 1] };
    const [more] = served.recommend([{ user: 'u0', history: longer }], 10).results;
    expect(more!.items.map((x) => x.item)).toEqual(expected(0, longer, 10).items);
    expect(more!.items.map((x) => x.item)).not.toEqual(results[0]!.items.map((x) => x.item));
    const heavier = { ...longer, counts: longer.counts.map((c, p) => (p === 0 ? 40 : c)) };
    const [weighed] = served.recommend([{ user: 'u0', history: heavier }], 10).results;
    const want = expected(0, heavier, 10);
    expect(weighed!.items.map((x) => x.item)).toEqual(want.items);
    expect(weighed!.items[0]!.score).toBeCloseTo(want.scores[0]!, 5);
    expect(weighed!.items[0]!.score).not.toBeCloseTo(more!.items[0]!.score, 5);
  });

  it('a user the model does not know: served from the history alone ("cold-start"); unknown items only: popular', () => {
    const [cold, popular, nobody] = served.recommend(
      [
        { user: 'new0', history: historyOf(USERS) },
        { user: 'new1', history: { items: ['x0', 'x1'], counts: [1, 2] } },
        { user: 'new2', history: { items: [], counts: [] } },
      ],
      5,
    ).results;
    // new0 has i3, i5 and x0 (unknown to the model): the vector of NO_USER with the history [i3, i5].
    expect(cold!.source).toBe('cold-start');
    const want = expected(NO_USER, historyOf(USERS), 5);
    expect(want.seen).toBe(2);
    expect(cold!.items.map((x) => x.item)).toEqual(want.items);
    expect(cold!.items.map((x) => x.item)).not.toContain('i3');
    expect(popular!.source).toBe('popular');
    expect(popular!.items).toEqual(served.popular(5));
    expect(popular!.items[0]!.score).toBe(1);
    expect(nobody!.source).toBeUndefined();
    expect(nobody!.items).toEqual([]);
  });

  it('survives the transfer between threads: a prepared model moved by postMessage serves the same lists', () => {
    // A copy of the artifact of its own: transferring detaches the arrays the prepared model shares with it.
    const prepared = prepareModel({
      ...source,
      artifact: historyFixture().artifact,
      candidates: { nearest: 40, popular: 10 },
    });
    expect(prepared.kind).toBe('history');
    const moved = structuredClone(prepared, { transfer: preparedBuffers(prepared) }) as PreparedModel;
    // Transferred, not copied: the worker's arrays are detached.
    expect(prepared.popularScore.length).toBe(0);
    const other = new ServingModel(moved);
    const requests = [0, 1, 2].map((u) => ({ user: `u${u}`, history: historyOf(u) }));
    expect(other.recommend(requests, 10).results).toEqual(served.recommend(requests, 10).results);
    other.dispose();
  });

  it('leaves no tfjs tensors behind per call, and none after dispose', () => {
    const requests = Array.from({ length: 8 }, (_, u) => ({ user: `u${u}`, history: historyOf(u) }));
    served.recommend(requests, 10);
    const before = tf.memory().numTensors;
    for (let r = 0; r < 5; r++) served.recommend(requests, 10);
    served.recommend([{ user: 'new0', history: historyOf(USERS) }], 5);
    expect(tf.memory().numTensors).toBe(before);
    const model = new ServingModel({ ...source, candidates: { nearest: 5, popular: 5 } });
    const empty = tf.memory().numTensors;
    model.recommend(requests, 10);
    model.dispose();
    expect(tf.memory().numTensors).toBe(empty);
    expect(() => model.recommend(requests, 3)).toThrow(/disposed/);
  });
});
