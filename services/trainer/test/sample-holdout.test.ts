import { fromPairs } from '@pncf/data';
import { testUsers } from '@pncf/evaluation';
import { describe, expect, it } from 'vitest';
import { sampleHoldout } from '../src/pipeline.js';

describe('sampleHoldout', () => {
  const users = Uint32Array.from({ length: 200 }, (_, k) => k % 40);
  const items = Uint32Array.from({ length: 200 }, (_, k) => (k * 7) % 30);
  const test = fromPairs(
    Array.from({ length: 40 }, (_, u) => `u${u}`),
    Array.from({ length: 30 }, (_, i) => `i${i}`),
    users,
    items,
  );

  it('keeps every row of the sampled users and nothing of the others, the same for a seed', () => {
    const sample = sampleHoldout(test, 10, 3);
    const kept = testUsers(sample);
    expect(kept).toHaveLength(10);
    for (const u of kept) {
      const row = (d: typeof test) => Array.from(d.byUser.indices.subarray(d.byUser.indptr[u], d.byUser.indptr[u + 1]));
      expect(row(sample)).toEqual(row(test));
    }
    expect(testUsers(sampleHoldout(test, 10, 3))).toEqual(kept);
    expect(testUsers(sampleHoldout(test, 10, 4))).not.toEqual(kept);
  });

  it('returns the holdout as it is when it has no more users than asked', () => {
    expect(sampleHoldout(test, 40, 1)).toBe(test);
  });
});
