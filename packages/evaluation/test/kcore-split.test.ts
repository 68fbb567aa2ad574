import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type Interactions, kCore, numItems, numPairs, numUsers, protocolSplit, splitPerUser } from '@pncf/data';
import { describe, expect, it } from 'vitest';
import { loadDataset, loadInteractions, parseInteractions } from '../src/index.js';

const DATA = fileURLToPath(new URL('../../../../shared/data/', import.meta.url));
const ML100K = `${DATA}movielens/ml-100k/u.data`;
const AUTHOR_TAG = `${DATA}bilibili/bt_test_set.csv`;

const pairs = (data: Interactions): Set<string> => {
  const out = new Set<string>();
  const { indptr, indices } = data.byUser;
  for (let u = 0; u < data.byUser.rows; u++)
    for (let p = indptr[u]!; p < indptr[u + 1]!; p++) out.add(`${data.userIds[u]}|${data.itemIds[indices[p]!]}`);
  return out;
};

/** A toy graph: a 2-core block of users a, b, c × items x, y, plus a chain that peels off in cascades. */
const toy = parseInteractions(
  ['a,x', 'a,y', 'b,x', 'b,y', 'c,x', 'c,y', 'c,z', 'd,z', 'd,w', 'e,w'].join('\n'),
  'generic',
);

describe('k-core', () => {
  it('drops users and items below k until stable (cascading)', () => {
    const core = kCore(toy, 2);
    // e has 1 item → gone; then w has only d → gone; then d has only z → gone; then z has only c → gone.
    expect(core.userIds).toEqual(['a', 'b', 'c']);
    expect(core.itemIds).toEqual(['x', 'y']);
    expect(numPairs(core)).toBe(6);
  });

  it('counts distinct pairs, not the sum of counts', () => {
    const data = parseInteractions('a,x,50\nb,x,50\na,y,1\n', 'generic');
    expect(numPairs(kCore(data, 2))).toBe(0);
  });

  it('keeps everything when k = 1 and nothing when k is too large', () => {
    expect(numPairs(kCore(toy, 1))).toBe(10);
    expect(numPairs(kCore(toy, 4))).toBe(0);
  });

  it.runIf(existsSync(ML100K))('ML-100K 10-core: 97,953 interactions, 943 users, 1,152 items', () => {
    const core = kCore(loadInteractions(ML100K, 'ml-100k'), 10);
    expect([numPairs(core), numUsers(core), numItems(core)]).toEqual([97_953, 943, 1_152]);
  });

  it.runIf(existsSync(ML100K))('loadDataset reads a named data set with its default k-core', () => {
    const { spec, data } = loadDataset('ml-100k', DATA);
    expect(spec.core).toBe(10);
    expect([numPairs(data), numUsers(data), numItems(data)]).toEqual([97_953, 943, 1_152]);
    expect(() => loadDataset('ml-10m', DATA)).toThrow(/unknown data set ml-10m \(known: ml-100k, ml-1m, author-tag\)/);
  });

  it.runIf(existsSync(AUTHOR_TAG))('author-tag 5-core: 158,151 pairs, 19,417 authors, 6,752 tags', () => {
    const core = kCore(loadInteractions(AUTHOR_TAG, 'author-tag'), 5);
    expect([numPairs(core), numUsers(core), numItems(core)]).toEqual([158_151, 19_417, 6_752]);
  });
});

describe('per-user split', () => {
  const lines: string[] = [];
  for (let u = 0; u < 40; u++)
    for (let i = 0; i < 3 + ((u * 7) % 23); i++) lines.push(`u${u},i${(u * 13 + i * 5) % 97},${1 + (i % 3)}`);
  const data = parseInteractions(lines.join('\n'), 'generic');

  it('puts round(0.2·n) of each user’s items in test, the rest in train, disjoint and complete', () => {
    const { train, test } = splitPerUser(data, 0.2, 7);
    for (let u = 0; u < numUsers(data); u++) {
      const n = data.byUser.indptr[u + 1]! - data.byUser.indptr[u]!;
      const t = test.byUser.indptr[u + 1]! - test.byUser.indptr[u]!;
      const r = train.byUser.indptr[u + 1]! - train.byUser.indptr[u]!;
      expect(t).toBe(Math.round(0.2 * n));
      expect(r + t).toBe(n);
    }
    const all = pairs(data);
    const tr = pairs(train);
    const te = pairs(test);
    expect(tr.size + te.size).toBe(all.size);
    for (const p of te) expect(tr.has(p)).toBe(false);
    for (const p of all) expect(tr.has(p) || te.has(p)).toBe(true);
    expect(train.userIds).toBe(data.userIds);
    expect(test.itemIds).toBe(data.itemIds);
  });

  it('keeps counts with their pairs', () => {
    const { train, test } = splitPerUser(data, 0.2, 7);
    expect(train.byUser.counts.reduce((a, b) => a + b, 0) + test.byUser.counts.reduce((a, b) => a + b, 0)).toBe(
      data.byUser.counts.reduce((a, b) => a + b, 0),
    );
  });

  it('is reproducible: same seed → same split, another seed → another split', () => {
    const a = splitPerUser(data, 0.2, 42);
    const b = splitPerUser(data, 0.2, 42);
    const c = splitPerUser(data, 0.2, 43);
    expect(Array.from(a.test.byUser.indices)).toEqual(Array.from(b.test.byUser.indices));
    expect(Array.from(a.test.byUser.indptr)).toEqual(Array.from(b.test.byUser.indptr));
    expect(Array.from(a.test.byUser.indices)).not.toEqual(Array.from(c.test.byUser.indices));
  });

  it('carves validation from train, never from test', () => {
    const s = protocolSplit(data, 3);
    const train = pairs(s.train);
    const test = pairs(s.test);
    const validation = pairs(s.validation);
    const fit = pairs(s.fit);
    expect(validation.size).toBeGreaterThan(0);
    for (const p of validation) {
      expect(train.has(p)).toBe(true);
      expect(test.has(p)).toBe(false);
      expect(fit.has(p)).toBe(false);
    }
    expect(fit.size + validation.size).toBe(train.size);
  });

  it.runIf(existsSync(ML100K))('ML-100K: 78,378 train and 19,575 test rows, as the reference split', () => {
    const { train, test } = protocolSplit(kCore(loadInteractions(ML100K, 'ml-100k'), 10), 1);
    expect([numPairs(train), numPairs(test)]).toEqual([78_378, 19_575]);
  });
});
