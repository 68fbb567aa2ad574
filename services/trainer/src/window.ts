import { type Interactions, indexOfIds, partitionByMask } from '@pncf/data';
import { type Evaluation, evaluateModel, type MetricName, type Recommender, userMetrics } from '@pncf/evaluation';

/**
 * The gate's evaluation window: the pairs first seen (store sequence, `StoreSnapshot.firstSeen`) after the serving
 * model's snapshot, so that neither the serving model (trained on its snapshot) nor the candidate (fitted on the
 * pairs before the window) has trained on them. The question the window asks is the product's: which items will
 * each user adopt next.
 */
export interface WindowPlan {
  /** The serving model's `snapshotSequence` S. */
  incumbentSequence: number;
  /** The window holds the pairs first seen after this sequence (exclusive; ≥ S). */
  from: number;
  /** The snapshot's sequence (inclusive). */
  to: number;
  /** Pairs first seen ≤ `from`, with their current counts: the candidate's fit data, and what both models exclude. */
  before: Interactions;
  /** The ground truth: window pairs of users both models know, on items with a pair before the window (count 1). */
  truth: Interactions;
  /** 1 for items with a pair before the window: the items either model may rank. */
  rankable: Uint8Array;
  stats: WindowStats;
}

export interface WindowStats {
  /** Pairs first seen in (from, to], and their distinct users. */
  pairs: number;
  users: number;
  /** Window pairs left out of the ground truth, by reason (each pair counted once, in this order). */
  dropped: {
    /** The user has no pair before the window: a new user (cold start in serving), not evaluated. */
    newUsers: number;
    /** The user has earlier pairs, but the serving model does not know them (first seen between S and `from`). */
    unknownToIncumbent: number;
    /** The item has no pair before the window: neither model can rank it. */
    newItems: number;
  };
  /** What is left for a decision: users with at least one ground-truth pair, and those pairs. */
  evaluable: { users: number; pairs: number };
}

/**
 * Where the window starts: after S, the serving model's snapshot sequence, or later when the pairs first seen
 * after S are more than `maxShare` of all pairs. Then the window is the newest whole write transactions holding at
 * least ⌈maxShare · pairs⌉ pairs, and the candidate also fits on the pairs between S and the window (more data
 * than the serving model had: the point of retraining). maxShare ≥ 1: always right after S.
 */
export function windowStart(firstSeen: ArrayLike<number>, incumbentSequence: number, maxShare: number): number {
  const n = firstSeen.length;
  const target = Math.ceil(maxShare * n);
  if (maxShare >= 1 || target <= 0 || target >= n) return incumbentSequence;
  const sorted = Float64Array.from(firstSeen).sort();
  // Every pair first seen at or after the target-th newest pair's sequence: at least `target` pairs.
  return Math.max(incumbentSequence, sorted[n - target]! - 1);
}

export interface WindowOptions {
  incumbentSequence: number;
  /** The serving model's user ids: only users it knows are evaluated. */
  incumbentUserIds: readonly string[];
  /** GATE_WINDOW_MAX_SHARE (see windowStart). */
  maxShare: number;
  /** The snapshot's sequence. */
  sequence: number;
}

/** Split a snapshot (`data` with `firstSeen` aligned with its byUser entries) into the fit part and the window. */
export function planWindow(data: Interactions, firstSeen: ArrayLike<number>, options: WindowOptions): WindowPlan {
  const { byUser } = data;
  if (firstSeen.length !== byUser.indices.length) throw new RangeError('firstSeen must be aligned with data.byUser');
  const from = windowStart(firstSeen, options.incumbentSequence, options.maxShare);
  const inWindow = new Uint8Array(firstSeen.length);
  for (let k = 0; k < firstSeen.length; k++) inWindow[k] = firstSeen[k]! > from ? 1 : 0;
  const { rest: before, selected: window } = partitionByMask(data, inWindow);

  const rankable = new Uint8Array(byUser.cols);
  for (let i = 0; i < byUser.cols; i++) rankable[i] = before.byItem.indptr[i + 1]! > before.byItem.indptr[i]! ? 1 : 0;
  const incumbentUsers = indexOfIds(options.incumbentUserIds);
  const stats: WindowStats = {
    pairs: 0,
    users: 0,
    dropped: { newUsers: 0, unknownToIncumbent: 0, newItems: 0 },
    evaluable: { users: 0, pairs: 0 },
  };
  const truthMask = new Uint8Array(window.byUser.indices.length);
  const w = window.byUser;
  for (let u = 0; u < w.rows; u++) {
    const start = w.indptr[u]!;
    const end = w.indptr[u + 1]!;
    if (end === start) continue;
    stats.pairs += end - start;
    stats.users++;
    if (before.byUser.indptr[u + 1] === before.byUser.indptr[u]) {
      stats.dropped.newUsers += end - start;
      continue;
    }
    if (!incumbentUsers.has(data.userIds[u]!)) {
      stats.dropped.unknownToIncumbent += end - start;
      continue;
    }
    let kept = 0;
    for (let p = start; p < end; p++) {
      if (rankable[w.indices[p]!]) {
        truthMask[p] = 1;
        kept++;
      } else stats.dropped.newItems++;
    }
    if (kept > 0) {
      stats.evaluable.users++;
      stats.evaluable.pairs += kept;
    }
  }
  const truth = partitionByMask(window, truthMask).selected;
  // Binary adoption: a window pair is one adoption whatever its count.
  truth.byUser.counts.fill(1);
  truth.byItem.counts.fill(1);
  return { incumbentSequence: options.incumbentSequence, from, to: options.sequence, before, truth, rankable, stats };
}

export interface PerUserEvaluation extends Evaluation {
  /** Evaluated users in index order, and each one's value of the chosen metric@K (aligned). */
  evaluatedUsers: Uint32Array;
  values: Float64Array;
}

/**
 * The harness's full-ranking evaluation (`evaluateModel`: the user's `train` items excluded, the one top-K) with,
 * besides the means at `ks`, each user's value of `metric@k` from the one metric implementation (`userMetrics`),
 * for paired comparisons. `k` need not be one of `ks`.
 */
export async function evaluatePerUser(
  model: Recommender,
  train: Interactions,
  test: Interactions,
  options: { ks: readonly number[]; metric: MetricName; k: number },
): Promise<PerUserEvaluation> {
  const { metric, k } = options;
  const users: number[] = [];
  const values: number[] = [];
  const evaluation = await evaluateModel(model, train, test, {
    ks: options.ks,
    listLength: k,
    onRanking: (user, _items, length, hits, testItems) => {
      users.push(user);
      values.push(userMetrics(hits.subarray(0, Math.min(k, length)), testItems, [k])[metric][0]!);
    },
  });
  return { ...evaluation, evaluatedUsers: Uint32Array.from(users), values: Float64Array.from(values) };
}
