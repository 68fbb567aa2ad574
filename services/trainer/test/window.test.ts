import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fromTriples, type Interactions, indexOfIds, partitionByMask, Random, splitPerUser } from '@pncf/data';
import { evaluateModel, MostPop, RankOnly, type Recommender } from '@pncf/evaluation';
import { InteractionStore } from '@pncf/store';
import { AuthorTagGenerator, scaledOptions } from '@pncf/synthetic';
import { afterAll, describe, expect, it } from 'vitest';
import { pairedBootstrap } from '../src/bootstrap.js';
import { divergedCandidate, gate, windowGate } from '../src/gate.js';
import { sampleHoldout } from '../src/pipeline.js';
import { evaluatePerUser, planWindow, windowStart } from '../src/window.js';

describe('windowStart', () => {
  const firstSeen = Float64Array.of(0, 1, 1, 2, 3, 3, 3, 4, 5, 5);
  it('is the serving model’s snapshot when the pairs after it are few enough', () => {
    expect(windowStart(firstSeen, 4, 0.3)).toBe(4);
    expect(windowStart(firstSeen, 2, 1)).toBe(2);
  });
  it('otherwise starts at the newest whole sequences holding at least the share', () => {
    // 30 % = 3 pairs: sequences 4 and 5 hold 3.
    expect(windowStart(firstSeen, 0, 0.3)).toBe(3);
    // 40 % = 4 pairs: sequence 3 must come in whole, 6 pairs.
    expect(windowStart(firstSeen, 0, 0.4)).toBe(2);
    // Never before the serving model's snapshot.
    expect(windowStart(firstSeen, 3, 0.4)).toBe(3);
  });
});

describe('planWindow', () => {
  // Users a, b, c, d; items x, y, z, w. firstSeen per pair (byUser order) decides the window (after 2).
  const data = fromTriples(
    ['a', 'b', 'c', 'd'],
    ['x', 'y', 'z', 'w'],
    Uint32Array.of(0, 0, 0, 0, 1, 1, 2, 2, 3),
    Uint32Array.of(0, 1, 2, 3, 0, 1, 1, 2, 0),
    Uint32Array.of(5, 2, 3, 1, 1, 4, 2, 1, 1),
  );
  // a: x@1 y@1 z@3 w@4 · b: x@2 y@3 · c: y@4 z@4 (new user) · d: x@1 (unknown to the serving model)
  const firstSeen = Float64Array.of(1, 1, 3, 4, 2, 3, 4, 4, 1);
  const plan = planWindow(data, firstSeen, {
    incumbentSequence: 2,
    incumbentUserIds: ['a', 'b', 'zed'],
    maxShare: 1,
    sequence: 4,
  });

  it('holds the pairs first seen after the serving model’s snapshot out of the fit part', () => {
    expect(plan).toMatchObject({ incumbentSequence: 2, from: 2, to: 4 });
    expect(Array.from(plan.before.byUser.indices)).toEqual([0, 1, 0, 0]);
    expect(Array.from(plan.before.byUser.counts)).toEqual([5, 2, 1, 1]);
    expect(plan.before.userIds).toEqual(data.userIds);
    // Only items with a pair before the window can be ranked: z appears first in the window.
    expect(Array.from(plan.rankable)).toEqual([1, 1, 0, 0]);
  });

  it('keeps as ground truth the adoptions of known items by users both models know, counted once', () => {
    // a: z (new item: dropped), w (new item: dropped) · b: y (count 4 → 1) · c: new user · d: no window pair.
    expect(Array.from(plan.truth.byUser.indptr)).toEqual([0, 0, 1, 1, 1]);
    expect(Array.from(plan.truth.byUser.indices)).toEqual([1]);
    expect(Array.from(plan.truth.byUser.counts)).toEqual([1]);
    expect(plan.stats).toEqual({
      pairs: 5,
      users: 3,
      dropped: { newUsers: 2, unknownToIncumbent: 0, newItems: 2 },
      evaluable: { users: 1, pairs: 1 },
    });
  });

  it('leaves out users the serving model does not know', () => {
    const other = planWindow(data, Float64Array.of(1, 1, 3, 4, 2, 3, 4, 4, 3), {
      incumbentSequence: 2,
      incumbentUserIds: ['a', 'b'],
      maxShare: 1,
      sequence: 4,
    });
    // d's only pair is now in the window: d is a new user, not an unknown one.
    expect(other.stats.dropped).toEqual({ newUsers: 3, unknownToIncumbent: 0, newItems: 2 });
    const unknown = planWindow(data, firstSeen, {
      incumbentSequence: 2,
      incumbentUserIds: ['a'],
      maxShare: 1,
      sequence: 4,
    });
    expect(unknown.stats.dropped.unknownToIncumbent).toBe(1);
    expect(unknown.stats.evaluable).toEqual({ users: 0, pairs: 0 });
  });
});

describe('evaluatePerUser', () => {
  it('gives per-user values whose mean is the harness’s figure, at any K', async () => {
    const stream = new AuthorTagGenerator(scaledOptions(4000, 2)).generate();
    const data = fromTriples(
      stream.authorIds,
      stream.tagIds,
      stream.authors,
      stream.tags,
      new Uint32Array(stream.authors.length).fill(1),
    );
    const { train, test } = splitPerUser(data, 0.2, 1);
    const model = new MostPop();
    await model.fit(train);
    const reference = await evaluateModel(model, train, test, { ks: [5, 10] });
    const at10 = await evaluatePerUser(model, train, test, { ks: [5, 10], metric: 'ndcg', k: 10 });
    expect(at10.metrics).toEqual(reference.metrics);
    expect(at10.values.length).toBe(reference.users);
    const mean = at10.values.reduce((s, x) => s + x, 0) / at10.values.length;
    expect(mean).toBeCloseTo(reference.metrics.ndcg[1]!, 10);
    const at7 = await evaluatePerUser(model, train, test, { ks: [5, 10], metric: 'recall', k: 7 });
    const seven = await evaluateModel(model, train, test, { ks: [7] });
    expect(at7.values.reduce((s, x) => s + x, 0) / at7.values.length).toBeCloseTo(seven.metrics.recall[0]!, 10);
  });
});

/**
 * The serving model as a pure memoriser: it scores every pair it was trained on (all pairs of its snapshot) above
 * everything else, and everything else at random. It knows nothing a real model would generalise.
 */
class Memoriser implements Recommender {
  readonly name = 'memoriser';
  private known: Uint8Array[] = [];
  private items = 0;
  constructor(private readonly trained: Interactions) {}
  async fit(data: Interactions): Promise<void> {
    const users = indexOfIds(this.trained.userIds);
    const items = indexOfIds(data.itemIds);
    this.items = data.itemIds.length;
    const { indptr, indices } = this.trained.byUser;
    this.known = data.userIds.map((id) => {
      const row = new Uint8Array(this.items);
      const u = users.get(id);
      if (u === undefined) return row;
      for (let p = indptr[u]!; p < indptr[u + 1]!; p++) {
        const at = items.get(this.trained.itemIds[indices[p]!]!);
        if (at !== undefined) row[at] = 1;
      }
      return row;
    });
  }
  scoreUsers(users: Uint32Array, out: Float32Array): void {
    const rng = new Random(99);
    for (let b = 0; b < users.length; b++) {
      const known = this.known[users[b]!]!;
      for (let i = 0; i < this.items; i++) out[b * this.items + i] = known[i] ? 2 : rng.next();
    }
  }
}

describe('the gate on the future', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'pncf-window-'));
  afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

  it('a memorising serving model wins the old random re-split, and loses on the window', async () => {
    // A real store: the serving model's snapshot is the first 14,000 events, 6,000 more arrive after it.
    const stream = new AuthorTagGenerator(scaledOptions(20_000, 5)).generate();
    const store = InteractionStore.open({ path: path.join(root, 'store') });
    for (let from = 0; from < 20_000; from += 2000) {
      const events = [];
      for (let i = from; i < from + 2000; i++) {
        events.push({
          offset: BigInt(i),
          user: stream.authorIds[stream.authors[i]!]!,
          item: stream.tagIds[stream.tags[i]!]!,
          count: 1,
        });
      }
      store.applyBatch({ topic: 'interactions', partition: 0, events, nextOffset: BigInt(from + 2000) });
    }
    const snapshot = store.snapshot();
    await store.close();
    expect(snapshot.sequence).toBe(10);
    const S = 7;
    const data = snapshot.interactions;
    const after = Uint8Array.from(snapshot.firstSeen, (seen) => (seen > S ? 1 : 0));
    // What the serving model trained on (all of it: refit on everything) and memorised.
    const servingData = partitionByMask(data, after).rest;
    const settings = { ks: [10], metric: 'recall', k: 10 } as const;
    const tolerance = 0.01;

    // The old protocol: a fresh per-user random split of the current snapshot, both models on its holdout.
    const split = splitPerUser(data, 0.2, 1);
    const heldOut = sampleHoldout(split.test, 1000, 1);
    const honest = new MostPop();
    await honest.fit(split.train);
    const memoriser = new Memoriser(servingData);
    await memoriser.fit(split.train);
    const oldCandidate = await evaluatePerUser(honest, split.train, heldOut, settings);
    const oldServing = await evaluatePerUser(memoriser, split.train, heldOut, settings);
    const mean = (values: Float64Array) => values.reduce((s, x) => s + x, 0) / values.length;
    // Most held-out pairs are pairs the memoriser trained on: it "wins" by recall, and the old gate rejects.
    expect(mean(oldServing.values)).toBeGreaterThan(0.5);
    expect(mean(oldServing.values)).toBeGreaterThan(mean(oldCandidate.values) + 0.3);
    expect(gate({ candidate: mean(oldCandidate.values), current: mean(oldServing.values), tolerance }).publish).toBe(
      false,
    );

    // The new gate: the pairs first seen after S, which neither model trained on.
    const plan = planWindow(data, snapshot.firstSeen, {
      incumbentSequence: S,
      incumbentUserIds: servingData.userIds,
      maxShare: 0.2,
      sequence: snapshot.sequence,
    });
    expect(plan.from).toBeGreaterThanOrEqual(S);
    expect(plan.stats.evaluable.users).toBeGreaterThan(200);
    const candidate = new MostPop();
    await candidate.fit(plan.before);
    await memoriser.fit(plan.before);
    const truth = sampleHoldout(plan.truth, 1000, 1);
    const windowCandidate = await evaluatePerUser(new RankOnly(candidate, plan.rankable), plan.before, truth, settings);
    const windowServing = await evaluatePerUser(new RankOnly(memoriser, plan.rankable), plan.before, truth, settings);
    // The memoriser's knowledge is all before the window, and every earlier pair of a user is excluded: it ranks
    // at random, as a model that knows nothing would.
    expect(Array.from(windowServing.evaluatedUsers)).toEqual(Array.from(windowCandidate.evaluatedUsers));
    const comparison = pairedBootstrap(windowCandidate.values, windowServing.values, { seed: 3 });
    expect(comparison.incumbent.mean).toBeLessThan(0.2);
    expect(comparison.difference.low).toBeGreaterThan(0);
    const decision = windowGate({
      comparison,
      users: plan.stats.evaluable.users,
      pairs: plan.stats.evaluable.pairs,
      minUsers: 100,
      minPairs: 200,
      tolerance,
    });
    expect(decision).toMatchObject({ publish: true, rule: 'within-tolerance' });

    // And the memoriser as the candidate against the honest model serving: the gate rejects it.
    const reversed = pairedBootstrap(windowServing.values, windowCandidate.values, { seed: 3 });
    expect(
      windowGate({
        comparison: reversed,
        users: plan.stats.evaluable.users,
        pairs: plan.stats.evaluable.pairs,
        minUsers: 100,
        minPairs: 200,
        tolerance,
      }),
    ).toMatchObject({ publish: false, rule: 'worse-beyond-tolerance' });
  });
});

describe('divergedCandidate', () => {
  it('rejects a fit whose training loss became non-finite, and passes a finite one on', () => {
    const finite = [
      { epoch: 0, loss: 0.5 },
      { epoch: 1, loss: 0.4 },
    ];
    expect(divergedCandidate(finite)).toBeUndefined();
    const decision = divergedCandidate([...finite, { epoch: 2, loss: Number.NaN }]);
    expect(decision).toMatchObject({ publish: false, rule: 'invalid-candidate' });
    expect(decision?.reason).toContain('epoch 3');
    expect(divergedCandidate([{ epoch: 0, loss: Number.POSITIVE_INFINITY }])?.publish).toBe(false);
  });
});
