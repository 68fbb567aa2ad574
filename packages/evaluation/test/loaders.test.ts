import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fromPairs, type Interactions, numItems, numPairs, numUsers } from '@pncf/data';
import { describe, expect, it } from 'vitest';
import { DataFormatError, loadGivenSplit, loadInteractions, parseInteractions } from '../src/index.js';

/** (raw user, raw item, count) triples of the data, sorted, for comparing against expectations. */
function triples(data: Interactions): string[] {
  const out: string[] = [];
  const { indptr, indices, counts } = data.byUser;
  for (let u = 0; u < data.byUser.rows; u++)
    for (let p = indptr[u]!; p < indptr[u + 1]!; p++)
      out.push(`${data.userIds[u]},${data.itemIds[indices[p]!]},${counts[p]}`);
  return out.sort();
}

describe('fromPairs', () => {
  it('counts each pair once and adds up repeated pairs, in both directions', () => {
    const data = fromPairs(['a', 'b'], ['x', 'y', 'z'], [1, 0, 1, 1], [2, 1, 0, 2]);
    expect(triples(data)).toEqual(['a,y,1', 'b,x,1', 'b,z,2']);
    expect([...data.byItem.indptr]).toEqual([0, 1, 2, 3]);
  });
});

describe('loaders', () => {
  it('reads MovieLens 100K u.data (tab-separated; each rating is one interaction)', () => {
    const data = parseInteractions(
      '196\t242\t3\t881250949\n186\t302\t3\t891717742\n196\t302\t1\t878887116\n',
      'ml-100k',
    );
    expect(triples(data)).toEqual(['186,302,1', '196,242,1', '196,302,1']);
    expect([numUsers(data), numItems(data), numPairs(data)]).toEqual([2, 2, 3]);
    // byItem is the transpose
    expect(Array.from(data.byItem.indptr)).toEqual([0, 1, 3]);
  });

  it('reads MovieLens 1M ratings.dat from a file (:: separated)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'evaluation-loaders-'));
    const path = join(dir, 'ratings.dat');
    writeFileSync(path, '1::1193::5::978300760\r\n1::661::3::978302109\r\n2::1193::4::978298413\r\n');
    const data = loadInteractions(path, 'ml-1m');
    expect(triples(data)).toEqual(['1,1193,1', '1,661,1', '2,1193,1']);
  });

  it('reads the author-tag CSV with counts, header and BOM', () => {
    const data = parseInteractions(
      '\uFEFFuser,item,current\n472689123,5251,4\n91660273,5251,2\n472689123,17,1\n',
      'author-tag',
    );
    expect(triples(data)).toEqual(['472689123,17,1', '472689123,5251,4', '91660273,5251,2']);
  });

  it('reads generic CSV and TSV, with or without header and count, summing duplicate pairs', () => {
    expect(triples(parseInteractions('user,item,count\na,x,2\nb,y,1\na,x,3\n', 'generic'))).toEqual(['a,x,5', 'b,y,1']);
    expect(triples(parseInteractions('a\tx\nb\ty\n', 'generic'))).toEqual(['a,x,1', 'b,y,1']);
    expect(triples(parseInteractions('u1,i1,1\nu2,i1,7\n', 'generic'))).toEqual(['u1,i1,1', 'u2,i1,7']);
    expect(triples(parseInteractions('user,item\nu1,i1\n', 'generic'))).toEqual(['u1,i1,1']);
  });

  it('maps raw ids to dense indices in order of first appearance and back', () => {
    const data = parseInteractions('b,z\na,y\nb,y\n', 'generic');
    expect(data.userIds).toEqual(['b', 'a']);
    expect(data.itemIds).toEqual(['z', 'y']);
  });

  it.each([
    ['ml-100k', '1\t2\t3\t4\n1\t2\t3\n', 2, /expected 4 fields/],
    ['ml-100k', '1\t2\tfive\t4\n', 1, /rating "five"/],
    ['ml-1m', '1::2::3::4\n\n1::2::3\n', 3, /expected 4 fields/],
    ['author-tag', 'user,item,current\n1,2,3\n1,2\n', 3, /expected 3 fields/],
    ['author-tag', 'user,item,current\n1,2,0\n', 2, /not a positive integer|out of range/],
    ['author-tag', 'user,item,current\n1,2,-1\n', 2, /not a positive integer/],
    ['author-tag', 'author,tag,count\n1,2,3\n', 1, /expected header/],
    ['generic', 'a,x,1\nb,y,1.5\n', 2, /not a positive integer/],
    ['generic', 'a,x,1\n,y,1\n', 2, /missing user id/],
    ['generic', 'a,x,1\nb,y,1,9\n', 2, /got 4 fields/],
  ] as const)('rejects malformed %s input with the file and line number (%#)', (format, text, line, reason) => {
    let error: unknown;
    try {
      parseInteractions(text, format, 'input.txt');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(DataFormatError);
    expect((error as DataFormatError).line).toBe(line);
    expect((error as DataFormatError).message).toMatch(new RegExp(`^input\\.txt:${line}: `));
    expect((error as DataFormatError).message).toMatch(reason);
  });

  it('names the real path in errors from files', () => {
    const dir = mkdtempSync(join(tmpdir(), 'evaluation-loaders-'));
    const path = join(dir, 'bad.csv');
    writeFileSync(path, 'user,item,current\n1,2,3\n1,2,x\n');
    expect(() => loadInteractions(path, 'author-tag')).toThrow(`${path}:3: count "x" is not a positive integer`);
  });

  it('loads a given train/test split over one id space', () => {
    const dir = mkdtempSync(join(tmpdir(), 'evaluation-loaders-'));
    writeFileSync(join(dir, 'train.csv'), 'user,item,count\na,x,1\nb,y,2\n');
    writeFileSync(join(dir, 'test.csv'), 'user,item,count\nb,x,1\nc,z,1\n');
    const { train, test } = loadGivenSplit(join(dir, 'train.csv'), join(dir, 'test.csv'));
    expect(train.userIds).toEqual(['a', 'b', 'c']);
    expect(test.itemIds).toEqual(['x', 'y', 'z']);
    expect(triples(train)).toEqual(['a,x,1', 'b,y,2']);
    expect(triples(test)).toEqual(['b,x,1', 'c,z,1']);
    expect(train.byUser.cols).toBe(3);
  });
});
