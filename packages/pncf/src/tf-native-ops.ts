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
  x: tf.Tensor4D;
  reserve: tf.Tensor[];
}

/**
 * TensorFlow's fused kernels for the tower's training step, where tfjs has no op for them: training-mode batch
 * norm forward and backward in one op each (tfjs composes them of about ten elementwise ops and reductions, each
 * a native call and a pass over the batch) and ReLU's gradient in one. Only on tfjs-node; the caller keeps the
 * composed version for other backends, and backend-parity.test.ts checks that both give the same step.
 */
export class NativeTowerOps {
  private constructor(private readonly backend: NodeBackend) {}

  /** The ops of the active backend, when it is tfjs-node. */
  static ofActiveBackend(): NativeTowerOps | undefined {
    if (tf.getBackend() !== 'tensorflow') return undefined;
    return new NativeTowerOps(tf.backend() as unknown as NodeBackend);
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
   * γ·(z − μ)/√(σ² + ε) + β with the batch's moments (FusedBatchNormV3, training mode, on z as batch × 1 × 1 ×
   * width). `variance` is the batch variance with Bessel's correction, what the running variance is fed.
   */
  batchNormTraining(
    z: tf.Tensor2D,
    gamma: tf.Tensor1D,
    beta: tf.Tensor1D,
    epsilon: number,
  ): { y: tf.Tensor2D; mean: tf.Tensor1D; variance: tf.Tensor1D; saved: BatchNormSaved } {
    const [batch, width] = z.shape;
    const x = tf.reshape(z, [batch, 1, 1, width]) as tf.Tensor4D;
    const empty = tf.tensor1d([]);
    const b = this.backend.binding;
    const [y, mean, variance, ...reserve] = this.backend.executeMultipleOutputs(
      'FusedBatchNormV3',
      [...this.attrs(epsilon), { name: 'exponential_avg_factor', type: b.TF_ATTR_FLOAT, value: 1 }],
      [x, gamma, beta, empty, empty],
      6,
    );
    return {
      y: tf.reshape(y!, [batch, width]),
      mean: mean as tf.Tensor1D,
      variance: variance as tf.Tensor1D,
      saved: { x, reserve },
    };
  }

  /** dL/dz, dL/dγ and dL/dβ from dL/dy of batchNormTraining (FusedBatchNormGradV3). */
  batchNormGrad(
    dy: tf.Tensor2D,
    saved: BatchNormSaved,
    gamma: tf.Tensor1D,
    epsilon: number,
  ): { dz: tf.Tensor2D; dGamma: tf.Tensor1D; dBeta: tf.Tensor1D } {
    const [batch, width] = dy.shape;
    const [dx, dGamma, dBeta] = this.backend.executeMultipleOutputs(
      'FusedBatchNormGradV3',
      this.attrs(epsilon),
      [tf.reshape(dy, [batch, 1, 1, width]), saved.x, gamma, ...saved.reserve],
      5,
    );
    return { dz: tf.reshape(dx!, [batch, width]), dGamma: dGamma as tf.Tensor1D, dBeta: dBeta as tf.Tensor1D };
  }

  /**
   * a·b of two matrices (MatMul): tf.matMul reshapes both to 3-D for a batched matmul and back, three more
   * native calls per product (tfjs-node's "fused" matmul is that plus an add and an activation).
   */
  matMul(a: tf.Tensor2D, b: tf.Tensor2D, transposeA: boolean, transposeB: boolean): tf.Tensor2D {
    const binding = this.backend.binding;
    return this.backend.executeMultipleOutputs(
      'MatMul',
      [
        { name: 'T', type: binding.TF_ATTR_TYPE, value: binding.TF_FLOAT },
        { name: 'transpose_a', type: binding.TF_ATTR_BOOL, value: transposeA },
        { name: 'transpose_b', type: binding.TF_ATTR_BOOL, value: transposeB },
      ],
      [a, b],
      1,
    )[0] as tf.Tensor2D;
  }

  /** dy where features > 0, else 0 (ReluGrad). */
  reluGrad(dy: tf.Tensor2D, features: tf.Tensor2D): tf.Tensor2D {
    const b = this.backend.binding;
    return this.backend.executeMultipleOutputs(
      'ReluGrad',
      [{ name: 'T', type: b.TF_ATTR_TYPE, value: b.TF_FLOAT }],
      [dy, features],
      1,
    )[0] as tf.Tensor2D;
  }
}
