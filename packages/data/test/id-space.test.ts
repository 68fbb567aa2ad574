import { describe, expect, it } from 'vitest';
import { indexOfIds, mapIds } from '../src/index.js';

describe('id spaces', () => {
  it('maps ids to dense indices and carries rows between two id spaces', () => {
    const index = indexOfIds(['a', 'b', 'c']);
    expect(index.get('c')).toBe(2);
    expect(index.get('z')).toBeUndefined();
    expect(Array.from(mapIds(['c', 'x', 'a'], ['a', 'b', 'c']))).toEqual([2, -1, 0]);
    expect(Array.from(mapIds(['b'], index))).toEqual([1]);
  });
});
