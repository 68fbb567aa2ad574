import { describe, expect, it } from 'vitest';
import { MetricAccumulator, userMetrics } from '../src/index.js';

const LOG3 = 1 / Math.log2(3); // gain at rank 2
const LOG4 = 1 / Math.log2(4); // gain at rank 3 (= 0.5)
const LOG5 = 1 / Math.log2(5); // gain at rank 4

/** Compare a metric table with hand-computed values per K. */
function expectTable(actual: Record<string, number[]>, expected: Record<string, number[]>): void {
  for (const [metric, values] of Object.entries(expected)) {
    values.forEach((v, k) => {
      expect(actual[metric]![k], `${metric}[${k}]`).toBeCloseTo(v, 10);
    });
  }
}

describe('metrics (hand-computed lists)', () => {
  it('mixed list: hits at ranks 1 and 3 of 5, three test items', () => {
    const m = userMetrics([1, 0, 1, 0, 0], 3, [1, 2, 5]);
    expectTable(m, {
      precision: [1, 0.5, 0.4],
      recall: [1 / 3, 1 / 3, 2 / 3],
      hr: [1, 1, 1],
      ndcg: [1, 1 / (1 + LOG3), 1.5 / (1 + LOG3 + LOG4)],
      mrr: [1, 1, 1],
      paperNdcg: [1, 1, 1.5 / (1 + LOG3)],
      paperMrr: [1, 1, 1 + 1 / 3],
    });
  });

  it('no hit: every metric is 0', () => {
    const m = userMetrics([0, 0, 0], 2, [1, 3]);
    for (const values of Object.values(m)) expect(values).toEqual([0, 0]);
  });

  it('all hits: standard metrics 1, paper MRR is the harmonic number', () => {
    const m = userMetrics([1, 1, 1, 1, 1], 5, [5]);
    expectTable(m, {
      precision: [1],
      recall: [1],
      hr: [1],
      ndcg: [1],
      mrr: [1],
      paperNdcg: [1],
      paperMrr: [1 + 1 / 2 + 1 / 3 + 1 / 4 + 1 / 5],
    });
  });

  it('|test| < K: recall over |test|, ideal DCG over min(K, |test|)', () => {
    const m = userMetrics([0, 1, 0, 0, 0, 0, 0, 0, 0, 0], 1, [10]);
    expectTable(m, {
      precision: [0.1],
      recall: [1],
      hr: [1],
      ndcg: [LOG3],
      mrr: [0.5],
      paperNdcg: [LOG3],
      paperMrr: [0.5],
    });
    const both = userMetrics([1, 0, 0, 1], 2, [4]);
    expectTable(both, { ndcg: [(1 + LOG5) / (1 + LOG3)], paperNdcg: [(1 + LOG5) / (1 + LOG3)], paperMrr: [1.25] });
  });

  it('paper NDCG normalises by the hits found, standard NDCG by min(K, |test|)', () => {
    const m = userMetrics([0, 1, 0, 0], 3, [4]);
    expectTable(m, { ndcg: [LOG3 / (1 + LOG3 + LOG4)], paperNdcg: [LOG3], mrr: [0.5], paperMrr: [0.5] });
    // all hits at the top: paper NDCG = 1 however many test items were missed
    expectTable(userMetrics([1, 1, 0, 0, 0], 10, [5]), {
      paperNdcg: [1],
      ndcg: [(1 + LOG3) / (1 + LOG3 + LOG4 + LOG5 + 1 / Math.log2(6))],
    });
  });

  it('a list shorter than K counts the missing positions as misses', () => {
    const acc = new MetricAccumulator([1, 5]);
    acc.add([1, 1, 1, 1, 1], 2, 4); // only the first two positions exist
    expectTable(acc.means(), { precision: [1, 2 / 5], recall: [1 / 4, 2 / 4], paperMrr: [1, 1.5] });
  });

  it('averages over users', () => {
    const acc = new MetricAccumulator([2]);
    acc.add([1, 0], 2, 1);
    acc.add([0, 0], 2, 1);
    acc.add([0, 1], 2, 2);
    expect(acc.users).toBe(3);
    expectTable(acc.means(), { hr: [2 / 3], precision: [(0.5 + 0 + 0.5) / 3], mrr: [(1 + 0 + 0.5) / 3] });
  });

  it('rejects unsorted or empty K lists', () => {
    expect(() => new MetricAccumulator([5, 2])).toThrow(RangeError);
    expect(() => new MetricAccumulator([])).toThrow(RangeError);
  });
});
