import { Random } from '@pncf/data';

/** One hidden layer: dense kernel (in × out, row-major), bias, and batch-norm parameters and running stats. */
export interface DenseLayer {
  inputs: number;
  outputs: number;
  kernel: Float32Array;
  bias: Float32Array;
  gamma: Float32Array;
  beta: Float32Array;
  runningMean: Float32Array;
  runningVariance: Float32Array;
}

/** The tower as plain arrays: what artifacts store and what the scorer and trainer load. */
export interface TowerWeights {
  /** Embedding size per side; the tower's input is concat(user, item) of 2·dim. */
  dim: number;
  batchNorm: boolean;
  layers: DenseLayer[];
  outKernel: Float32Array; // last hidden × 1
  outBias: Float32Array; // 1
}

export const BATCH_NORM_EPSILON = 1e-5;

function normal(rng: Random): number {
  const u = 1 - rng.next();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng.next());
}

/**
 * Fresh tower weights as the reference initialises them: kernels ~ N(0, 0.01²), biases PyTorch-style
 * U(±1/√fan_in), batch norm at identity.
 */
export function initTower(
  dim: number,
  hidden: number[],
  batchNorm: boolean,
  seed: number,
  kernelStd = 0.01,
): TowerWeights {
  const rng = new Random(seed);
  const layers: DenseLayer[] = [];
  let inputs = 2 * dim;
  for (const outputs of hidden) {
    const kernel = new Float32Array(inputs * outputs);
    for (let k = 0; k < kernel.length; k++) kernel[k] = normal(rng) * kernelStd;
    const bias = new Float32Array(outputs);
    const bound = 1 / Math.sqrt(inputs);
    for (let k = 0; k < outputs; k++) bias[k] = (rng.next() * 2 - 1) * bound;
    layers.push({
      inputs,
      outputs,
      kernel,
      bias,
      gamma: new Float32Array(outputs).fill(1),
      beta: new Float32Array(outputs),
      runningMean: new Float32Array(outputs),
      runningVariance: new Float32Array(outputs).fill(1),
    });
    inputs = outputs;
  }
  const outKernel = new Float32Array(inputs);
  for (let k = 0; k < inputs; k++) outKernel[k] = normal(rng) * kernelStd;
  const outBias = Float32Array.of((rng.next() * 2 - 1) / Math.sqrt(inputs));
  return { dim, batchNorm, layers, outKernel, outBias };
}

/**
 * Fold eval-mode batch norm into each layer's kernel and bias: γ·(xW + b − μ)/√(σ²+ε) + β = x·(W·s) + (b − μ)·s + β
 * with s = γ/√(σ²+ε). Scoring then runs plain dense layers.
 */
export function foldBatchNorm(layer: DenseLayer, batchNorm: boolean): { kernel: Float32Array; bias: Float32Array } {
  if (!batchNorm) return { kernel: layer.kernel, bias: layer.bias };
  const kernel = new Float32Array(layer.kernel.length);
  const bias = new Float32Array(layer.outputs);
  for (let o = 0; o < layer.outputs; o++) {
    const s = layer.gamma[o]! / Math.sqrt(layer.runningVariance[o]! + BATCH_NORM_EPSILON);
    bias[o] = (layer.bias[o]! - layer.runningMean[o]!) * s + layer.beta[o]!;
    for (let i = 0; i < layer.inputs; i++) kernel[i * layer.outputs + o] = layer.kernel[i * layer.outputs + o]! * s;
  }
  return { kernel, bias };
}
