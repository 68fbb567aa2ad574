export interface GateInput {
  /** The candidate's metric on the holdout. */
  candidate: number;
  /** The current model's metric on the same holdout, undefined when there is no current model. */
  current: number | undefined;
  tolerance: number;
}

export interface GateDecision {
  publish: boolean;
  reason: string;
}

/** Publish a new model unless it is worse than the serving one by more than the tolerance. */
export function gate({ candidate, current, tolerance }: GateInput): GateDecision {
  if (!Number.isFinite(candidate)) return { publish: false, reason: `candidate metric is ${candidate}` };
  if (current === undefined) return { publish: true, reason: 'no current model' };
  if (candidate >= current - tolerance) {
    return { publish: true, reason: `${candidate.toFixed(4)} ≥ ${current.toFixed(4)} − ${tolerance}` };
  }
  return { publish: false, reason: `${candidate.toFixed(4)} < ${current.toFixed(4)} − ${tolerance}` };
}
