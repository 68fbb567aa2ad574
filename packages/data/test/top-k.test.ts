import { describe, expect, it } from 'vitest';
import { Random, topK } from '../src/index.js';

describe('topK', () => {
  it('returns the k best in order, skipping -Infinity and NaN, ties to the lower index', () => {
    const scores = Float32Array.from([0.5, 3, Number.NEGATIVE_INFINITY, 3, Number.NaN, 1, 2, -7]);
    const items = new Uint32Array(4);
    const best = new Float32Array(4);
    expect(topK(scores, 0, scores.length, 4, items, best)).toBe(4);
    expect(Array.from(items)).toEqual([1, 3, 6, 5]);
    expect(Array.from(best)).toEqual([3, 3, 2, 1]);
  });

  it('agrees with a full sort (ties to the lower index) on random rows, honouring both offsets', () => {
    const rng = new Random(12345);
    const n = 500;
    const k = 50;
    const scores = new Float32Array(2 * n);
    for (let j = 0; j < scores.length; j++) scores[j] = rng.int(100); // many ties
    for (let j = 0; j < scores.length; j += 7) scores[j] = Number.NEGATIVE_INFINITY;
    const items = new Uint32Array(3 * k).fill(9999);
    const best = new Float32Array(3 * k);
    const found = topK(scores, n, n, k, items, best, k);
    const expected = Array.from({ length: n }, (_, j) => j)
      .filter((j) => scores[n + j] !== Number.NEGATIVE_INFINITY)
      .sort((a, b) => scores[n + b]! - scores[n + a]! || a - b)
      .slice(0, k);
    expect(found).toBe(k);
    expect(Array.from(items.subarray(k, 2 * k))).toEqual(expected);
    expect(Array.from(best.subarray(k, 2 * k))).toEqual(expected.map((j) => scores[n + j]!));
    // Nothing outside the output window is written.
    expect(items.subarray(0, k).every((v) => v === 9999)).toBe(true);
    expect(items.subarray(2 * k).every((v) => v === 9999)).toBe(true);
  });

  it('returns fewer than k when fewer are eligible, and nothing for k = 0', () => {
    const scores = Float32Array.of(0.1, Number.NEGATIVE_INFINITY, 0.3);
    const items = new Uint32Array(5);
    expect(topK(scores, 0, 3, 5, items, new Float32Array(5))).toBe(2);
    expect(Array.from(items.subarray(0, 2))).toEqual([2, 0]);
    expect(topK(scores, 0, 3, 0, new Uint32Array(0), new Float32Array(0))).toBe(0);
  });
});
