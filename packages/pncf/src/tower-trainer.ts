import { Random } from '@pncf/data';
import * as tf from '@tensorflow/tfjs';
import { BATCH_NORM_EPSILON, type TowerWeights } from './tower-weights.js';

export interface StepOptions {
  dropout: number;
  loss: 'mse' | 'bce';
  learningRate: number;
  /** Fine-tune the embedding tables along with the tower (the reference does). */
  fineTuneEmbeddings: boolean;
}

const BETA1 = 0.9;
const BETA2 = 0.999;
const ADAM_EPSILON = 1e-7;
/** PyTorch's BatchNorm1d momentum: running = 0.9·running + 0.1·batch. */
const BN_MOMENTUM = 0.1;

/*
 * Hand-written gradients for the two layer types. The wasm backend's matMul with a transposed operand (what
 * the built-in matMul gradient uses) is 20–100× slower than an explicit transpose plus a plain matMul, and its
 * reductions over the batch axis (bias gradients, batch-norm moments) are slower still; a column sum written
 * as ones[1×B] · M[B×H] is one fast matMul instead.
 */
function columnSums(m: tf.Tensor2D): tf.Tensor1D {
  return tf.reshape(tf.matMul(tf.ones([1, m.shape[0]]), m), [m.shape[1]]);
}

/** x·W + b. */
const dense = tf.customGrad(((x: tf.Tensor, w: tf.Tensor, b: tf.Tensor, save: tf.GradSaveFunc) => {
  save([x, w]);
  return {
    value: tf.add(tf.matMul(x as tf.Tensor2D, w as tf.Tensor2D), b),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => [
      tf.matMul(dy as tf.Tensor2D, tf.transpose(saved[1]!) as tf.Tensor2D),
      tf.matMul(tf.transpose(saved[0]!) as tf.Tensor2D, dy as tf.Tensor2D),
      columnSums(dy as tf.Tensor2D),
    ],
  };
}) as unknown as Parameters<typeof tf.customGrad>[0]) as (
  x: tf.Tensor2D,
  w: tf.Tensor2D,
  b: tf.Tensor1D,
) => tf.Tensor2D;

/**
 * Training-mode batch norm, γ·(z − μ)/√(σ² + ε) + β with batch moments; also returns μ and σ² (biased) for the
 * running statistics. Backward: dz = (1/σ̂)·(dẑ − mean(dẑ) − ẑ·mean(dẑ·ẑ)).
 */
function batchNorm(z: tf.Tensor2D, gamma: tf.Tensor1D, beta: tf.Tensor1D, moments: tf.Tensor[]): tf.Tensor2D {
  const n = z.shape[0];
  // Everything inside one custom op, so the moments are not differentiated a second time by the tape.
  const op = tf.customGrad(((x: tf.Tensor, g: tf.Tensor, b: tf.Tensor, save: tf.GradSaveFunc) => {
    const mean = tf.div(columnSums(x as tf.Tensor2D), n);
    const centred = tf.sub(x, mean) as tf.Tensor2D;
    const variance = tf.div(columnSums(tf.square(centred) as tf.Tensor2D), n);
    moments.push(tf.keep(mean), tf.keep(variance));
    const rstd = tf.rsqrt(tf.add(variance, BATCH_NORM_EPSILON));
    const normalised = tf.mul(centred, rstd);
    save([normalised, rstd, g]);
    return {
      value: tf.add(tf.mul(normalised, g), b),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xhat, r, gm] = saved as [tf.Tensor2D, tf.Tensor1D, tf.Tensor1D];
        const dxhat = tf.mul(dy, gm) as tf.Tensor2D;
        const meanD = tf.div(columnSums(dxhat), n);
        const meanDX = tf.div(columnSums(tf.mul(dxhat, xhat) as tf.Tensor2D), n);
        const dx = tf.mul(tf.sub(tf.sub(dxhat, meanD), tf.mul(xhat, meanDX)), r);
        return [dx, columnSums(tf.mul(dy, xhat) as tf.Tensor2D), columnSums(dy as tf.Tensor2D)];
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]) as (
    x: tf.Tensor2D,
    g: tf.Tensor1D,
    b: tf.Tensor1D,
  ) => tf.Tensor2D;
  return op(z, gamma, beta);
}

interface LayerVariables {
  kernel: tf.Variable;
  bias: tf.Variable;
  gamma: tf.Variable;
  beta: tf.Variable;
  runningMean: tf.Variable;
  runningVariance: tf.Variable;
}

/**
 * Training state of the tower: dense layers as TensorFlow.js variables updated by Adam in one tidy'd step
 * over the whole batch, embedding tables in plain arrays updated by a lazy (sparse) Adam from the gradient
 * of the tower's input. The wasm backend has no gradient for gather, and a dense gradient over a table of
 * tens of thousands of rows per step would cost more than the step itself.
 */
export class TowerTrainer {
  readonly dim: number;
  readonly userVectors: Float32Array;
  readonly itemVectors: Float32Array;
  private readonly layers: LayerVariables[];
  private readonly outKernel: tf.Variable;
  private readonly outBias: tf.Variable;
  private readonly optimizer: tf.AdamOptimizer;
  private readonly trainable: tf.Variable[];
  private readonly batchNorm: boolean;
  private readonly rng: Random;
  private input = new Float32Array(0);
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
    // tidy disposes each initial tensor (a variable keeps its data) and keeps the variables.
    const variable = (initial: () => tf.Tensor, trainable = true) => tf.tidy(() => tf.variable(initial(), trainable));
    this.layers = tower.layers.map((l) => ({
      kernel: variable(() => tf.tensor2d(l.kernel, [l.inputs, l.outputs])),
      bias: variable(() => tf.tensor1d(l.bias)),
      gamma: variable(() => tf.tensor1d(l.gamma), tower.batchNorm),
      beta: variable(() => tf.tensor1d(l.beta), tower.batchNorm),
      runningMean: variable(() => tf.tensor1d(l.runningMean), false),
      runningVariance: variable(() => tf.tensor1d(l.runningVariance), false),
    }));
    const last = tower.layers.at(-1)?.outputs ?? 2 * tower.dim;
    this.outKernel = variable(() => tf.tensor2d(tower.outKernel, [last, 1]));
    this.outBias = variable(() => tf.tensor1d(tower.outBias));
    this.trainable = [
      ...this.layers.flatMap((l) => (tower.batchNorm ? [l.kernel, l.bias, l.gamma, l.beta] : [l.kernel, l.bias])),
      this.outKernel,
      this.outBias,
    ];
    this.optimizer = tf.train.adam(options.learningRate, BETA1, BETA2, ADAM_EPSILON);
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
    for (let s = 0; s < batch; s++) {
      input.set(this.userVectors.subarray(users[s]! * d, users[s]! * d + d), s * width);
      input.set(this.itemVectors.subarray(items[s]! * d, items[s]! * d + d), s * width + d);
    }
    const dropoutSeed = this.rng.nextU32();
    const moments: tf.Tensor[] = [];
    let inputGradient: Float32Array | undefined;
    // A variable shares its initial tensor's data; dispose that tensor too, or every step leaks a batch of
    // inputs (about 200 MB per epoch on the author-tag set, which exhausts the wasm heap within an hour).
    const initial = tf.tensor2d(input, [batch, width]);
    const x = tf.variable(initial, this.options.fineTuneEmbeddings);
    initial.dispose();
    let loss = 0;
    try {
      tf.tidy(() => {
        const y = tf.tensor2d(labels, [batch, 1]);
        const variables = this.options.fineTuneEmbeddings ? [...this.trainable, x] : this.trainable;
        const { value, grads } = tf.variableGrads(() => this.loss(x, y, dropoutSeed, moments), variables);
        if (this.options.fineTuneEmbeddings) {
          inputGradient = grads[x.name]!.dataSync() as Float32Array;
          delete grads[x.name];
        }
        this.optimizer.applyGradients(grads as tf.NamedTensorMap as Parameters<tf.AdamOptimizer['applyGradients']>[0]);
        loss = value.dataSync()[0]!;
      });
      if (this.batchNorm) this.updateRunningStats(moments, batch);
    } finally {
      x.dispose();
      for (const t of moments) t.dispose();
    }
    this.steps++;
    if (inputGradient) this.updateEmbeddings(users, items, inputGradient);
    return loss;
  }

  private loss(x: tf.Tensor2D, y: tf.Tensor2D, seed: number, moments: tf.Tensor[]): tf.Scalar {
    let h: tf.Tensor2D = x;
    this.layers.forEach((l, k) => {
      let z = dense(h, l.kernel as tf.Tensor2D, l.bias as tf.Tensor1D);
      if (this.batchNorm) z = batchNorm(z, l.gamma as tf.Tensor1D, l.beta as tf.Tensor1D, moments);
      h = tf.relu(z);
      if (this.options.dropout > 0) h = tf.dropout(h, this.options.dropout, undefined, seed + k) as tf.Tensor2D;
    });
    const logits = dense(h, this.outKernel as tf.Tensor2D, this.outBias as tf.Tensor1D);
    if (this.options.loss === 'bce') return tf.losses.sigmoidCrossEntropy(y, logits) as tf.Scalar;
    return tf.mean(tf.squaredDifference(tf.sigmoid(logits), y)) as tf.Scalar;
  }

  private updateRunningStats(moments: tf.Tensor[], batch: number): void {
    // Running variance uses the unbiased batch variance, as PyTorch does.
    const unbias = batch > 1 ? batch / (batch - 1) : 1;
    tf.tidy(() => {
      this.layers.forEach((l, k) => {
        const mean = moments[2 * k]!;
        const variance = moments[2 * k + 1]!;
        l.runningMean.assign(tf.add(tf.mul(l.runningMean, 1 - BN_MOMENTUM), tf.mul(mean, BN_MOMENTUM)));
        l.runningVariance.assign(
          tf.add(tf.mul(l.runningVariance, 1 - BN_MOMENTUM), tf.mul(variance, BN_MOMENTUM * unbias)),
        );
      });
    });
  }

  /** Lazy Adam: only rows seen in the batch move; duplicate rows in a batch have their gradients summed first. */
  private updateEmbeddings(users: Uint32Array, items: Uint32Array, gradient: Float32Array): void {
    const d = this.dim;
    const width = 2 * d;
    const lr = this.options.learningRate;
    const t = this.steps;
    const correction = (lr * Math.sqrt(1 - BETA2 ** t)) / (1 - BETA1 ** t);
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
      for (let k = 0; k < n; k++) {
        const base = touched[k]! * d;
        for (let x = base; x < base + d; x++) {
          const g = acc[x]!;
          m[x] = BETA1 * m[x]! + (1 - BETA1) * g;
          v[x] = BETA2 * v[x]! + (1 - BETA2) * g * g;
          table[x]! -= (correction * m[x]!) / (Math.sqrt(v[x]!) + ADAM_EPSILON);
        }
      }
    }
  }

  /** Current weights as plain arrays (copies), for scoring, early-stopping snapshots and artifacts. */
  weights(): { tower: TowerWeights; userVectors: Float32Array; itemVectors: Float32Array } {
    const read = (v: tf.Variable) => v.dataSync().slice() as Float32Array;
    const tower: TowerWeights = {
      dim: this.dim,
      batchNorm: this.batchNorm,
      layers: this.layers.map((l) => ({
        inputs: l.kernel.shape[0]!,
        outputs: l.kernel.shape[1]!,
        kernel: read(l.kernel),
        bias: read(l.bias),
        gamma: read(l.gamma),
        beta: read(l.beta),
        runningMean: read(l.runningMean),
        runningVariance: read(l.runningVariance),
      })),
      outKernel: read(this.outKernel),
      outBias: read(this.outBias),
    };
    return { tower, userVectors: this.userVectors.slice(), itemVectors: this.itemVectors.slice() };
  }

  dispose(): void {
    for (const l of this.layers) for (const v of Object.values(l)) v.dispose();
    this.outKernel.dispose();
    this.outBias.dispose();
    this.optimizer.dispose();
  }
}
