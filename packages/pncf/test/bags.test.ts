import { Random } from '@pncf/data';
import { describe, expect, it } from 'vitest';
import { buildAlias, drawAlias } from '../src/alias.js';
import { bagsPerRow, paperBags, sampleBags } from '../src/bags.js';
import { clusteredData } from './fixtures.js';

describe('alias table', () => {
  it('draws each outcome in proportion to its weight', () => {
    const weights = [1, 2, 3, 0, 4];
    const { prob, alias } = buildAlias(weights);
    const rng = new Random(3);
    const counts = new Float64Array(weights.length);
    const n = 200_000;
    for (let k = 0; k < n; k++) counts[drawAlias(prob, alias, 0, weights.length, rng)]!++;
    for (const [k, w] of weights.entries()) expect(counts[k]! / n).toBeCloseTo(w / 10, 2);
  });
});

describe('bag sampling', () => {
  const data = clusteredData();

  it('gives each row floor(total count ^ 0.75) bags of bagSize members of that row', () => {
    const perRow = bagsPerRow(data.byUser, paperBags);
    const corpus = sampleBags(data.byUser, paperBags, 1);
    let at = 0;
    for (let u = 0; u < data.byUser.rows; u++) {
      const start = data.byUser.indptr[u]!;
      const end = data.byUser.indptr[u + 1]!;
      let total = 0;
      for (let k = start; k < end; k++) total += data.byUser.counts[k]!;
      expect(perRow[u]).toBe(Math.floor(total ** 0.75));
      const members = new Set(data.byUser.indices.subarray(start, end));
      for (let t = 0; t < perRow[u]! * paperBags.bagSize; t++) expect(members.has(corpus.tokens[at++]!)).toBe(true);
    }
    expect(at).toBe(corpus.tokens.length);
  });

  it('draws members with probability count^e / Σ count^e (formula 1 for e = 0.75, raw counts for e = 1)', () => {
    // One user with counts 1 and 16: formula 1 gives 16^0.75 = 8 → 8/9; raw counts give 16/17; uniform 1/2.
    const csr = {
      rows: 1,
      cols: 2,
      indptr: Uint32Array.of(0, 2),
      indices: Uint32Array.of(0, 1),
      counts: Uint32Array.of(1, 16),
    };
    for (const [exponent, expected] of [
      [0.75, 8 / 9],
      [1, 16 / 17],
      [0, 0.5],
    ] as const) {
      const corpus = sampleBags(csr, { bagSize: 1000, bagsExponent: 1, weightExponent: exponent, minMembers: 1 }, 5);
      let ones = 0;
      for (const t of corpus.tokens) ones += t;
      expect(ones / corpus.tokens.length).toBeCloseTo(expected, 1);
    }
  });

  it('is deterministic for a seed and differs across seeds', () => {
    const a = sampleBags(data.byItem, paperBags, 9);
    const b = sampleBags(data.byItem, paperBags, 9);
    const c = sampleBags(data.byItem, paperBags, 10);
    expect(a.tokens).toEqual(b.tokens);
    expect(a.tokens).not.toEqual(c.tokens);
    expect(a.vocabSize).toBe(data.byUser.rows);
  });

  it('skips rows with fewer distinct members than minMembers', () => {
    const csr = {
      rows: 2,
      cols: 3,
      indptr: Uint32Array.of(0, 1, 3),
      indices: Uint32Array.of(0, 1, 2),
      counts: Uint32Array.of(50, 1, 1),
    };
    const perRow = bagsPerRow(csr, paperBags);
    expect(perRow[0]).toBe(0);
    expect(perRow[1]).toBe(1);
  });
});
