import { describe, expect, it } from 'vitest';
import { deriveSeed, lowerBound, Random, shuffleInPlace, sortedContains, upperBound } from '../src/index.js';

describe('Random', () => {
  it('is the stream every committed split was drawn with (mulberry32 of seed ^ 0x9e3779b9)', () => {
    // Values of the harness generator the splits in bench/results were made with: changing the generator
    // would silently change every split and every table.
    const rng = new Random(42);
    expect([rng.next(), rng.next(), rng.next()]).toEqual([0.4813160905614495, 0.9852536325342953, 0.7379171899519861]);
    expect([deriveSeed(1, 1), deriveSeed(1, 2)]).toEqual([3867808118, 187427630]);
  });

  it('is deterministic per seed, uniform enough, and forks independent streams', () => {
    const a = new Random(7);
    const b = new Random(7);
    const draws = Array.from({ length: 10_000 }, () => a.int(10));
    expect(draws).toEqual(Array.from({ length: 10_000 }, () => b.int(10)));
    const counts = new Array(10).fill(0);
    for (const d of draws) counts[d]++;
    for (const c of counts) expect(Math.abs(c - 1000)).toBeLessThan(150);
    const f1 = new Random(7).fork(1);
    const f2 = new Random(7).fork(2);
    expect(f1.nextU32()).not.toBe(f2.nextU32());
  });

  it('shuffles a typed array into a permutation', () => {
    const a = Uint32Array.from({ length: 100 }, (_, k) => k);
    shuffleInPlace(a, new Random(3));
    expect([...a].sort((x, y) => x - y)).toEqual(Array.from({ length: 100 }, (_, k) => k));
    expect([...a]).not.toEqual(Array.from({ length: 100 }, (_, k) => k));
  });
});

describe('sorted-array helpers', () => {
  const values = Uint32Array.of(9, 1, 3, 3, 8, 20, 0);
  it('lowerBound finds the first position not below the value within [start, end)', () => {
    expect(lowerBound(values, 1, 6, 0)).toBe(1);
    expect(lowerBound(values, 1, 6, 3)).toBe(2);
    expect(lowerBound(values, 1, 6, 4)).toBe(4);
    expect(lowerBound(values, 1, 6, 21)).toBe(6);
  });
  it('upperBound finds the first position above the value within [start, end)', () => {
    expect(upperBound(values, 1, 6, 0)).toBe(1);
    expect(upperBound(values, 1, 6, 3)).toBe(4);
    expect(upperBound(values, 1, 6, 8)).toBe(5);
    expect(upperBound(values, 1, 6, 20)).toBe(6);
  });
  it('sortedContains looks only inside the range', () => {
    expect(sortedContains(values, 1, 6, 8)).toBe(true);
    expect(sortedContains(values, 1, 6, 9)).toBe(false);
    expect(sortedContains(values, 1, 6, 0)).toBe(false);
    expect(sortedContains(values, 2, 2, 3)).toBe(false);
  });
});
