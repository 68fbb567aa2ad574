import { Random, topK } from '@pncf/data';
import { describe, expect, it } from 'vitest';
import { sampleEpoch } from '../src/negatives.js';
import { clusteredData } from './fixtures.js';

describe('training samples', () => {
  const data = clusteredData();
  const { byUser } = data;
  const known = (u: number, i: number) => byUser.indices.subarray(byUser.indptr[u]!, byUser.indptr[u + 1]!).includes(i);

  it("'user' negatives belong to the positive's user and exclude that user's items", () => {
    const s = sampleEpoch(byUser, 4, 'user', 1);
    expect(s.users.length).toBe(byUser.indices.length * 5);
    let positives = 0;
    const perUser = new Uint32Array(byUser.rows);
    for (let k = 0; k < s.users.length; k++) {
      perUser[s.users[k]!]!++;
      if (s.labels[k] === 1) {
        positives++;
        expect(known(s.users[k]!, s.items[k]!)).toBe(true);
      } else {
        expect(known(s.users[k]!, s.items[k]!)).toBe(false);
      }
    }
    expect(positives).toBe(byUser.indices.length);
    for (let u = 0; u < byUser.rows; u++) expect(perUser[u]).toBe((byUser.indptr[u + 1]! - byUser.indptr[u]!) * 5);
  });

  it("'random' negatives are unchecked random pairs (some are false negatives), as in the reference code", () => {
    const s = sampleEpoch(byUser, 20, 'random', 2);
    let falseNegatives = 0;
    let negatives = 0;
    for (let k = 0; k < s.users.length; k++) {
      if (s.labels[k] === 0) {
        negatives++;
        if (known(s.users[k]!, s.items[k]!)) falseNegatives++;
      }
    }
    // Density is 10/40 = 25%, so about a quarter of the random pairs are observed ones.
    expect(falseNegatives / negatives).toBeGreaterThan(0.15);
    expect(falseNegatives / negatives).toBeLessThan(0.35);
  });

  it('is shuffled and deterministic per seed', () => {
    const a = sampleEpoch(byUser, 2, 'user', 3);
    const b = sampleEpoch(byUser, 2, 'user', 3);
    expect(a.items).toEqual(b.items);
    expect(Array.from(a.users.subarray(0, 30))).not.toEqual([...a.users.subarray(0, 30)].sort((x, y) => x - y));
  });
});

describe('top-K', () => {
  it('matches a full sort and skips excluded (-Infinity) entries', () => {
    const rng = new Random(4);
    const n = 500;
    const scores = new Float32Array(n).map(() => rng.next());
    for (let j = 0; j < n; j += 7) scores[j] = Number.NEGATIVE_INFINITY;
    const items = new Uint32Array(20);
    const top = new Float32Array(20);
    const found = topK(scores, 0, n, 20, items, top, 0);
    const expected = [...scores.keys()]
      .filter((j) => scores[j] !== Number.NEGATIVE_INFINITY)
      .sort((a, b) => scores[b]! - scores[a]!)
      .slice(0, 20);
    expect(found).toBe(20);
    expect(Array.from(items)).toEqual(expected);
    expect(Array.from(top)).toEqual(expected.map((j) => scores[j]!));
  });

  it('returns fewer than K when few items are eligible', () => {
    const scores = Float32Array.of(0.1, Number.NEGATIVE_INFINITY, 0.3);
    const items = new Uint32Array(5);
    expect(topK(scores, 0, 3, 5, items, new Float32Array(5), 0)).toBe(2);
    expect(Array.from(items.subarray(0, 2))).toEqual([2, 0]);
  });
});
