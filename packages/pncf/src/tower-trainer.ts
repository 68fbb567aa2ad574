import { Random } from '@pncf/data';
import * as tf from '@tensorflow/tfjs';
import { adamStep, adamUpdate } from './adam.js';
import { type BatchNormSaved, NativeTowerOps } from './tf-native-ops.js';
import { TowerKernel } from './tower-wasm.js';
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
}

/** What the backward pass needs of a layer's forward pass (tensors of the current tidy scope). */
interface Saved {
  input: tf.Tensor;
  kernel: tf.Tensor2D;
  /**
   * The layer's output after ReLU and dropout: its sign is the derivative of both (dropout's scale is folded
   * into the gradient arriving from above). The last hidden layer has none: the kernel applies its ReLU and
   * dropout along with the output layer, from `preActivation`.
   */
  output?: tf.Tensor;
  preActivation: tf.Tensor;
  normalised?: tf.Tensor;
  rstd?: tf.Tensor1D;
  gamma?: tf.Tensor1D;
  mean?: tf.Tensor1D;
  /** Biased on the composed path, with Bessel's correction on the native one. */
  variance?: tf.Tensor1D;
  /** Native path: what TensorFlow's fused batch-norm gradient needs. */
  native?: BatchNormSaved;
}

/**
 * Training state of the tower: an explicit forward and backward pass over the whole batch, with every dense
 * parameter and Adam moment in plain arrays and the embedding tables in the SIMD kernel's memory (tower-wasm.ts).
 * The hidden layers are backend ops: per layer a matmul, batch norm, ReLU and dropout forward, and ReLU-and-
 * dropout's gradient, batch norm's gradient and two matmuls backward. On tfjs-node each is one synchronous native
 * call, 13 a step for the default tower (87 with reshapes and bias ops, 205 on the autodiff tape, before); on
 * wasm the same code runs composed of tfjs ops, with explicit transposes. The kernel does what costs the backend
 * more in calls than in arithmetic: the batch's embedding rows, the dropout masks, the last hidden layer's ReLU and
 * dropout with the one-column output layer, forward and backward, and the lazy (sparse) Adam on the embedding rows
 * the batch touched. The loss and its gradient at the logits and the dense Adam updates run in JavaScript:
 * O(batch + parameters).
 */
export class TowerTrainer {
  readonly dim: number;
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
  /** The embedding tables with their Adam state, the batch's input rows and the dropout masks. */
  private readonly kernel: TowerKernel;
  /** The current step's dropout mask of each layer, scaled by 1/(1 − p): views into the kernel's memory. */
  private masks: Float32Array[] = [];
  private logitGradient = new Float32Array(0);
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
    }));
    this.outKernel = parameter(tower.outKernel);
    this.outBias = parameter(tower.outBias);
    const maskWidths = options.dropout > 0 ? tower.layers.map((l) => l.outputs) : [];
    this.kernel = new TowerKernel(userVectors, itemVectors, this.dim, maskWidths, tower.outKernel.length);
  }

  /** One optimisation step on a batch; returns the batch's mean loss. */
  step(users: Uint32Array, items: Uint32Array, labels: Float32Array): number {
    const batch = users.length;
    const width = 2 * this.dim;
    const input = this.kernel.gather(users, items);
    const dropout = this.options.dropout > 0;
    if (dropout) {
      const keep = 1 - this.options.dropout;
      this.masks = this.layers.map((_, k) => this.kernel.mask(k, batch, keep, this.rng.nextU32()));
    }
    this.steps++;
    const adam = adamStep(this.options.learningRate, this.steps);
    let loss = 0;
    tf.tidy(() => {
      const saved: Saved[] = [];
      let h = this.activation(input, batch, width);
      const depth = this.layers.length;
      for (const [k, layer] of this.layers.entries()) {
        const step = this.forwardLayer(layer, k, h, batch, k === depth - 1);
        saved.push(step);
        if (step.output) h = step.output;
      }
      // The output layer (width → 1) in the kernel, with the last hidden layer's ReLU and dropout: three matmuls
      // of one column and three elementwise ops, which cost the backend a native call and a thread-pool dispatch
      // apiece for a few hundred thousand multiply-adds.
      const last = this.outKernel.value.length;
      const logits = this.kernel.outputLogits(
        (depth > 0 ? saved[depth - 1]!.preActivation : h).dataSync() as Float32Array,
        batch,
        this.outKernel.value,
        this.outBias.value[0]!,
        depth > 0 ? { ...(dropout ? { mask: depth - 1 } : {}) } : undefined,
      );
      loss = this.lossAndGradient(logits, labels);
      // With dropout, the gradient reaching a layer's output is taken through kernels scaled by 1/keep: that is
      // dropout's scale, so ReLU-and-dropout's derivative is the sign of the dropped output alone.
      const output = this.kernel.outputGradients(
        this.logitGradient,
        batch,
        dropout ? 1 / (1 - this.options.dropout) : 1,
      );
      // Every gradient first, then every update: the backend may still read a weight array it was given.
      const gradients: [Parameter, Float32Array | tf.Tensor][] = [
        [this.outKernel, output.kernel],
        [this.outBias, Float32Array.of(sum(this.logitGradient.subarray(0, batch)))],
      ];
      // The last hidden layer's gradient arrives through its ReLU and dropout already.
      let dh = this.activation(output.hidden, batch, last);
      for (let k = depth - 1; k >= 0; k--) {
        const step = saved[k]!;
        const layer = this.layers[k]!;
        const dz = this.backwardLayer(layer, step, dh, gradients, k === depth - 1);
        if (k > 0 || this.options.fineTuneEmbeddings) {
          const kernel = dropout && k > 0 ? this.scaledKernel(layer.kernel, layer.outputs) : step.kernel;
          dh = this.matMul(dz, kernel, false, true);
        }
      }
      for (const [target, gradient] of gradients) {
        const values = gradient instanceof Float32Array ? gradient : (gradient.dataSync() as Float32Array);
        adamUpdate(target.value, values, target.m, target.v, adam);
      }
      if (this.options.fineTuneEmbeddings) {
        this.kernel.updateEmbeddings(dh.dataSync() as Float32Array, batch, this.steps, adam);
      }
    });
    return loss;
  }

  /** A batch × width array as the backend's ops take it (1 × 1 × batch × width on tfjs-node). */
  private activation(values: Float32Array, batch: number, width: number): tf.Tensor {
    return this.native ? this.native.activation(values, batch, width) : tf.tensor2d(values, [batch, width]);
  }

  /** A kernel times 1/keep, as a tensor: what carries the gradient through a dropout layer below it. */
  private scaledKernel(kernel: Parameter, outputs: number): tf.Tensor2D {
    const scale = 1 / (1 - this.options.dropout);
    return tf.tensor2d(
      kernel.value.map((w) => w * scale),
      [kernel.value.length / outputs, outputs],
    );
  }

  /**
   * Σ over the batch of each column. wasm reduces over axis 0 slowly, so there it is one matmul with a row of
   * `scale`s (1/batch gives the mean).
   */
  private columnSum(m: tf.Tensor, scale = 1): tf.Tensor1D {
    const columns = m.shape[m.rank - 1]!;
    if (this.native) return tf.reshape(tf.sum(m, [0, 1, 2]), [columns]);
    return tf.reshape(tf.matMul(tf.fill([1, m.shape[0]!], scale), m as tf.Tensor2D), [columns]);
  }

  private matMul(a: tf.Tensor, b: tf.Tensor, transposeA: boolean, transposeB: boolean): tf.Tensor {
    if (this.native) return this.native.matMul(a, b, transposeA, transposeB);
    return tf.matMul(
      (transposeA ? tf.transpose(a) : a) as tf.Tensor2D,
      (transposeB ? tf.transpose(b) : b) as tf.Tensor2D,
    );
  }

  /**
   * With batch norm the layer's bias is left out: the normalisation subtracts it again, so it changes neither
   * the output nor the loss, and its gradient is zero (in floats, rounding noise that Adam would amplify into
   * steps of the full learning rate). It stays as it is and enters the running mean, so inference, which adds
   * it, normalises the same numbers.
   */
  private forwardLayer(layer: Layer, k: number, input: tf.Tensor, batch: number, last: boolean): Saved {
    const kernel = tf.tensor2d(layer.kernel.value, [layer.inputs, layer.outputs]);
    let y: tf.Tensor;
    let saved: Omit<Saved, 'output' | 'preActivation'> = { input, kernel };
    if (!this.batchNorm) {
      const bias = tf.tensor1d(layer.bias.value);
      if (!last && !this.native) {
        // One fused op on wasm; its output is the layer's (before dropout).
        const activated = tf.fused.matMul({ a: input as tf.Tensor2D, b: kernel, bias, activation: 'relu' });
        return { ...saved, preActivation: activated, output: this.dropped(activated, k, batch) };
      }
      y = this.native
        ? tf.add(this.native.matMul(input, kernel, false, false), bias)
        : tf.fused.matMul({ a: input as tf.Tensor2D, b: kernel, bias });
    } else {
      const z = this.matMul(input, kernel, false, false);
      const gamma = tf.tensor1d(layer.gamma.value);
      const beta = tf.tensor1d(layer.beta.value);
      if (this.native) {
        const norm = this.native.batchNormTraining(z, gamma, beta, BATCH_NORM_EPSILON);
        y = norm.y;
        saved = { ...saved, gamma, mean: norm.mean, variance: norm.variance, native: norm.saved };
      } else {
        // Spelled out rather than tf.moments, which adds casts and a second pass: each op is a backend call.
        const mean = this.columnSum(z, 1 / batch);
        const centred = tf.sub(z, mean);
        const variance = this.columnSum(tf.square(centred), 1 / batch);
        const rstd = tf.rsqrt(tf.add(variance, BATCH_NORM_EPSILON)) as tf.Tensor1D;
        const normalised = tf.mul(centred, rstd);
        y = tf.add(tf.mul(normalised, gamma), beta);
        saved = { ...saved, normalised, rstd, gamma, mean, variance };
      }
    }
    if (last) return { ...saved, preActivation: y };
    return { ...saved, preActivation: y, output: this.dropped(tf.relu(y), k, batch) };
  }

  /** Layer k's activations after its dropout mask (as they are without dropout). */
  private dropped(activated: tf.Tensor, k: number, batch: number): tf.Tensor {
    if (this.options.dropout <= 0) return activated;
    return tf.mul(activated, this.activation(this.masks[k]!, batch, activated.shape[activated.rank - 1]!));
  }

  /**
   * Gradients of one layer's parameters (appended) from the gradient at its output (times 1/keep under
   * dropout), or, with `activated`, at its pre-activation already; returns dL/dz.
   */
  private backwardLayer(
    layer: Layer,
    step: Saved,
    dh: tf.Tensor,
    gradients: [Parameter, Float32Array | tf.Tensor][],
    activated: boolean,
  ): tf.Tensor {
    const batch = dh.shape[dh.rank - 2]!;
    // The derivative of ReLU and of dropout is the sign of the output (which is ≥ 0): one op, where tf.step is
    // four on tfjs-node.
    let da = dh;
    if (!activated) {
      const output = step.output!;
      da = this.native ? this.native.reluGrad(dh, output) : tf.mul(dh, tf.sign(output));
    }
    if (step.native && step.gamma) {
      const grads = this.native!.batchNormGrad(da, step.native, step.gamma, BATCH_NORM_EPSILON);
      gradients.push([layer.gamma, grads.dGamma], [layer.beta, grads.dBeta]);
      this.updateRunningStats(layer, step.mean!, step.variance!, batch, true);
      gradients.push([layer.kernel, this.matMul(step.input, grads.dz, true, false)]);
      return grads.dz;
    }
    if (step.normalised && step.rstd && step.gamma) {
      // dz = (1/σ̂)·(dẑ − mean(dẑ) − ẑ·mean(dẑ·ẑ)), dẑ = γ·da; γ and β get Σ da·ẑ and Σ da.
      const dNormalised = tf.mul(da, step.gamma);
      const centred = tf.sub(dNormalised, this.columnSum(dNormalised, 1 / batch));
      const along = this.columnSum(tf.mul(dNormalised, step.normalised), 1 / batch);
      const dz = tf.mul(tf.sub(centred, tf.mul(step.normalised, along)), step.rstd);
      gradients.push(
        [layer.gamma, this.columnSum(tf.mul(da, step.normalised))],
        [layer.beta, this.columnSum(da)],
        [layer.kernel, this.matMul(step.input, dz, true, false)],
      );
      this.updateRunningStats(layer, step.mean!, step.variance!, batch);
      return dz;
    }
    gradients.push([layer.kernel, this.matMul(step.input, da, true, false)], [layer.bias, this.columnSum(da)]);
    return da;
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

  private updateRunningStats(
    layer: Layer,
    mean: tf.Tensor1D,
    variance: tf.Tensor1D,
    batch: number,
    unbiased = false,
  ): void {
    // Running variance uses the unbiased batch variance, as PyTorch does. The batch mean is of x·W: the bias the
    // forward pass left out is added back.
    const unbias = unbiased || batch <= 1 ? 1 : batch / (batch - 1);
    const mu = mean.dataSync();
    const sigma2 = variance.dataSync();
    const bias = layer.bias.value;
    for (let o = 0; o < layer.outputs; o++) {
      layer.runningMean[o] = (1 - BN_MOMENTUM) * layer.runningMean[o]! + BN_MOMENTUM * (mu[o]! + bias[o]!);
      layer.runningVariance[o] = (1 - BN_MOMENTUM) * layer.runningVariance[o]! + BN_MOMENTUM * unbias * sigma2[o]!;
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
    return { tower, userVectors: this.kernel.table(0).slice(), itemVectors: this.kernel.table(1).slice() };
  }

  /** Nothing to release: every tensor lives inside one step's tidy scope. */
  dispose(): void {}
}

function sum(values: Float32Array): number {
  let total = 0;
  for (let k = 0; k < values.length; k++) total += values[k]!;
  return total;
}
