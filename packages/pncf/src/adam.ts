/** Adam's constants as PyTorch and tf.train.adam default them, except ε as the reference code sets it. */
export const ADAM_BETA1 = 0.9;
export const ADAM_BETA2 = 0.999;
export const ADAM_EPSILON = 1e-7;

/** The per-step factors of Adam's update at step t (1-based). */
export interface AdamStep {
  learningRate: number;
  /** 1 / (1 − β1^t) and 1 / (1 − β2^t): the bias corrections. */
  firstCorrection: number;
  secondCorrection: number;
}

export function adamStep(learningRate: number, t: number): AdamStep {
  return { learningRate, firstCorrection: 1 / (1 - ADAM_BETA1 ** t), secondCorrection: 1 / (1 - ADAM_BETA2 ** t) };
}

/**
 * One Adam update of w[from, to) from the gradient g at the same indices, moments m and v in place:
 * w −= lr·m̂/(√v̂ + ε), the form tf.train.adam and PyTorch use. The tower's dense parameters and the embedding
 * rows a batch touched (lazy Adam) both go through here, on plain arrays: tens of thousands of numbers a step
 * cost less in a JavaScript loop than the dozen backend ops per parameter an optimizer object issues.
 */
export function adamUpdate(
  w: Float32Array,
  g: Float32Array,
  m: Float32Array,
  v: Float32Array,
  step: AdamStep,
  from = 0,
  to = w.length,
): void {
  const { learningRate, firstCorrection, secondCorrection } = step;
  for (let x = from; x < to; x++) {
    const gradient = g[x]!;
    const first = ADAM_BETA1 * m[x]! + (1 - ADAM_BETA1) * gradient;
    const second = ADAM_BETA2 * v[x]! + (1 - ADAM_BETA2) * gradient * gradient;
    m[x] = first;
    v[x] = second;
    w[x]! -= (learningRate * first * firstCorrection) / (Math.sqrt(second * secondCorrection) + ADAM_EPSILON);
  }
}
