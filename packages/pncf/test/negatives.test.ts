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
