import { type Csr, Random } from '@pncf/data';
import { buildAlias, drawAlias } from './alias.js';

export interface BagOptions {
  /** Tokens per bag (reference 20). */
  bagSize: number;
  /** Bags per row = floor(n^bagsExponent) with n the row's total count (reference 0.75). */
  bagsExponent: number;
  /**
   * A member j of row r is drawn with probability count(r,j)^weightExponent / Σ count^weightExponent.
   * 0.75 is the paper's formula 1, 1 the reference code (proportional to the raw count), 0 uniform.
   */
  weightExponent: number;
  /** Rows with fewer distinct members than this get no bags (a bag of one member teaches nothing). */
  minMembers: number;
}

export const paperBags: BagOptions = { bagSize: 20, bagsExponent: 0.75, weightExponent: 0.75, minMembers: 2 };

/**
 * A corpus of fixed-size bags ("sentences") over a vocabulary of `vocabSize` tokens. Bag b is
 * tokens[b·bagSize .. (b+1)·bagSize).
 */
export interface BagCorpus {
  tokens: Uint32Array;
  bagSize: number;
  vocabSize: number;
}

export const numBags = (c: BagCorpus): number => c.tokens.length / c.bagSize;

/** How many bags each row gets (exposed so callers can size work and tests can check it). */
export function bagsPerRow(csr: Csr, options: BagOptions): Uint32Array {
  const out = new Uint32Array(csr.rows);
  for (let r = 0; r < csr.rows; r++) {
    const start = csr.indptr[r]!;
    const end = csr.indptr[r + 1]!;
    if (end - start < options.minMembers) continue;
    let total = 0;
    for (let k = start; k < end; k++) total += csr.counts[k]!;
    out[r] = Math.floor(total ** options.bagsExponent);
  }
  return out;
}

/**
 * Draw bags of column indices from each row of `csr`, with replacement, each member weighted by its count
 * raised to `weightExponent`. For bags of items per user pass byUser; for bags of users per item pass byItem.
 */
export function sampleBags(csr: Csr, options: BagOptions, seed: number): BagCorpus {
  const rng = new Random(seed);
  const perRow = bagsPerRow(csr, options);
  let total = 0;
  for (let r = 0; r < csr.rows; r++) total += perRow[r]!;
  const size = options.bagSize;
  const tokens = new Uint32Array(total * size);

  // One flat alias table aligned with csr.indices: row r's table lives at [indptr[r], indptr[r+1]).
  const weights = new Float64Array(csr.counts.length);
  for (let k = 0; k < weights.length; k++) weights[k] = csr.counts[k]! ** options.weightExponent;
  const prob = new Float32Array(weights.length);
  const alias = new Uint32Array(weights.length);
  let at = 0;
  for (let r = 0; r < csr.rows; r++) {
    const start = csr.indptr[r]!;
    const n = csr.indptr[r + 1]! - start;
    if (perRow[r] === 0) continue;
    const table = buildAlias(weights, start, n);
    prob.set(table.prob, start);
    alias.set(table.alias, start);
    for (let b = 0; b < perRow[r]!; b++) {
      for (let t = 0; t < size; t++) tokens[at++] = csr.indices[start + drawAlias(prob, alias, start, n, rng)]!;
    }
  }
  return { tokens, bagSize: size, vocabSize: csr.cols };
}
