import { type Interactions, numPairs, Random } from '@pncf/data';
import { describe, expect, it } from 'vitest';
import {
  chunkBoundaries,
  chunkTestSet,
  DataFormatError,
  type EventLog,
  evaluateModel,
  MostPop,
  PREQUENTIAL_KS,
  parseTimedLog,
  prefixInteractions,
  prequentialSteps,
  type Recommender,
  sameInteractions,
  sortByTime,
} from '../src/index.js';

/** A log in the given order, count 1 each, timestamps 0, 1, 2, … unless given. */
function log(pairs: [string, string][], timestamps?: number[]): EventLog {
  return {
    users: pairs.map(([u]) => u),
    items: pairs.map(([, i]) => i),
    counts: new Uint32Array(pairs.length).fill(1),
    timestamps: Float64Array.from(timestamps ?? pairs.map((_, k) => k)),
  };
}

/** user id → item ids of an Interactions (for readable expectations). */
function asSets(data: Interactions): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  const { indptr, indices } = data.byUser;
  for (let u = 0; u < data.byUser.rows; u++) {
    if (indptr[u + 1]! === indptr[u]!) continue;
    out[data.userIds[u]!] = [...indices.subarray(indptr[u]!, indptr[u + 1]!)].map((i) => data.itemIds[i]!).sort();
  }
  return out;
}

describe('prequential protocol: ordering and chunks', () => {
  it('parses u.data lines with their timestamps and names the bad line', () => {
    const parsed = parseTimedLog('196\t242\t3\t881250949\n186\t302\t3\t891717742\n', 'ml-100k');
    expect(parsed.users).toEqual(['196', '186']);
    expect(parsed.items).toEqual(['242', '302']);
    expect([...parsed.timestamps]).toEqual([881250949, 891717742]);
    expect([...parsed.counts]).toEqual([1, 1]);
    expect(() => parseTimedLog('1\t2\t3\n', 'ml-100k', 'u.data')).toThrow(DataFormatError);
    expect(() => parseTimedLog('1\t2\t3\t4\n1\t2\t3\tx\n', 'ml-100k', 'u.data')).toThrow(/u\.data:2/);
  });

  it('sorts by timestamp and keeps file order among equal timestamps', () => {
    const sorted = sortByTime(
      log(
        [
          ['a', '1'],
          ['b', '2'],
          ['c', '3'],
          ['d', '4'],
          ['e', '5'],
        ],
        [5, 1, 3, 1, 1],
      ),
    );
    expect(sorted.users).toEqual(['b', 'd', 'e', 'c', 'a']);
    expect(sorted.items).toEqual(['2', '4', '5', '3', '1']);
    expect([...sorted.timestamps]).toEqual([1, 1, 1, 3, 5]);
  });

  it('cuts 50 % warm-up and 5 chunks of 10 % at ⌊n·f⌋', () => {
    expect(chunkBoundaries(100_000)).toEqual({
      warmupEnd: 50_000,
      chunks: [
        { start: 50_000, end: 60_000 },
        { start: 60_000, end: 70_000 },
        { start: 70_000, end: 80_000 },
        { start: 80_000, end: 90_000 },
        { start: 90_000, end: 100_000 },
      ],
    });
    const odd = chunkBoundaries(37);
    expect(odd.warmupEnd).toBe(18);
    expect(odd.chunks.map((c) => c.end)).toEqual([22, 25, 29, 33, 37]);
    // Chunks tile the log after the warm-up: every event is in exactly one place.
    for (let j = 1; j < odd.chunks.length; j++) expect(odd.chunks[j]!.start).toBe(odd.chunks[j - 1]!.end);
    expect(() => chunkBoundaries(10, { warmup: 0.6, chunks: 5, chunkShare: 0.1 })).toThrow(RangeError);
  });

  it('numbers prefix ids in order of first appearance and sums repeated events', () => {
    const prefix = prefixInteractions(
      log([
        ['u2', 'b'],
        ['u1', 'a'],
        ['u2', 'b'],
        ['u1', 'c'],
        ['u3', 'x'],
      ]),
      4,
    );
    expect(prefix.userIds).toEqual(['u2', 'u1']);
    expect(prefix.itemIds).toEqual(['b', 'a', 'c']);
    expect(asSets(prefix)).toEqual({ u1: ['a', 'c'], u2: ['b'] });
    expect([...prefix.byUser.counts]).toEqual([2, 1, 1]);
  });
});

describe('prequential protocol: the evaluated pairs', () => {
  const history: [string, string][] = [
    ['u1', 'a'],
    ['u1', 'b'],
    ['u2', 'a'],
    ['u2', 'c'],
    ['u3', 'b'],
  ];
  const chunk: [string, string][] = [
    ['u1', 'c'], // evaluated
    ['u1', 'c'], // the same pair again: counted once
    ['u1', 'a'], // u1 had a before: not new for the user
    ['u4', 'a'], // user not seen before
    ['u2', 'd'], // item not seen before
    ['u3', 'a'], // evaluated
    ['u3', 'c'], // evaluated
    ['u2', 'b'], // evaluated
    ['u2', 'd'], // again
  ];
  const events = log([...history, ...chunk]);
  const prefix = prefixInteractions(events, history.length);
  const { test, stats } = chunkTestSet(prefix, events, history.length, events.users.length);

  it('keeps distinct pairs whose user and item were seen before and which are new for the user', () => {
    expect(stats).toEqual({
      events: 9,
      distinctPairs: 7,
      newUser: 1,
      newItem: 1,
      repeat: 1,
      evaluatedPairs: 4,
      evaluatedUsers: 3,
    });
    expect(asSets(test)).toEqual({ u1: ['c'], u2: ['b'], u3: ['a', 'c'] });
    // The test set lives in the prefix's id space: the models rank exactly the items seen before.
    expect(test.userIds).toBe(prefix.userIds);
    expect(test.itemIds).toEqual(['a', 'b', 'c']);
  });

  it("ranks every item seen before except the user's earlier ones", async () => {
    // Scores the user's own earlier items highest, then lower item indices: only the exclusion keeps them out.
    const own: Recommender = {
      name: 'own-first',
      fit: async () => {},
      scoreUsers(users, out) {
        const m = prefix.itemIds.length;
        const { indptr, indices } = prefix.byUser;
        users.forEach((u, b) => {
          for (let i = 0; i < m; i++) out[b * m + i] = -i;
          for (let p = indptr[u]!; p < indptr[u + 1]!; p++) out[b * m + indices[p]!] = 100;
        });
      },
    };
    const rankings: Record<string, string[]> = {};
    const evaluation = await evaluateModel(own, prefix, test, {
      ks: [1, 2],
      onRanking: (u, items, length) => {
        rankings[prefix.userIds[u]!] = [...items.subarray(0, length)].map((i) => prefix.itemIds[i]!);
      },
    });
    expect(rankings).toEqual({ u1: ['c'], u2: ['b'], u3: ['a', 'c'] });
    expect(evaluation.users).toBe(3);
    // u1 and u2: their one test item is the only candidate; u3: a then c, both test items.
    expect(evaluation.metrics.recall).toEqual([(1 + 1 + 0.5) / 3, 1]);
    expect(evaluation.metrics.ndcg[0]).toBeCloseTo(1, 12);
    expect(evaluation.metrics.ndcg[1]).toBeCloseTo(1, 12);
  });

  it('trains each chunk on every event before it', () => {
    const steps = prequentialSteps(events, { warmup: 5 / 14, chunks: 3, chunkShare: 3 / 14 });
    expect(steps.map((s) => [s.chunk, s.start, s.end])).toEqual([
      [1, 5, 8],
      [2, 8, 11],
      [3, 11, 14],
    ]);
    for (const step of steps) {
      expect(sameInteractions(step.prefix, prefixInteractions(events, step.start))).toBe(true);
      expect(numPairs(step.prefix)).toBeGreaterThan(0);
    }
    // Chunk 2 (u4 a, u2 d, u3 a): u4 and d are still unseen.
    expect(asSets(steps[1]!.test)).toEqual({ u3: ['a'] });
    expect([steps[1]!.stats.newUser, steps[1]!.stats.newItem]).toEqual([1, 1]);
    // Chunk 3 (u3 c, u2 b, u2 d): chunk 2 is trained on now, so u2 d is a repeat.
    expect(asSets(steps[2]!.test)).toEqual({ u2: ['b'], u3: ['c'] });
    expect([steps[2]!.stats.newItem, steps[2]!.stats.repeat]).toEqual([0, 1]);
  });
});

describe('prequential protocol against a from-scratch implementation', () => {
  /**
   * The protocol as written, with plain sets and sorts: MostPop (distinct earlier users per item, ties to the item
   * seen first), standard Recall and NDCG, mean over evaluated users per chunk.
   */
  function naiveMostPop(events: EventLog, ks: readonly number[]) {
    const order = events.users.map((_, k) => k).sort((a, b) => events.timestamps[a]! - events.timestamps[b]! || a - b);
    const users = order.map((k) => events.users[k]!);
    const items = order.map((k) => events.items[k]!);
    const n = users.length;
    const perChunk: { recall: number[]; ndcg: number[]; users: number }[] = [];
    for (let t = 0; t < 5; t++) {
      const start = Math.floor((n * (5 + t)) / 10);
      const end = Math.floor((n * (6 + t)) / 10);
      const firstSeen = new Map<string, number>();
      const holders = new Map<string, Set<string>>();
      const had = new Map<string, Set<string>>();
      for (let k = 0; k < start; k++) {
        if (!firstSeen.has(items[k]!)) firstSeen.set(items[k]!, firstSeen.size);
        holders.set(items[k]!, (holders.get(items[k]!) ?? new Set()).add(users[k]!));
        had.set(users[k]!, (had.get(users[k]!) ?? new Set()).add(items[k]!));
      }
      const truth = new Map<string, Set<string>>();
      for (let k = start; k < end; k++) {
        const u = users[k]!;
        const i = items[k]!;
        if (!had.has(u) || !firstSeen.has(i) || had.get(u)!.has(i)) continue;
        truth.set(u, (truth.get(u) ?? new Set()).add(i));
      }
      const ranked = [...firstSeen.keys()].sort(
        (a, b) => holders.get(b)!.size - holders.get(a)!.size || firstSeen.get(a)! - firstSeen.get(b)!,
      );
      const recall = ks.map(() => 0);
      const ndcg = ks.map(() => 0);
      for (const [u, relevant] of truth) {
        const list = ranked.filter((i) => !had.get(u)!.has(i));
        ks.forEach((k, j) => {
          let hits = 0;
          let dcg = 0;
          let ideal = 0;
          for (let r = 0; r < Math.min(k, list.length); r++) {
            if (relevant.has(list[r]!)) {
              hits++;
              dcg += 1 / Math.log2(r + 2);
            }
          }
          for (let r = 0; r < Math.min(k, relevant.size); r++) ideal += 1 / Math.log2(r + 2);
          recall[j]! += hits / relevant.size;
          ndcg[j]! += dcg / ideal;
        });
      }
      perChunk.push({
        recall: recall.map((v) => v / truth.size),
        ndcg: ndcg.map((v) => v / truth.size),
        users: truth.size,
      });
    }
    return perChunk;
  }

  it('gives the same MostPop Recall and NDCG per chunk on a random log with tied timestamps', async () => {
    const rng = new Random(11);
    const pairs: [string, string][] = [];
    const timestamps: number[] = [];
    for (let k = 0; k < 1_500; k++) {
      // Skewed users and items, a few late ones; timestamps with many ties, not in file order.
      const u = Math.floor(60 * rng.next() ** 2 + (k > 1_000 ? 10 * rng.next() : 0));
      const i = Math.floor(80 * rng.next() ** 3 + (k > 1_200 ? 15 * rng.next() : 0));
      pairs.push([`u${u}`, `i${i}`]);
      timestamps.push(Math.floor(k / 7) + (rng.next() < 0.1 ? 30 : 0));
    }
    const events = log(pairs, timestamps);
    const expected = naiveMostPop(events, PREQUENTIAL_KS);
    const steps = prequentialSteps(sortByTime(events));
    expect(steps).toHaveLength(5);
    for (const [t, step] of steps.entries()) {
      const model = new MostPop();
      await model.fit(step.prefix);
      const evaluation = await evaluateModel(model, step.prefix, step.test, { ks: PREQUENTIAL_KS });
      expect(evaluation.users).toBe(expected[t]!.users);
      expect(evaluation.users).toBeGreaterThan(5);
      for (const j of PREQUENTIAL_KS.keys()) {
        expect(evaluation.metrics.recall[j]).toBeCloseTo(expected[t]!.recall[j]!, 10);
        expect(evaluation.metrics.ndcg[j]).toBeCloseTo(expected[t]!.ndcg[j]!, 10);
      }
    }
  });
});
