import type { Interactions } from '@pncf/data';
import type { Recommender } from '../model.js';
import { type TfRuntime, tfRuntime } from '../tf-backend.js';
import { cooccurrence } from './gram.js';
import { sparseRowsTimesDense } from './item-knn.js';
import { invertSpdCholesky, invertSpdSweep } from './spd-inverse.js';

export interface EaseOptions {
  /** L2 regularisation λ added to the Gram diagonal. */
  lambda?: number;
  /**
   * 'sweep': blocked sweep with TensorFlow.js matmuls (fastest here, see bench/experiment-ease-solve.ts);
   * 'cholesky': plain-JS Float64 Cholesky (exact reference, ~10× slower at n = 2000).
   */
  solver?: 'sweep' | 'cholesky';
  log?: (message: string) => void;
}

/**
 * EASE (Steck 2019), closed form on binary interactions: P = (XᵀX + λI)⁻¹, B = I − P·diag(1/diag(P)),
 * i.e. B[i,j] = −P[i,j]/P[j,j] off the diagonal and 0 on it; score(u) = x_u B.
 */
export class Ease implements Recommender {
  readonly name = 'EASE';
  private readonly lambda: number;
  private readonly solver: 'sweep' | 'cholesky';
  private readonly log: (message: string) => void;
  private weights: Float32Array = new Float32Array(0);
  private train: Interactions | undefined;

  constructor(options: EaseOptions = {}) {
    this.lambda = options.lambda ?? 500;
    this.solver = options.solver ?? 'sweep';
    this.log = options.log ?? (() => {});
  }

  async fit(train: Interactions, options: { onProgress?: (fraction: number, message?: string) => void } = {}) {
    const n = train.byUser.cols;
    const gram = cooccurrence(train, Float64Array) as Float64Array;
    for (let i = 0; i < n; i++) gram[i * n + i]! += this.lambda;
    options.onProgress?.(0.1, 'inverting');
    let p: Float32Array | Float64Array;
    if (this.solver === 'sweep') {
      const runtime: TfRuntime = await tfRuntime(this.log);
      p = invertSpdSweep(Float32Array.from(gram), n, runtime);
    } else {
      p = invertSpdCholesky(gram, n);
    }
    options.onProgress?.(0.9, 'weights');
    const weights = new Float32Array(n * n);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) weights[i * n + j] = i === j ? 0 : -p[i * n + j]! / p[j * n + j]!;
    }
    this.weights = weights;
    this.train = train;
    options.onProgress?.(1);
  }

  scoreUsers(users: Uint32Array, out: Float32Array): void {
    if (!this.train) throw new Error('EASE: fit before scoring');
    sparseRowsTimesDense(this.train, users, this.weights, out);
  }
}
