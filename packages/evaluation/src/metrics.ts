/**
 * Top-K metrics for one user's ranked list, in two flavours:
 * - standard: precision = hits/K, recall = hits/|test|, HR = 1[hits > 0],
 *   NDCG with binary gains and ideal DCG over min(K, |test|), MRR = 1/rank of the first hit;
 * - paper (the PNCF reference code and daisyRec v1): NDCG whose ideal DCG is built from the hits found in
 *   the top K (so all-hits-at-the-top scores 1 however many test items were missed), and MRR as the sum of
 *   the reciprocal ranks of all hits in the top K (can exceed 1).
 * Precision, recall and HR are the same in both.
 */
export const METRICS = ['precision', 'recall', 'hr', 'ndcg', 'mrr', 'paperNdcg', 'paperMrr'] as const;
export type MetricName = (typeof METRICS)[number];

export const METRIC_LABELS: Record<MetricName, string> = {
  precision: 'Precision',
  recall: 'Recall',
  hr: 'HR',
  ndcg: 'NDCG',
  mrr: 'MRR',
  paperNdcg: 'NDCG (paper)',
  paperMrr: 'MRR (paper)',
};

export const DEFAULT_KS: readonly number[] = [1, 2, 5, 10, 20, 50];

/** discount[j] = 1/log2(j + 2): the gain of a hit at 0-based rank j. */
function discounts(n: number): Float64Array {
  const d = new Float64Array(n);
  for (let j = 0; j < n; j++) d[j] = 1 / Math.log2(j + 2);
  return d;
}

/**
 * Accumulates per-user metrics into sums laid out [metric][k] (index m·ks.length + k), so averaging over
 * users is one division at the end. Allocation happens once, not per user.
 */
export class MetricAccumulator {
  readonly ks: readonly number[];
  readonly maxK: number;
  readonly sums: Float64Array;
  users = 0;
  private readonly discount: Float64Array;
  private readonly idealPrefix: Float64Array; // idealPrefix[h] = Σ_{j<h} discount[j]

  constructor(ks: readonly number[] = DEFAULT_KS) {
    if (ks.length === 0) throw new RangeError('at least one K is needed');
    for (let j = 1; j < ks.length; j++)
      if (!(ks[j]! > ks[j - 1]!)) throw new RangeError('Ks must be strictly increasing');
    if (!(ks[0]! >= 1)) throw new RangeError('K must be ≥ 1');
    this.ks = ks;
    this.maxK = ks[ks.length - 1]!;
    this.sums = new Float64Array(METRICS.length * ks.length);
    this.discount = discounts(this.maxK);
    this.idealPrefix = new Float64Array(this.maxK + 1);
    for (let j = 0; j < this.maxK; j++) this.idealPrefix[j + 1] = this.idealPrefix[j]! + this.discount[j]!;
  }

  /**
   * Add one user. `hits[j]` is 1 if the item at 0-based rank j is a test item of the user; entries at or
   * beyond `length` (a list shorter than max K) count as misses. `testSize` = |test items of the user| ≥ 1.
   */
  add(hits: ArrayLike<number>, length: number, testSize: number): void {
    const { ks, sums, discount, idealPrefix } = this;
    const nk = ks.length;
    let found = 0;
    let dcg = 0;
    let firstRr = 0;
    let rrSum = 0;
    let k = 0;
    for (let j = 0; j < this.maxK; j++) {
      if (j < length && hits[j]) {
        found++;
        dcg += discount[j]!;
        rrSum += 1 / (j + 1);
        if (firstRr === 0) firstRr = 1 / (j + 1);
      }
      if (j + 1 === ks[k]) {
        const K = j + 1;
        sums[0 * nk + k]! += found / K;
        sums[1 * nk + k]! += found / testSize;
        sums[2 * nk + k]! += found > 0 ? 1 : 0;
        sums[3 * nk + k]! += dcg / idealPrefix[Math.min(K, testSize)]!;
        sums[4 * nk + k]! += firstRr;
        sums[5 * nk + k]! += found > 0 ? dcg / idealPrefix[found]! : 0;
        sums[6 * nk + k]! += rrSum;
        k++;
      }
    }
    this.users++;
  }

  /** Means over the users added so far, as metric → values per K (aligned with `ks`). */
  means(): MetricTable {
    const nk = this.ks.length;
    const table = {} as MetricTable;
    METRICS.forEach((metric, m) => {
      table[metric] = Array.from({ length: nk }, (_, k) => (this.users > 0 ? this.sums[m * nk + k]! / this.users : 0));
    });
    return table;
  }
}

/** metric → value at each K of the accompanying `ks`. */
export type MetricTable = Record<MetricName, number[]>;

/** All metrics of a single ranked hit list (convenience for tests and spot checks). */
export function userMetrics(
  hits: ArrayLike<number>,
  testSize: number,
  ks: readonly number[] = DEFAULT_KS,
): MetricTable {
  const acc = new MetricAccumulator(ks);
  acc.add(hits, hits.length, testSize);
  return acc.means();
}
