import { tfRuntime } from '@pncf/evaluation';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ServingModel } from '../src/serving-model.js';
import { TopKCache } from '../src/topk-cache.js';
import { fixture } from './fixture.js';

describe('TopKCache', () => {
  const { artifact, data } = fixture();
  const candidates = { nearest: 40, popular: 10 };
  let first: ServingModel;
  let second: ServingModel;

  beforeAll(async () => {
    await tfRuntime();
    const createdAt = new Date().toISOString();
    first = new ServingModel({ version: 'v000001', createdAt, artifact, data, candidates });
    // The same version loaded again (a rollback reloads it with a fresh store snapshot): a different model.
    second = new ServingModel({ version: 'v000001', createdAt, artifact, data, candidates });
  });
  afterAll(() => {
    first.dispose();
    second.dispose();
  });

  it('drops every list of an erased user, at any k, and no other user’s', () => {
    const cache = new TopKCache(10, { current: first });
    cache.set(first, 'u1', 10, 0, 'a');
    cache.set(first, 'u1', 5, 0, 'b');
    cache.set(first, 'x u1', 5, 0, 'c');
    cache.set(first, 'u2', 10, 0, 'd');
    expect(cache.dropUser('u1')).toBe(2);
    expect(cache.get(first, 'u1', 10, 0)).toBeUndefined();
    expect(cache.get(first, 'u1', 5, 0)).toBeUndefined();
    expect(cache.get(first, 'x u1', 5, 0)).toBe('c');
    expect(cache.get(first, 'u2', 10, 0)).toBe('d');
  });

  it('answers a body for the same user, k and history version only', () => {
    const cache = new TopKCache(10, { current: first });
    cache.set(first, 'u1', 10, 0, 'body-10');
    cache.set(first, 'u1', 5, 0, 'body-5');
    expect(cache.get(first, 'u1', 10, 0)).toBe('body-10');
    expect(cache.get(first, 'u1', 5, 0)).toBe('body-5');
    expect(cache.get(first, 'u2', 10, 0)).toBeUndefined();
    // A user id with a space cannot collide with another (k, user) pair.
    cache.set(first, '5 u1', 1, 0, 'odd');
    expect(cache.get(first, 'u1', 5, 0)).toBe('body-5');
    // The user's history moved on: the entry is stale, and dropped.
    expect(cache.get(first, 'u1', 10, 3)).toBeUndefined();
    expect(cache.get(first, 'u1', 10, 0)).toBeUndefined();
    expect(cache.size).toBe(2);
  });

  it('keeps at most maxEntries, the least recently used out first', () => {
    const cache = new TopKCache(3, { current: first });
    for (const user of ['a', 'b', 'c']) cache.set(first, user, 10, 0, user);
    expect(cache.get(first, 'a', 10, 0)).toBe('a'); // a is now the most recently used
    cache.set(first, 'd', 10, 0, 'd');
    cache.set(first, 'e', 10, 0, 'e');
    expect(cache.size).toBe(3);
    expect(['a', 'b', 'c', 'd', 'e'].map((user) => cache.get(first, user, 10, 0) ?? null)).toEqual([
      'a',
      null,
      null,
      'd',
      'e',
    ]);
  });

  it('drops every entry when the served model changes, and ignores lists of a model no longer served', () => {
    const holder: { current: ServingModel | undefined } = { current: first };
    const cache = new TopKCache(10, holder);
    cache.set(first, 'u1', 10, 0, 'old');
    holder.current = second;
    expect(cache.get(second, 'u1', 10, 0)).toBeUndefined();
    expect(cache.size).toBe(0);
    cache.set(first, 'u1', 10, 0, 'late'); // a refresh block of the replaced model finishing after the swap
    expect(cache.size).toBe(0);
    cache.set(second, 'u1', 10, 0, 'new');
    expect(cache.get(second, 'u1', 10, 0)).toBe('new');
    holder.current = undefined;
    expect(cache.get(second, 'u1', 10, 0)).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it('holds nothing with a size of 0, and refuses a size that is not a count', () => {
    const cache = new TopKCache(0, { current: first });
    cache.set(first, 'u1', 10, 0, 'body');
    expect(cache.get(first, 'u1', 10, 0)).toBeUndefined();
    expect(cache.size).toBe(0);
    expect(() => new TopKCache(-1, { current: first })).toThrow(RangeError);
    expect(() => new TopKCache(1.5, { current: first })).toThrow(RangeError);
  });
});
