import * as tf from '@tensorflow/tfjs';

interface OpAttr {
  name: string;
  type: number;
  value: unknown;
}

/** The slice of tfjs-node's backend used here: it runs any TensorFlow op by name (tfjs-node's own kernels do). */
interface NodeBackend {
  binding: {
    TF_ATTR_TYPE: number;
    TF_ATTR_INT: number;
    TF_ATTR_FLOAT: number;
    TF_ATTR_STRING: number;
    TF_ATTR_BOOL: number;
    TF_FLOAT: number;
  };
  executeMultipleOutputs(name: string, attrs: OpAttr[], inputs: tf.Tensor[], outputs: number): tf.Tensor[];
}

/** What the backward pass of a batch-norm layer needs from its forward pass. */
export interface BatchNormSaved {
  x: tf.Tensor;
  reserve: tf.Tensor[];
}

/**
 * TensorFlow's kernels for the tower's training step where tfjs has no single op for them, on tfjs-node only:
 * training-mode batch norm forward and backward in one op each (tfjs composes them of about ten elementwise ops
 * and reductions, each a native call and a pass over the batch), ReLU's gradient in one, and matmuls on
 * activations kept as 1 × 1 × batch × width. That shape is what FusedBatchNormV3 takes (NHWC, moments over the
 * batch) and what BatchMatMulV2 multiplies by a 2-D kernel, so a step needs no reshapes: each would be one
 * more native call. The caller keeps a composed version for other backends, and backend-parity.test.ts checks
 * that both give the same step.
 */
export class NativeTowerOps {
  private constructor(private readonly backend: NodeBackend) {}

  /** The ops of the active backend, when it is tfjs-node. */
  static ofActiveBackend(): NativeTowerOps | undefined {
    if (tf.getBackend() !== 'tensorflow') return undefined;
    return new NativeTowerOps(tf.backend() as unknown as NodeBackend);
  }

  /** A batch × width activation in the layout every op here takes. */
  activation(values: Float32Array, batch: number, width: number): tf.Tensor4D {
    return tf.tensor4d(values, [1, 1, batch, width]);
  }

  private attrs(epsilon: number): OpAttr[] {
    const b = this.backend.binding;
    return [
      { name: 'T', type: b.TF_ATTR_TYPE, value: b.TF_FLOAT },
      { name: 'U', type: b.TF_ATTR_TYPE, value: b.TF_FLOAT },
      { name: 'epsilon', type: b.TF_ATTR_FLOAT, value: epsilon },
      { name: 'data_format', type: b.TF_ATTR_STRING, value: 'NHWC' },
      { name: 'is_training', type: b.TF_ATTR_BOOL, value: true },
    ];
  }

  /**
   * γ·(z − μ)/√(σ² + ε) + β with the batch's moments (FusedBatchNormV3, training mode). `variance` is the batch
   * variance with Bessel's correction, what the running variance is fed.
   */
  batchNormTraining(
    z: tf.Tensor,
    gamma: tf.Tensor1D,
    beta: tf.Tensor1D,
    epsilon: number,
  ): { y: tf.Tensor; mean: tf.Tensor1D; variance: tf.Tensor1D; saved: BatchNormSaved } {
    const empty = tf.tensor1d([]);
    const b = this.backend.binding;
    const [y, mean, variance, ...reserve] = this.backend.executeMultipleOutputs(
      'FusedBatchNormV3',
      [...this.attrs(epsilon), { name: 'exponential_avg_factor', type: b.TF_ATTR_FLOAT, value: 1 }],
      [z, gamma, beta, empty, empty],
      6,
    );
    return { y: y!, mean: mean as tf.Tensor1D, variance: variance as tf.Tensor1D, saved: { x: z, reserve } };
  }

  /** dL/dz, dL/dγ and dL/dβ from dL/dy of batchNormTraining (FusedBatchNormGradV3). */
  batchNormGrad(
    dy: tf.Tensor,
    saved: BatchNormSaved,
    gamma: tf.Tensor1D,
    epsilon: number,
  ): { dz: tf.Tensor; dGamma: tf.Tensor1D; dBeta: tf.Tensor1D } {
    const [dz, dGamma, dBeta] = this.backend.executeMultipleOutputs(
      'FusedBatchNormGradV3',
      this.attrs(epsilon),
      [dy, saved.x, gamma, ...saved.reserve],
      5,
    );
    return { dz: dz!, dGamma: dGamma as tf.Tensor1D, dBeta: dBeta as tf.Tensor1D };
  }

  /**
   * a·b (BatchMatMulV2, a 2-D operand broadcast over the leading 1 × 1): tf.matMul reshapes both to 3-D and
   * back, three more native calls per product.
   */
  matMul(a: tf.Tensor, b: tf.Tensor, transposeA: boolean, transposeB: boolean): tf.Tensor {
    const binding = this.backend.binding;
    return this.backend.executeMultipleOutputs(
      'BatchMatMulV2',
      [
        { name: 'T', type: binding.TF_ATTR_TYPE, value: binding.TF_FLOAT },
        { name: 'adj_x', type: binding.TF_ATTR_BOOL, value: transposeA },
        { name: 'adj_y', type: binding.TF_ATTR_BOOL, value: transposeB },
      ],
      [a, b],
      1,
    )[0]!;
  }

  /** dy where features > 0, else 0 (ReluGrad). */
  reluGrad(dy: tf.Tensor, features: tf.Tensor): tf.Tensor {
    const b = this.backend.binding;
    return this.backend.executeMultipleOutputs(
      'ReluGrad',
      [{ name: 'T', type: b.TF_ATTR_TYPE, value: b.TF_FLOAT }],
      [dy, features],
      1,
    )[0]!;
  }
}
