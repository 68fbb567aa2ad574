import { fromTriples, type Interactions, numItems, numUsers, protocolSplit, Random } from '@pncf/data';
import { beforeAll, describe, expect, it } from 'vitest';
import { evaluateModel, type Recommender, tfRuntime } from '../../src/index.js';

/**
 * The contract every `Recommender` meets, written once and run over each model (like implicit's
 * tests/recommender_base_test.py): register it from a model's test file with
 * `recommenderContract('EASE', () => new Ease())`. Keep the factory's model small: two fits per model.
 */
export interface ContractOptions {
  /** Interactions to split and fit on (default: contractData()). */
  data?: Interactions;
  /** Seed of both fits (default 7). */
  seed?: number;
  /** Timeout of the two fits, in ms (default 30 s). */
  fitTimeout?: number;
}

/**
 * Two communities of users (even users like the first half of the items, odd ones the second half, with 10 %
 * cross-community noise; counts 1–4). With `heavyUser`, the last user has every item but two, so a full-length
 * ranking of that user reaches the train items the harness excludes. A model that learns anything ranks
 * same-community items first.
 */
export function communityData(options: {
  users: number;
  items: number;
  perUser: number;
  seed: number;
  heavyUser?: boolean;
}): Interactions {
  const { users, items, perUser, seed } = options;
  const rng = new Random(seed);
  const us: number[] = [];
  const is: number[] = [];
  const cs: number[] = [];
  const half = items / 2;
  for (let u = 0; u < users; u++) {
    const heavy = options.heavyUser === true && u === users - 1;
    const chosen = new Set<number>();
    const target = heavy ? items - 2 : perUser;
    while (chosen.size < target) {
      const group = rng.next() < 0.1 ? 1 - (u % 2) : u % 2;
      chosen.add(heavy ? rng.int(items) : group * half + rng.int(half));
    }
    for (const i of chosen) {
      us.push(u);
      is.push(i);
      cs.push(1 + rng.int(4));
    }
  }
  const ids = (n: number, prefix: string) => Array.from({ length: n }, (_, k) => `${prefix}${k}`);
  return fromTriples(
    ids(users, 'u'),
    ids(items, 'i'),
    Uint32Array.from(us),
    Uint32Array.from(is),
    Uint32Array.from(cs),
  );
}

/** The contract's data: 40 users × 30 items in two communities plus one heavy user. */
export const contractData = (users = 40, items = 30, perUser = 8, seed = 3): Interactions =>
  communityData({ users, items, perUser, seed, heavyUser: true });

/** Every user's scores, row-major (users × items), scored in blocks of 16 like the harness does. */
async function scoreAll(model: Recommender, users: number, items: number): Promise<Float32Array> {
  const out = new Float32Array(users * items).fill(Number.NaN);
  const block = 16;
  for (let start = 0; start < users; start += block) {
    const ids = Uint32Array.from({ length: Math.min(block, users - start) }, (_, k) => start + k);
    await model.scoreUsers(ids, out.subarray(start * items, (start + ids.length) * items));
  }
  return out;
}

/**
 * Scores equal up to float rounding: a native matmul (tfjs-node) may block a 3-row product differently from
 * a 40-row one, so the same pair can differ in the last bits between block sizes or threads.
 */
export function expectSameScores(actual: ArrayLike<number>, expected: ArrayLike<number>, tolerance = 1e-6): void {
  expect(actual.length).toBe(expected.length);
  let worst = 0;
  for (let k = 0; k < actual.length; k++) worst = Math.max(worst, Math.abs(actual[k]! - expected[k]!));
  expect(worst).toBeLessThanOrEqual(tolerance);
}

export function recommenderContract(name: string, create: () => Recommender, options: ContractOptions = {}): void {
  describe(`${name}: the Recommender contract`, () => {
    const data = options.data ?? contractData();
    const seed = options.seed ?? 7;
    const split = protocolSplit(data, 1);
    const users = numUsers(data);
    const items = numItems(data);
    let tensorsBefore = 0;
    let numTensors: () => number = () => 0;
    let first: Recommender;
    let second: Recommender;
    let firstScores: Float32Array;
    let secondScores: Float32Array;

    /** Fitted as the experiment runner fits: on train minus validation when the model early-stops. */
    const fit = async (model: Recommender) => {
      await model.fit(model.usesValidation ? split.fit : split.train, { seed, validation: split.validation });
      return scoreAll(model, users, items);
    };

    beforeAll(async () => {
      const { tf } = await tfRuntime();
      numTensors = () => tf.memory().numTensors;
      tensorsBefore = numTensors();
      first = create();
      second = create();
      firstScores = await fit(first);
      secondScores = await fit(second);
    }, options.fitTimeout ?? 30_000);

    it('scoreUsers fills users × items with finite scores', () => {
      const bad = firstScores.findIndex((s) => !Number.isFinite(s));
      expect(bad, bad < 0 ? '' : `user ${Math.floor(bad / items)} item ${bad % items}: ${firstScores[bad]}`).toBe(-1);
    });

    it('scores a block of users in any order as it scores each of them', async () => {
      const picked = Uint32Array.of(users - 1, 0, Math.floor(users / 2));
      const out = new Float32Array(picked.length * items);
      await first.scoreUsers(picked, out);
      picked.forEach((u, b) => {
        expectSameScores(out.subarray(b * items, (b + 1) * items), firstScores.subarray(u * items, (u + 1) * items));
      });
    });

    it('rankings through the harness never contain a train item, and contain every other item', async () => {
      const { indptr, indices } = split.train.byUser;
      let ranked = 0;
      const result = await evaluateModel(first, split.train, split.test, {
        ks: [5],
        listLength: items,
        blockSize: 7,
        onRanking: (u, list, length) => {
          const own = new Set(indices.subarray(indptr[u]!, indptr[u + 1]!));
          expect(length).toBe(items - own.size);
          for (let r = 0; r < length; r++) expect(own.has(list[r]!), `user ${u} rank ${r}`).toBe(false);
          ranked++;
        },
      });
      expect(ranked).toBe(result.users);
      expect(ranked).toBeGreaterThan(0);
    });

    it('two fits with the same seed give the same scores', () => {
      expect(secondScores).toEqual(firstScores);
    });

    it('dispose frees every tfjs tensor the model made', async () => {
      first.dispose?.();
      second.dispose?.();
      // Parts owned by worker-thread helpers are released once their (already settled) promises run.
      await new Promise((resolve) => setImmediate(resolve));
      expect(numTensors()).toBe(tensorsBefore);
    });
  });
}
