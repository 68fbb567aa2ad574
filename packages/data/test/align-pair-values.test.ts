import { describe, expect, it } from 'vitest';
import { alignPairValues, fromPairs, kCore } from '../src/index.js';

describe('alignPairValues', () => {
  // u0: i0 i1 i2, u1: i0 i1, u2: i2 (dropped by the 2-core), u3: i0 i1 i3 (i3 dropped).
  const ids = (prefix: string) => [0, 1, 2, 3].map((k) => `${prefix}${k}`);
  const data = fromPairs(ids('u'), ids('i'), [0, 0, 0, 1, 1, 2, 3, 3, 3], [0, 1, 2, 0, 1, 2, 0, 1, 3]);
  // A per-pair value that names its pair: 10·user + item.
  const values = Float64Array.of(0, 1, 2, 10, 11, 22, 30, 31, 33);

  it('carries per-pair values through a k-core, which re-indexes users and items', () => {
    const core = kCore(data, 2);
    expect(core.userIds).toEqual(['u0', 'u1', 'u3']);
    expect(core.itemIds).toEqual(['i0', 'i1']);
    expect([...alignPairValues(data, values, core)]).toEqual([0, 1, 10, 11, 30, 31]);
  });

  it('is the identity on the same data, and refuses a pair the source lacks', () => {
    expect([...alignPairValues(data, values, data)]).toEqual([...values]);
    const other = fromPairs(['u2'], ['i0'], [0], [0]);
    expect(() => alignPairValues(data, values, other)).toThrow(/\(u2, i0\) is not in the source data/);
    expect(() => alignPairValues(data, values.subarray(1), data)).toThrow(RangeError);
  });
});
