import { Random } from '@pncf/data';
import * as tf from '@tensorflow/tfjs';
import { type AdamStep, adamStep, adamUpdate } from './adam.js';
import { type BatchNormSaved, NativeTowerOps } from './tf-native-ops.js';
import { BATCH_NORM_EPSILON, type TowerWeights } from './tower-weights.js';

export interface StepOptions {
  dropout: number;
  loss: 'mse' | 'bce';
  learningRate: number;
  /** Fine-tune the embedding tables along with the tower (the reference does). */
  fineTuneEmbeddings: boolean;
}

/** PyTorch's BatchNorm1d momentum: running = 0.9·running + 0.1·batch. */
const BN_MOMENTUM = 0.1;

/** A parameter as the optimiser sees it: the weights and their Adam moments, all plain arrays. */
interface Parameter {
  value: Float32Array;
  m: Float32Array;
  v: Float32Array;
}

const parameter = (value: Float32Array): Parameter => ({
  value: value.slice(),
  m: new Float32Array(value.length),
  v: new Float32Array(value.length),
});

interface Layer {
  inputs: number;
  outputs: number;
  kernel: Parameter;
  bias: Parameter;
  gamma: Parameter;
  beta: Parameter;
  runningMean: Float32Array;
  runningVariance: Float32Array;
  /** Dropout mask of the current step, scaled by 1/(1 − p); reused across steps. */
  mask: Float32Array;
}

/** What the backward pass needs of a layer's forward pass (tensors of the current tidy scope). */
interface Saved {
  input: tf.Tensor2D;
  kernel: tf.Tensor2D;
  /** ReLU output before dropout: its sign is the ReLU's derivative. */
  activated: tf.Tensor2D;
  mask?: tf.Tensor2D;
  normalised?: tf.Tensor2D;
  rstd?: tf.Tensor1D;
  gamma?: tf.Tensor1D;
  mean?: tf.Tensor1D;
  /** Biased on the composed path, with Bessel's correction on the native one. */
  variance?: tf.Tensor1D;
  /** Native path: what TensorFlow's fused batch-norm gradient needs. */
  native?: BatchNormSaved;
}

/**
 * Training state of the tower: an explicit forward and backward pass over the whole batch, with every
 * parameter, Adam moment and embedding table in plain arrays. A step is a handful of large backend ops
 * (a fused matmul+bias+ReLU per layer forward, three matmuls and a column sum per layer backward): on
 * tfjs-node each op is one synchronous native call, and with batch norm and dropout a default step is 87 of
 * them instead of the 205 the autodiff tape issued; on wasm the same code runs with explicit transposes. The loss and its gradient at the logits
 * and the Adam updates run in JavaScript: they are O(batch + parameters) and would each be a dozen ops.
 * Embedding rows get a lazy (sparse) Adam from the gradient at the tower's input.
 */
export class TowerTrainer {
  readonly dim: number;
  readonly userVectors: Float32Array;
  readonly itemVectors: Float32Array;
  private readonly layers: Layer[];
  private readonly outKernel: Parameter;
  private readonly outBias: Parameter;
  private readonly batchNorm: boolean;
  private readonly rng: Random;
  /**
   * TensorFlow's fused batch norm, ReLU gradient and plain 2-D matmul, on tfjs-node only. Elsewhere (wasm) the
   * step is composed of tfjs ops, with explicit transposes: wasm's matmul with a transposed operand is 20–100×
   * slower than a transpose plus a plain matmul.
   */
  private readonly native: NativeTowerOps | undefined;
  private input = new Float32Array(0);
  private logitGradient = new Float32Array(0);
  private readonly embeddingState: {
    m: Float32Array;
    v: Float32Array;
    acc: Float32Array;
    stamp: Int32Array;
    touched: Uint32Array;
  }[];
  private steps = 0;

  constructor(
    tower: TowerWeights,
    userVectors: Float32Array,
    itemVectors: Float32Array,
    private readonly options: StepOptions,
    seed: number,
  ) {
    this.dim = tower.dim;
    this.batchNorm = tower.batchNorm;
    this.userVectors = userVectors.slice();
    this.itemVectors = itemVectors.slice();
    this.rng = new Random(seed);
    this.native = NativeTowerOps.ofActiveBackend();
    this.layers = tower.layers.map((l) => ({
      inputs: l.inputs,
      outputs: l.outputs,
      kernel: parameter(l.kernel),
      bias: parameter(l.bias),
      gamma: parameter(l.gamma),
      beta: parameter(l.beta),
      runningMean: l.runningMean.slice(),
      runningVariance: l.runningVariance.slice(),
      mask: new Float32Array(0),
    }));
    this.outKernel = parameter(tower.outKernel);
    this.outBias = parameter(tower.outBias);
    this.embeddingState = [this.userVectors, this.itemVectors].map((table) => {
      const rows = table.length / this.dim;
      return {
        m: new Float32Array(table.length),
        v: new Float32Array(table.length),
        acc: new Float32Array(table.length),
        stamp: new Int32Array(rows).fill(-1),
        touched: new Uint32Array(rows),
      };
    });
  }

  /** One optimisation step on a batch; returns the batch's mean loss. */
  step(users: Uint32Array, items: Uint32Array, labels: Float32Array): number {
    const batch = users.length;
    const d = this.dim;
    const width = 2 * d;
    if (this.input.length < batch * width) this.input = new Float32Array(batch * width);
    const input = this.input.subarray(0, batch * width);
    // Plain loops: a subarray per row would allocate two views per sample.
    const { userVectors, itemVectors } = this;
    for (let s = 0, at = 0; s < batch; s++) {
      for (let x = users[s]! * d, end = x + d; x < end; x++) input[at++] = userVectors[x]!;
      for (let x = items[s]! * d, end = x + d; x < end; x++) input[at++] = itemVectors[x]!;
    }
    if (this.options.dropout > 0) this.drawMasks(batch);
    this.steps++;
    const adam = adamStep(this.options.learningRate, this.steps);
    let loss = 0;
    tf.tidy(() => {
      const saved: Saved[] = [];
      let h = tf.tensor2d(input, [batch, width]);
      for (const layer of this.layers) {
        const step = this.forwardLayer(layer, h, batch);
        saved.push(step);
        h = step.mask ? tf.mul(step.activated, step.mask) : step.activated;
      }
      const outKernel = tf.tensor2d(this.outKernel.value, [this.outKernel.value.length, 1]);
      const logits = this.dense(h, outKernel, tf.tensor1d(this.outBias.value));
      loss = this.lossAndGradient(logits.dataSync() as Float32Array, labels);
      const dLogits = tf.tensor2d(this.logitGradient.subarray(0, batch), [batch, 1]);
      // Every gradient first, then every update: the backend may still read a weight array it was given.
      const gradients: [Parameter, tf.Tensor][] = [
        [this.outKernel, this.matMul(h, dLogits, true, false)],
        [this.outBias, tf.tensor1d([sum(this.logitGradient.subarray(0, batch))])],
      ];
      let dh = this.matMul(dLogits, outKernel, false, true);
      for (let k = this.layers.length - 1; k >= 0; k--) {
        const step = saved[k]!;
        const dz = this.backwardLayer(this.layers[k]!, step, dh, gradients);
        if (k > 0 || this.options.fineTuneEmbeddings) dh = this.matMul(dz, step.kernel, false, true);
      }
      for (const [target, gradient] of gradients) {
        adamUpdate(target.value, gradient.dataSync() as Float32Array, target.m, target.v, adam);
      }
      if (this.options.fineTuneEmbeddings) this.updateEmbeddings(users, items, dh.dataSync() as Float32Array, adam);
    });
    return loss;
  }

  /**
   * Σ over the batch (scale 1) or the batch mean (scale 1/batch) of each column. wasm reduces over axis 0
   * slowly, so there it is one matmul with a row of `scale`s.
   */
  private columnSum(m: tf.Tensor2D, scale = 1): tf.Tensor1D {
    if (this.native) return (scale === 1 ? tf.sum(m, 0) : tf.mean(m, 0)) as tf.Tensor1D;
    return tf.reshape(tf.matMul(tf.fill([1, m.shape[0]], scale), m), [m.shape[1]]);
  }

  /** x·W + b. */
  private dense(x: tf.Tensor2D, kernel: tf.Tensor2D, bias: tf.Tensor1D): tf.Tensor2D {
    if (this.native) return tf.add(this.native.matMul(x, kernel, false, false), bias);
    return tf.fused.matMul({ a: x, b: kernel, bias }) as tf.Tensor2D;
  }

  private matMul(a: tf.Tensor2D, b: tf.Tensor2D, transposeA: boolean, transposeB: boolean): tf.Tensor2D {
    if (this.native) return this.native.matMul(a, b, transposeA, transposeB);
    return tf.matMul(transposeA ? tf.transpose(a) : a, transposeB ? tf.transpose(b) : b);
  }

  private forwardLayer(layer: Layer, input: tf.Tensor2D, batch: number): Saved {
    const kernel = tf.tensor2d(layer.kernel.value, [layer.inputs, layer.outputs]);
    const bias = tf.tensor1d(layer.bias.value);
    const mask =
      this.options.dropout > 0
        ? tf.tensor2d(layer.mask.subarray(0, batch * layer.outputs), [batch, layer.outputs])
        : undefined;
    if (!this.batchNorm) {
      const activated = (
        this.native
          ? tf.relu(this.dense(input, kernel, bias))
          : tf.fused.matMul({ a: input, b: kernel, bias, activation: 'relu' })
      ) as tf.Tensor2D;
      return { input, kernel, activated, mask };
    }
    const z = this.dense(input, kernel, bias);
    const gamma = tf.tensor1d(layer.gamma.value);
    const beta = tf.tensor1d(layer.beta.value);
    if (this.native) {
      const norm = this.native.batchNormTraining(z, gamma, beta, BATCH_NORM_EPSILON);
      const activated = tf.relu(norm.y) as tf.Tensor2D;
      return { input, kernel, activated, mask, gamma, mean: norm.mean, variance: norm.variance, native: norm.saved };
    }
    // Spelled out rather than tf.moments, which adds casts and a second pass: each op is a native call.
    const mean = this.columnSum(z, 1 / batch);
    const centred = tf.sub(z, mean);
    const variance = this.columnSum(tf.square(centred) as tf.Tensor2D, 1 / batch);
    const rstd = tf.rsqrt(tf.add(variance, BATCH_NORM_EPSILON)) as tf.Tensor1D;
    const normalised = tf.mul(centred, rstd) as tf.Tensor2D;
    const activated = tf.relu(tf.add(tf.mul(normalised, gamma), beta)) as tf.Tensor2D;
    return { input, kernel, activated, mask, normalised, rstd, gamma, mean, variance };
  }

  /** Gradients of one layer's parameters (appended) from the gradient at its output; returns dL/dz. */
  private backwardLayer(layer: Layer, step: Saved, dh: tf.Tensor2D, gradients: [Parameter, tf.Tensor][]): tf.Tensor2D {
    const batch = dh.shape[0];
    if (step.mask) dh = tf.mul(dh, step.mask);
    // The ReLU's derivative is the sign of its output (which is ≥ 0): one op, where tf.step is four on tfjs-node.
    const da = this.native
      ? this.native.reluGrad(dh, step.activated)
      : (tf.mul(dh, tf.sign(step.activated)) as tf.Tensor2D);
    let dz = da;
    if (step.native && step.gamma) {
      const grads = this.native!.batchNormGrad(da, step.native, step.gamma, BATCH_NORM_EPSILON);
      dz = grads.dz;
      gradients.push([layer.gamma, grads.dGamma], [layer.beta, grads.dBeta]);
      this.updateRunningStats(layer, step.mean!, step.variance!, batch, true);
    } else if (step.normalised && step.rstd && step.gamma) {
      // dz = (1/σ̂)·(dẑ − mean(dẑ) − ẑ·mean(dẑ·ẑ)), dẑ = γ·da; γ and β get Σ da·ẑ and Σ da.
      const dNormalised = tf.mul(da, step.gamma);
      const centred = tf.sub(dNormalised, this.columnSum(dNormalised as tf.Tensor2D, 1 / batch));
      const along = this.columnSum(tf.mul(dNormalised, step.normalised) as tf.Tensor2D, 1 / batch);
      dz = tf.mul(tf.sub(centred, tf.mul(step.normalised, along)), step.rstd);
      gradients.push(
        [layer.gamma, this.columnSum(tf.mul(da, step.normalised) as tf.Tensor2D)],
        [layer.beta, this.columnSum(da)],
      );
      this.updateRunningStats(layer, step.mean!, step.variance!, batch);
    }
    gradients.push([layer.kernel, this.matMul(step.input, dz, true, false)], [layer.bias, this.columnSum(dz)]);
    return dz;
  }

  /**
   * The batch's mean loss from the logits, and dLoss/dlogit into logitGradient. BCE is
   * tf.losses.sigmoidCrossEntropy's stable form, max(l,0) − l·y + log(1 + e^−|l|); MSE is on sigmoid(l).
   */
  private lossAndGradient(logits: Float32Array, labels: Float32Array): number {
    const batch = logits.length;
    if (this.logitGradient.length < batch) this.logitGradient = new Float32Array(batch);
    const gradient = this.logitGradient;
    let total = 0;
    for (let s = 0; s < batch; s++) {
      const l = logits[s]!;
      const y = labels[s]!;
      const p = 1 / (1 + Math.exp(-l));
      if (this.options.loss === 'bce') {
        total += Math.max(l, 0) - l * y + Math.log1p(Math.exp(-Math.abs(l)));
        gradient[s] = (p - y) / batch;
      } else {
        total += (p - y) * (p - y);
        gradient[s] = (2 * (p - y) * p * (1 - p)) / batch;
      }
    }
    return total / batch;
  }

  /** Inverted dropout: keep with probability 1 − p and scale by 1/(1 − p), as tf.dropout and PyTorch do. */
  private drawMasks(batch: number): void {
    const keep = 1 - this.options.dropout;
    for (const layer of this.layers) {
      const size = batch * layer.outputs;
      if (layer.mask.length < size) layer.mask = new Float32Array(size + 1);
      fillDropoutMask(layer.mask, size, keep, this.rng.nextU32());
    }
  }

  private updateRunningStats(
    layer: Layer,
    mean: tf.Tensor1D,
    variance: tf.Tensor1D,
    batch: number,
    unbiased = false,
  ): void {
    // Running variance uses the unbiased batch variance, as PyTorch does.
    const unbias = unbiased || batch <= 1 ? 1 : batch / (batch - 1);
    const mu = mean.dataSync();
    const sigma2 = variance.dataSync();
    for (let o = 0; o < layer.outputs; o++) {
      layer.runningMean[o] = (1 - BN_MOMENTUM) * layer.runningMean[o]! + BN_MOMENTUM * mu[o]!;
      layer.runningVariance[o] = (1 - BN_MOMENTUM) * layer.runningVariance[o]! + BN_MOMENTUM * unbias * sigma2[o]!;
    }
  }

  /** Lazy Adam: only rows seen in the batch move; duplicate rows in a batch have their gradients summed first. */
  private updateEmbeddings(users: Uint32Array, items: Uint32Array, gradient: Float32Array, adam: AdamStep): void {
    const d = this.dim;
    const width = 2 * d;
    const t = this.steps;
    const sides = [
      { rows: users, table: this.userVectors, state: this.embeddingState[0]!, column: 0 },
      { rows: items, table: this.itemVectors, state: this.embeddingState[1]!, column: d },
    ];
    for (const { rows, table, state, column } of sides) {
      const { m, v, acc, stamp, touched } = state;
      let n = 0;
      for (let s = 0; s < rows.length; s++) {
        const r = rows[s]!;
        if (stamp[r] !== t) {
          stamp[r] = t;
          touched[n++] = r;
          acc.fill(0, r * d, r * d + d);
        }
        const g = s * width + column;
        for (let x = 0; x < d; x++) acc[r * d + x]! += gradient[g + x]!;
      }
      for (let k = 0; k < n; k++) adamUpdate(table, acc, m, v, adam, touched[k]! * d, touched[k]! * d + d);
    }
  }

  /** Current weights as plain arrays (copies), for scoring, early-stopping snapshots and artifacts. */
  weights(): { tower: TowerWeights; userVectors: Float32Array; itemVectors: Float32Array } {
    const tower: TowerWeights = {
      dim: this.dim,
      batchNorm: this.batchNorm,
      layers: this.layers.map((l) => ({
        inputs: l.inputs,
        outputs: l.outputs,
        kernel: l.kernel.value.slice(),
        bias: l.bias.value.slice(),
        gamma: l.gamma.value.slice(),
        beta: l.beta.value.slice(),
        runningMean: l.runningMean.slice(),
        runningVariance: l.runningVariance.slice(),
      })),
      outKernel: this.outKernel.value.slice(),
      outBias: this.outBias.value.slice(),
    };
    return { tower, userVectors: this.userVectors.slice(), itemVectors: this.itemVectors.slice() };
  }

  /** Nothing to release: every tensor lives inside one step's tidy scope. */
  dispose(): void {}
}

function sum(values: Float32Array): number {
  let total = 0;
  for (let k = 0; k < values.length; k++) total += values[k]!;
  return total;
}

/**
 * mask[0, size) = 1/keep with probability keep, else 0 (inverted dropout). Two draws per number, one from each
 * 16-bit half (keep is honoured to 1/65536), from an xorshift32 held in a local: a step draws hundreds of
 * thousands, and a generator method call per draw was a fifth of the step's time.
 */
export function fillDropoutMask(mask: Float32Array, size: number, keep: number, seed: number): void {
  const threshold = Math.round(keep * 65536);
  const scale = 1 / keep;
  let state = seed | 0 || 1;
  for (let k = 0; k < size; k += 2) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    mask[k] = (state & 0xffff) < threshold ? scale : 0;
    if (k + 1 < size) mask[k + 1] = state >>> 16 < threshold ? scale : 0;
  }
}
