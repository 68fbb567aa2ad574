import { type Interactions, topK } from '@pncf/data';
import { DEFAULT_KS, MetricAccumulator, type MetricTable } from './metrics.js';
import type { Recommender } from './model.js';

export interface EvaluateOptions {
  ks?: readonly number[];
  /** Users scored per scoreUsers call: bigger blocks amortise model overhead, cost users × items floats. */
  blockSize?: number;
  /** Length of the rankings handed to `onRanking` (≥ max K). */
  listLength?: number;
  /**
   * Called per test user with their ranked items (dense indices, best first), whether each is a test item
   * (`hits`, aligned with `items`) and the user's number of test items; the arrays are reused.
   */
  onRanking?: (user: number, items: Uint32Array, length: number, hits: Uint8Array, testItems: number) => void;
  onProgress?: (doneUsers: number, totalUsers: number) => void;
}

export interface Evaluation {
  ks: number[];
  users: number;
  metrics: MetricTable;
}

/** Users with at least one test item, in index order. */
export function testUsers(test: Interactions): Uint32Array {
  const { indptr, rows } = test.byUser;
  let n = 0;
  for (let u = 0; u < rows; u++) if (indptr[u + 1]! > indptr[u]!) n++;
  const users = new Uint32Array(n);
  n = 0;
  for (let u = 0; u < rows; u++) if (indptr[u + 1]! > indptr[u]!) users[n++] = u;
  return users;
}

/**
 * Full-ranking evaluation: every item is a candidate except the user's train items, metrics averaged over
 * users with a test item. `train` and `test` must share dense indices (as a split does).
 */
export async function evaluateModel(
  model: Recommender,
  train: Interactions,
  test: Interactions,
  options: EvaluateOptions = {},
): Promise<Evaluation> {
  const ks = options.ks ?? DEFAULT_KS;
  const acc = new MetricAccumulator(ks);
  const nItems = train.byUser.cols;
  const listLength = Math.max(acc.maxK, options.listLength ?? 0);
  const blockSize = Math.max(1, options.blockSize ?? Math.max(1, Math.min(1024, Math.floor(4_000_000 / nItems))));
  const users = testUsers(test);
  const scores = new Float32Array(blockSize * nItems);
  const items = new Uint32Array(listLength);
  const heap = new Float32Array(listLength);
  const hits = new Uint8Array(listLength);
  const isTest = new Uint8Array(nItems);
  const trainCsr = train.byUser;
  const testCsr = test.byUser;
  for (let start = 0; start < users.length; start += blockSize) {
    const block = users.subarray(start, Math.min(users.length, start + blockSize));
    const out = scores.subarray(0, block.length * nItems);
    await model.scoreUsers(block, out);
    for (let b = 0; b < block.length; b++) {
      const u = block[b]!;
      const offset = b * nItems;
      for (let p = trainCsr.indptr[u]!; p < trainCsr.indptr[u + 1]!; p++)
        out[offset + trainCsr.indices[p]!] = Number.NEGATIVE_INFINITY;
      const length = topK(out, offset, nItems, listLength, items, heap);
      const t0 = testCsr.indptr[u]!;
      const t1 = testCsr.indptr[u + 1]!;
      for (let p = t0; p < t1; p++) isTest[testCsr.indices[p]!] = 1;
      for (let j = 0; j < length; j++) hits[j] = isTest[items[j]!]!;
      for (let p = t0; p < t1; p++) isTest[testCsr.indices[p]!] = 0;
      acc.add(hits, length, t1 - t0);
      options.onRanking?.(u, items, length, hits, t1 - t0);
    }
    options.onProgress?.(Math.min(users.length, start + blockSize), users.length);
  }
  return { ks: [...ks], users: acc.users, metrics: acc.means() };
}
