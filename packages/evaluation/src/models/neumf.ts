import { type Interactions, partitionByMask, Random } from '@pncf/data';
import type * as tfTypes from '@tensorflow/tfjs';
import { evaluateModel } from '../evaluate.js';
import type { FitOptions, Recommender } from '../model.js';
import { type TfRuntime, tfRuntime } from '../tf-backend.js';
import { pointwiseSamples } from './negative-sampling.js';

type Tf = typeof tfTypes;
type Tensor2D = tfTypes.Tensor2D;
type Variable = tfTypes.Variable;

export interface NeuMfOptions {
  /** GMF embedding size; the MLP tower ends at this size too (daisyRec `factors`). */
  factors?: number;
  /** MLP layers; the MLP embeddings have factors·2^(layers−1) dimensions and each layer halves the width. */
  layers?: number;
  dropout?: number;
  negatives?: number;
  learningRate?: number;
  batchSize?: number;
  /** Upper bound on epochs; training stops earlier when validation NDCG@10 stops improving. */
  epochs?: number;
  patience?: number;
  /** Validation users sampled for early stopping (full ranking on all of them each epoch costs too much). */
  validationUsers?: number;
  /** (user, item) pairs per forward pass when scoring; bounds memory. */
  pairsPerPass?: number;
  log?: (message: string) => void;
}

interface Params {
  userGmf: Variable;
  itemGmf: Variable;
  userMlp: Variable;
  itemMlp: Variable;
  weights: Variable[];
  biases: Variable[];
  predict: Variable; // (factors + factors) × 1
  predictBias: Variable;
}

/**
 * NeuMF (He et al. 2017) as in daisyRec's PointNeuMF: GMF (element-wise product of user and item embeddings)
 * beside an MLP over concatenated embeddings, joined by one linear layer; trained pointwise with sigmoid
 * cross-entropy on user-conditioned negatives that exclude the user's train items, resampled every epoch.
 * Fitted on train minus validation; early-stops on validation NDCG@10 and keeps the best epoch's weights.
 */
export class NeuMf implements Recommender {
  readonly name = 'NeuMF';
  readonly usesValidation = true;
  private readonly o: Required<Omit<NeuMfOptions, 'log'>>;
  private readonly log: (message: string) => void;
  private runtime: TfRuntime | undefined;
  private params: Params | undefined;

  constructor(options: NeuMfOptions = {}) {
    this.o = {
      factors: options.factors ?? 32,
      layers: options.layers ?? 2,
      dropout: options.dropout ?? 0.5,
      negatives: options.negatives ?? 4,
      learningRate: options.learningRate ?? 0.001,
      batchSize: options.batchSize ?? 1024,
      epochs: options.epochs ?? 20,
      patience: options.patience ?? 2,
      validationUsers: options.validationUsers ?? 1000,
      pairsPerPass: options.pairsPerPass ?? 262_144,
    };
    this.log = options.log ?? (() => {});
  }

  async fit(train: Interactions, options: FitOptions = {}): Promise<void> {
    const runtime = await tfRuntime(this.log);
    this.runtime = runtime;
    const { tf } = runtime;
    const seed = options.seed ?? 1;
    const rng = new Random(seed);
    const { factors, layers } = this.o;
    const nu = train.byUser.rows;
    const ni = train.byUser.cols;
    const mlpDim = factors * 2 ** (layers - 1);
    // tidy disposes each initial tensor (a variable keeps its data) and keeps the variables.
    const variable = (initial: () => tfTypes.Tensor) => tf.tidy(() => tf.variable(initial()));
    const init = (shape: number[], std: number) =>
      variable(() => tf.randomNormal(shape, 0, std, 'float32', rng.int(2 ** 31)));
    const glorot = (fanIn: number, fanOut: number) => {
      const limit = Math.sqrt(6 / (fanIn + fanOut));
      return variable(() => tf.randomUniform([fanIn, fanOut], -limit, limit, 'float32', rng.int(2 ** 31)));
    };
    const weights: Variable[] = [];
    const biases: Variable[] = [];
    for (let l = 0, width = 2 * mlpDim; l < layers; l++, width /= 2) {
      weights.push(glorot(width, width / 2));
      biases.push(variable(() => tf.zeros([width / 2])));
    }
    this.disposeParams();
    this.params = {
      userGmf: init([nu, factors], 0.01),
      itemGmf: init([ni, factors], 0.01),
      userMlp: init([nu, mlpDim], 0.01),
      itemMlp: init([ni, mlpDim], 0.01),
      weights,
      biases,
      predict: glorot(2 * factors, 1),
      predictBias: variable(() => tf.zeros([1])),
    };
    const params = this.params;
    const variables = allVariables(params);
    const optimizer = tf.train.adam(this.o.learningRate);
    const validation = options.validation ? sampleUsers(options.validation, this.o.validationUsers, rng) : undefined;
    let best = -1;
    let bestSnapshot: tfTypes.Tensor[] | undefined;
    let stale = 0;
    try {
      for (let epoch = 0; epoch < this.o.epochs; epoch++) {
        const samples = pointwiseSamples(train, this.o.negatives, rng);
        const n = samples.labels.length;
        let lossSum = 0;
        let batches = 0;
        for (let start = 0; start < n; start += this.o.batchSize) {
          const end = Math.min(n, start + this.o.batchSize);
          const dropSeed = rng.int(2 ** 31);
          const loss = tf.tidy((): tfTypes.Scalar => {
            const u = tf.tensor1d(samples.users.subarray(start, end), 'int32');
            const i = tf.tensor1d(samples.items.subarray(start, end), 'int32');
            const y = tf.tensor2d(samples.labels.subarray(start, end), [end - start, 1]);
            return optimizer.minimize(
              () => tf.losses.sigmoidCrossEntropy(y, this.logits(tf, params, u, i, dropSeed)) as tfTypes.Scalar,
              true,
              variables,
            ) as tfTypes.Scalar;
          });
          if (loss) {
            // Reading every batch's loss would sync the backend each step; sample it instead.
            if (batches % 50 === 0) lossSum += (await loss.data())[0]!;
            loss.dispose();
          }
          batches++;
        }
        let message = `epoch ${epoch + 1}: loss ≈ ${(lossSum / Math.ceil(batches / 50)).toFixed(4)}`;
        if (validation) {
          const score = (await evaluateModel(this, train, validation, { ks: [10] })).metrics.ndcg[0]!;
          message += `, validation NDCG@10 ${score.toFixed(4)}`;
          if (score > best) {
            best = score;
            stale = 0;
            for (const t of bestSnapshot ?? []) t.dispose();
            bestSnapshot = variables.map((v) => v.clone());
          } else if (++stale >= this.o.patience) {
            this.log(`NeuMF ${message}; stopping, best ${best.toFixed(4)}`);
            options.onProgress?.(1, message);
            break;
          }
        }
        this.log(`NeuMF ${message}`);
        options.onProgress?.((epoch + 1) / this.o.epochs, message);
      }
      if (bestSnapshot) for (let k = 0; k < variables.length; k++) variables[k]!.assign(bestSnapshot[k]!);
    } finally {
      for (const t of bestSnapshot ?? []) t.dispose();
      optimizer.dispose();
    }
  }

  /** Logits for (user, item) pairs; dropout only when `dropSeed` is given (training). */
  private logits(tf: Tf, p: Params, users: tfTypes.Tensor1D, items: tfTypes.Tensor1D, dropSeed?: number): Tensor2D {
    const gmf = tf.mul(tf.gather(p.userGmf, users), tf.gather(p.itemGmf, items));
    let h: tfTypes.Tensor = tf.concat([tf.gather(p.userMlp, users), tf.gather(p.itemMlp, items)], 1);
    p.weights.forEach((w, l) => {
      if (dropSeed !== undefined && this.o.dropout > 0) h = tf.dropout(h, this.o.dropout, undefined, dropSeed + l);
      h = tf.relu(tf.add(tf.matMul(h as Tensor2D, w as Tensor2D), p.biases[l]!));
    });
    return tf.add(tf.matMul(tf.concat([gmf, h as Tensor2D], 1), p.predict as Tensor2D), p.predictBias) as Tensor2D;
  }

  /**
   * Full-catalogue scoring without materialising the concatenated MLP input per pair: the first MLP layer
   * splits into a user part and an item part (computed once per user and once per item), and the GMF part
   * of the output layer is one users × items matmul.
   */
  async scoreUsers(users: Uint32Array, out: Float32Array): Promise<void> {
    const p = this.params;
    const runtime = this.runtime;
    if (!p || !runtime) throw new Error('NeuMF: fit before scoring');
    const { tf } = runtime;
    const ni = p.itemGmf.shape[0]!;
    const factors = this.o.factors;
    const mlpDim = p.userMlp.shape[1]!;
    const step = Math.max(1, Math.floor(this.o.pairsPerPass / ni));
    const itemPart = tf.tidy(() => {
      const w0 = p.weights[0]! as Tensor2D;
      const itemHidden = tf.add(tf.matMul(p.itemMlp as Tensor2D, w0.slice([mlpDim, 0], [mlpDim, -1])), p.biases[0]!);
      const gmfOut = tf.mul(p.itemGmf, tf.reshape(p.predict.slice([0, 0], [factors, 1]), [1, factors]));
      return { itemHidden, gmfOutT: tf.transpose(gmfOut) };
    });
    try {
      for (let start = 0; start < users.length; start += step) {
        const end = Math.min(users.length, start + step);
        const b = end - start;
        const scores = tf.tidy(() => {
          const u = tf.tensor1d(Int32Array.from(users.subarray(start, end)), 'int32');
          const w0 = p.weights[0]! as Tensor2D;
          const userHidden = tf.matMul(tf.gather(p.userMlp, u) as Tensor2D, w0.slice([0, 0], [mlpDim, -1]));
          const width = userHidden.shape[1]!;
          let h: tfTypes.Tensor = tf.relu(
            tf.add(tf.reshape(userHidden, [b, 1, width]), tf.reshape(itemPart.itemHidden, [1, ni, width])),
          );
          h = tf.reshape(h, [b * ni, width]);
          for (let l = 1; l < p.weights.length; l++)
            h = tf.relu(tf.add(tf.matMul(h as Tensor2D, p.weights[l]! as Tensor2D), p.biases[l]!));
          const mlpOut = tf.reshape(tf.matMul(h as Tensor2D, p.predict.slice([factors, 0], [factors, 1]) as Tensor2D), [
            b,
            ni,
          ]);
          const gmfOut = tf.matMul(tf.gather(p.userGmf, u) as Tensor2D, itemPart.gmfOutT as Tensor2D);
          return tf.add(tf.add(mlpOut, gmfOut), p.predictBias);
        });
        out.set((await scores.data()) as Float32Array, start * ni);
        scores.dispose();
      }
    } finally {
      itemPart.itemHidden.dispose();
      itemPart.gmfOutT.dispose();
    }
  }

  dispose(): void {
    this.disposeParams();
  }

  private disposeParams(): void {
    if (!this.params) return;
    for (const v of allVariables(this.params)) v.dispose();
    this.params = undefined;
  }
}

const allVariables = (p: Params): Variable[] => [
  p.userGmf,
  p.itemGmf,
  p.userMlp,
  p.itemMlp,
  ...p.weights,
  ...p.biases,
  p.predict,
  p.predictBias,
];

/** The rows of at most `limit` users chosen at random (all when fewer have rows). */
function sampleUsers(data: Interactions, limit: number, rng: Random): Interactions {
  const { indptr, rows } = data.byUser;
  const candidates: number[] = [];
  for (let u = 0; u < rows; u++) if (indptr[u + 1]! > indptr[u]!) candidates.push(u);
  if (candidates.length <= limit) return data;
  for (let k = 0; k < limit; k++) {
    const r = k + rng.int(candidates.length - k);
    [candidates[k], candidates[r]] = [candidates[r]!, candidates[k]!];
  }
  const mask = new Uint8Array(data.byUser.indices.length);
  for (let k = 0; k < limit; k++) {
    const u = candidates[k]!;
    mask.fill(1, indptr[u]!, indptr[u + 1]!);
  }
  return partitionByMask(data, mask).selected;
}
