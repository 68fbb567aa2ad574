import type { PairedComparison } from './bootstrap.js';

export interface GateInput {
  /** The candidate's metric on the holdout. */
  candidate: number;
  /** The current model's metric on the same holdout, undefined when there is no current model. */
  current: number | undefined;
  tolerance: number;
}

/** Which rule decided: the decision's kind, for metadata and dashboards (the reason says it in words). */
export type GateRule =
  | 'no-incumbent'
  | 'window-too-small'
  | 'within-tolerance'
  | 'worse-beyond-tolerance'
  | 'invalid-candidate';

export interface GateDecision {
  publish: boolean;
  rule: GateRule;
  reason: string;
}

/**
 * Point comparison of two means: publish unless the candidate is worse than the serving model by more than the
 * tolerance. Used only where there is no paired window (the first model, with no current model to compare with).
 */
export function gate({ candidate, current, tolerance }: GateInput): GateDecision {
  // The first model publishes whatever its holdout shows (even none): there is nothing to fall back to.
  if (current === undefined) return { publish: true, rule: 'no-incumbent', reason: 'no current model' };
  if (!Number.isFinite(candidate)) {
    return { publish: false, rule: 'invalid-candidate', reason: `candidate metric is ${candidate}` };
  }
  if (candidate >= current - tolerance) {
    return {
      publish: true,
      rule: 'within-tolerance',
      reason: `${candidate.toFixed(4)} ≥ ${current.toFixed(4)} − ${tolerance}`,
    };
  }
  return {
    publish: false,
    rule: 'worse-beyond-tolerance',
    reason: `${candidate.toFixed(4)} < ${current.toFixed(4)} − ${tolerance}`,
  };
}

export interface WindowGateInput {
  /** The paired bootstrap over the evaluated users; undefined when no user could be evaluated. */
  comparison: PairedComparison | undefined;
  /** Users and ground-truth pairs the window offers for a decision (before the TRAIN_EVAL_USERS sample). */
  users: number;
  pairs: number;
  minUsers: number;
  minPairs: number;
  tolerance: number;
  /** E.g. "recall@10", for the reason. */
  label?: string;
}

const signed = (x: number) => `${x >= 0 ? '+' : '−'}${Math.abs(x).toFixed(4)}`;

/**
 * The gate on the future: both models were judged on the same users' adoptions after the serving model's
 * snapshot. Below the minimum window there is no decision on noise: the candidate is published and the reason says
 * the window was too small. Otherwise the candidate is rejected only when the whole bootstrap interval of
 * (candidate − serving) lies below −tolerance, i.e. when it is worse by more than the tolerance beyond reasonable
 * doubt (one-sided 97.5 % with the 95 % interval); a difference that noise could explain publishes.
 */
export function windowGate(input: WindowGateInput): GateDecision {
  const { comparison, users, pairs, minUsers, minPairs, tolerance } = input;
  const label = input.label ?? 'metric';
  if (users < minUsers || pairs < minPairs) {
    const short = users < minUsers ? `${users} users < GATE_MIN_WINDOW_USERS ${minUsers}` : '';
    const few = pairs < minPairs ? `${pairs} pairs < GATE_MIN_WINDOW_PAIRS ${minPairs}` : '';
    return {
      publish: true,
      rule: 'window-too-small',
      reason: `window too small for a decision (${[short, few].filter(Boolean).join(', ')}): published without one`,
    };
  }
  if (!comparison || !Number.isFinite(comparison.candidate.mean)) {
    return { publish: false, rule: 'invalid-candidate', reason: `candidate ${label} is ${comparison?.candidate.mean}` };
  }
  const { difference, level } = comparison;
  const interval = `${label} difference ${signed(difference.mean)}, ${Math.round(level * 100)} % interval [${signed(
    difference.low,
  )}, ${signed(difference.high)}] over ${comparison.users} users`;
  if (difference.high < -tolerance) {
    return {
      publish: false,
      rule: 'worse-beyond-tolerance',
      reason: `candidate worse beyond the tolerance: ${interval} lies below −${tolerance}`,
    };
  }
  return { publish: true, rule: 'within-tolerance', reason: `${interval}: its upper end is not below −${tolerance}` };
}

/**
 * A candidate whose training loss became non-finite is broken whatever its ranking shows (the one top-K drops NaN
 * scores, so a NaN model ranks nothing and scores a finite 0): rejected on every path, the first model's and a
 * too-small window's included.
 */
export function divergedCandidate(history: readonly { epoch: number; loss: number }[]): GateDecision | undefined {
  const bad = history.find((record) => !Number.isFinite(record.loss));
  if (!bad) return undefined;
  return {
    publish: false,
    rule: 'invalid-candidate',
    reason: `the fit diverged: training loss ${bad.loss} at epoch ${bad.epoch + 1}`,
  };
}
