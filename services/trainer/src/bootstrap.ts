import { Random } from '@pncf/data';

/** A mean with its bootstrap interval. */
export interface Estimate {
  mean: number;
  low: number;
  high: number;
}

/** The paired comparison of two models on the same users (per-user values of one metric). */
export interface PairedComparison {
  users: number;
  resamples: number;
  /** Coverage of the intervals (0.95: the 2.5 % and 97.5 % percentiles). */
  level: number;
  seed: number;
  candidate: Estimate;
  incumbent: Estimate;
  /** candidate − incumbent, user by user. */
  difference: Estimate;
}

export interface BootstrapOptions {
  seed: number;
  resamples?: number;
  level?: number;
}

export const BOOTSTRAP_RESAMPLES = 1000;
export const BOOTSTRAP_LEVEL = 0.95;

/** The q-quantile of ascending `sorted` with linear interpolation between order statistics (R's type 7). */
export function quantile(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (n === 0) throw new RangeError('quantile of nothing');
  const h = (n - 1) * Math.min(1, Math.max(0, q));
  const lo = Math.floor(h);
  const hi = Math.min(n - 1, lo + 1);
  return sorted[lo]! + (h - lo) * (sorted[hi]! - sorted[lo]!);
}

const mean = (values: ArrayLike<number>): number => {
  let sum = 0;
  for (let j = 0; j < values.length; j++) sum += values[j]!;
  return sum / values.length;
};

/**
 * Paired percentile bootstrap over users: `candidate[j]` and `incumbent[j]` are the same user's metric under the
 * two models. Each resample draws n users with replacement (seeded, @pncf/data's Random) and takes both models'
 * means and the mean difference over the SAME drawn users, so what the users have in common (some are simply
 * easier to predict) cancels in the difference. Same inputs and seed → same intervals.
 */
export function pairedBootstrap(
  candidate: ArrayLike<number>,
  incumbent: ArrayLike<number>,
  options: BootstrapOptions,
): PairedComparison {
  const n = candidate.length;
  if (n !== incumbent.length) throw new RangeError(`paired values differ in length: ${n} vs ${incumbent.length}`);
  if (n === 0) throw new RangeError('a paired bootstrap needs at least one user');
  const resamples = options.resamples ?? BOOTSTRAP_RESAMPLES;
  const level = options.level ?? BOOTSTRAP_LEVEL;
  if (!(resamples >= 1) || !(level > 0 && level < 1)) throw new RangeError('resamples ≥ 1 and level in (0, 1)');
  const rng = new Random(options.seed);
  const a = new Float64Array(resamples);
  const b = new Float64Array(resamples);
  const d = new Float64Array(resamples);
  for (let r = 0; r < resamples; r++) {
    let sa = 0;
    let sb = 0;
    for (let j = 0; j < n; j++) {
      const at = rng.int(n);
      sa += candidate[at]!;
      sb += incumbent[at]!;
    }
    a[r] = sa / n;
    b[r] = sb / n;
    d[r] = (sa - sb) / n;
  }
  const tail = (1 - level) / 2;
  const estimate = (values: ArrayLike<number>, resampled: Float64Array): Estimate => {
    resampled.sort();
    return { mean: mean(values), low: quantile(resampled, tail), high: quantile(resampled, 1 - tail) };
  };
  const differences = Float64Array.from({ length: n }, (_, j) => candidate[j]! - incumbent[j]!);
  return {
    users: n,
    resamples,
    level,
    seed: options.seed,
    candidate: estimate(candidate, a),
    incumbent: estimate(incumbent, b),
    difference: estimate(differences, d),
  };
}
