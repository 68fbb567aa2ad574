import { type Interactions, topK } from '@pncf/data';
import type { RecommendationSource } from '@pncf/events';
import { coldStartUserVector, foldBatchNorm, itemUserCentroids, type ModelArtifact } from '@pncf/pncf';
import * as tf from '@tensorflow/tfjs';
import { popularityOrder, selectCandidates } from './candidates.js';

export interface CandidateSettings {
  /** Items of highest affinity to the user's vector scored by the tower (0: no candidate generation). */
  nearest: number;
  /** Most popular unseen items added to the candidates. */
  popular: number;
  /** Score every item instead (exact; about nearest+popular / items times slower). */
  fullRanking?: boolean;
}

/** What the user already has: item ids and counts (store ∪ events not yet in the store). */
export interface UserHistory {
  items: string[];
  counts: number[];
}

export interface RecommendRequest {
  user: string;
  history: UserHistory;
}

export interface ScoredItem {
  item: string;
  score: number;
}

export interface RecommendResult {
  items: ScoredItem[];
  /** undefined: neither the model nor the history knows the user (the API's UNKNOWN_USERS decides). */
  source: RecommendationSource | undefined;
}

export interface ServingModelSource {
  version: string;
  createdAt: string;
  artifact: ModelArtifact;
  /** The interaction store's snapshot: users of each item (for centroids) and popularity. */
  data: Interactions;
  candidates: CandidateSettings;
}

/** Popular items kept per model (at least twice the popular candidates): enough to skip a user's seen items. */
const POPULAR_KEPT = 2000;

/**
 * One loaded model version, ready to score: the tower with batch norm folded and the item half of the first
 * layer precomputed (as packages/pncf's Scorer), plus what candidate generation and cold start need.
 *
 * Candidate generation: users and items live in different word2vec spaces, so the user's vector cannot be
 * compared with item vectors. Each item instead gets the count^0.75-weighted centroid of the vectors of its
 * users (cold-start.ts); the affinity of a user to an item is the dot product of the user's vector with that
 * centroid, a 32-d product per item. The tower (about 17k FLOPs per pair with the default 128-64 preset, 80k
 * with the reference one) then runs only on the `nearest` best of those plus `popular` popular items.
 *
 * Cold start: a user the model has no vector for, but with items, gets the weighted mean of the centroids of
 * their items (coldStartUserVector), i.e. a point among the users who share their items; a user whose items
 * have no centroid either gets the most popular unseen items (source "popular").
 *
 * Immutable after construction; tfjs tensors are released by dispose().
 */
export class ServingModel {
  readonly version: string;
  readonly createdAt: string;
  readonly numUsers: number;
  readonly numItems: number;
  readonly dim: number;
  readonly candidates: CandidateSettings;
  private readonly userIndex: Map<string, number>;
  private readonly itemIndex: Map<string, number>;
  private readonly itemIds: string[];
  private readonly userVectors: Float32Array;
  private readonly centroids: Float32Array;
  private readonly popularOrder: Uint32Array;
  private readonly popularScore: Float32Array;
  private readonly centroidsT: tf.Tensor2D;
  /** First layer, batch norm folded: user half of the kernel (dim × width) and the item half applied to every item plus bias (items × width), in typed arrays. */
  private readonly userKernel: Float32Array;
  private readonly itemPart: Float32Array;
  private readonly width: number;
  private readonly deeper: { kernel: tf.Tensor2D; bias: tf.Tensor1D }[];
  private readonly outKernel: tf.Tensor2D;
  private readonly outBias: tf.Tensor1D;
  private readonly marks: Uint8Array;
  private disposed = false;

  constructor(source: ServingModelSource | PreparedModel) {
    const p = 'artifact' in source ? prepareModel(source) : source;
    this.version = p.version;
    this.createdAt = p.createdAt;
    this.numUsers = p.userIds.length;
    this.numItems = p.itemIds.length;
    this.dim = p.dim;
    this.candidates = p.candidates;
    this.userIndex = indexOf(p.userIds);
    this.itemIndex = indexOf(p.itemIds);
    this.itemIds = p.itemIds;
    this.userVectors = p.userVectors;
    this.centroids = p.centroids;
    this.popularOrder = p.popularOrder;
    this.popularScore = p.popularScore;
    this.width = p.width;
    this.userKernel = p.userKernel;
    this.itemPart = p.itemPart;
    this.marks = new Uint8Array(this.numItems);
    this.centroidsT = tf.tidy(() => tf.transpose(tf.tensor2d(p.centroids, [this.numItems, p.dim])));
    this.deeper = p.deeper.map((layer) => ({
      kernel: tf.tensor2d(layer.kernel, [layer.inputs, layer.outputs]),
      bias: tf.tensor1d(layer.bias),
    }));
    this.outKernel = tf.tensor2d(p.outKernel, [p.outKernel.length, 1]);
    this.outBias = tf.tensor1d(p.outBias);
  }

  /** Whether the model has a trained vector for the user. */
  knowsUser(user: string): boolean {
    return this.userIndex.has(user);
  }

  /** Ids of the users the model was trained on. */
  *users(): IterableIterator<string> {
    yield* this.userIndex.keys();
  }

  /**
   * Top-k for a block of users in one batched pass: one affinity matmul for the block, candidate selection
   * per user in typed arrays, one tower pass over all (user, candidate) pairs. Returns the number of
   * (user, item) pairs the tower scored in `scored`.
   */
  recommend(requests: readonly RecommendRequest[], k: number): { results: RecommendResult[]; scored: number } {
    if (this.disposed) throw new Error(`model ${this.version} was disposed`);
    const d = this.dim;
    const m = this.numItems;
    const n = requests.length;
    // Seen items as model indices (items the model does not know cannot be recommended anyway).
    const seenStart = new Uint32Array(n + 1);
    const seenFlat: number[] = [];
    const seenCounts: number[] = [];
    for (let r = 0; r < n; r++) {
      const { items, counts } = requests[r]!.history;
      for (let p = 0; p < items.length; p++) {
        const index = this.itemIndex.get(items[p]!);
        if (index === undefined) continue;
        seenFlat.push(index);
        seenCounts.push(counts[p] ?? 1);
      }
      seenStart[r + 1] = seenFlat.length;
    }
    const seen = Uint32Array.from(seenFlat);
    const seenWeights = Uint32Array.from(seenCounts);

    // Vectors: trained, else cold start from the user's items.
    const sources: (RecommendationSource | undefined)[] = new Array(n);
    const vectorRow = new Int32Array(n).fill(-1);
    const vectors = new Float32Array(n * d);
    let rows = 0;
    for (let r = 0; r < n; r++) {
      const request = requests[r]!;
      const u = this.userIndex.get(request.user);
      if (u !== undefined) {
        vectors.set(this.userVectors.subarray(u * d, (u + 1) * d), rows * d);
        sources[r] = 'model';
        vectorRow[r] = rows++;
        continue;
      }
      const s0 = seenStart[r]!;
      const s1 = seenStart[r + 1]!;
      if (
        coldStartUserVector(this.centroids, d, seen.subarray(s0, s1), seenWeights.subarray(s0, s1), vectors, rows * d)
      ) {
        sources[r] = 'cold-start';
        vectorRow[r] = rows++;
      } else {
        sources[r] = request.history.items.length > 0 ? 'popular' : undefined;
      }
    }

    const results: RecommendResult[] = new Array(n);
    let scored = 0;
    if (rows > 0) {
      const full = this.candidates.fullRanking === true;
      const perUser = full ? m : this.candidates.nearest + this.candidates.popular;
      const candItems = new Uint32Array(rows * perUser);
      const candScratch = new Float32Array(rows * perUser);
      const candCount = new Uint32Array(rows);
      let affinity: Float32Array | undefined;
      if (!full && this.candidates.nearest > 0) {
        const product = tf.tidy(() =>
          tf.matMul(tf.tensor2d(vectors.subarray(0, rows * d), [rows, d]), this.centroidsT),
        );
        affinity = product.dataSync() as Float32Array;
        // tidy keeps the tensor it returns: without this, every call leaked rows × items floats of wasm memory.
        product.dispose();
      }
      for (let r = 0; r < n; r++) {
        const row = vectorRow[r]!;
        if (row < 0) continue;
        const userSeen = seen.subarray(seenStart[r]!, seenStart[r + 1]!);
        if (full) {
          let c = 0;
          for (const item of userSeen) this.marks[item] = 1;
          for (let i = 0; i < m; i++) if (this.marks[i] === 0) candItems[row * perUser + c++] = i;
          for (const item of userSeen) this.marks[item] = 0;
          candCount[row] = c;
        } else {
          candCount[row] = selectCandidates(
            affinity ?? new Float32Array(m),
            affinity ? row * m : 0,
            m,
            userSeen,
            this.popularOrder,
            affinity ? this.candidates.nearest : 0,
            this.candidates.popular,
            this.marks,
            candItems,
            candScratch,
            row * perUser,
          );
        }
        scored += candCount[row]!;
      }
      // One tower pass over every (user, candidate) pair of the block.
      const itemIdx = new Int32Array(scored);
      const userIdx = new Int32Array(scored);
      let at = 0;
      for (let row = 0; row < rows; row++) {
        for (let c = 0; c < candCount[row]!; c++) {
          itemIdx[at] = candItems[row * perUser + c]!;
          userIdx[at++] = row;
        }
      }
      const scores =
        scored === 0 ? new Float32Array(0) : this.tower(vectors.subarray(0, rows * d), rows, itemIdx, userIdx);
      const topItems = new Uint32Array(k);
      const topScores = new Float32Array(k);
      at = 0;
      const offsets = new Uint32Array(rows);
      for (let row = 0; row < rows; row++) {
        offsets[row] = at;
        at += candCount[row]!;
      }
      for (let r = 0; r < n; r++) {
        const row = vectorRow[r]!;
        if (row < 0) continue;
        const found = topK(scores, offsets[row]!, candCount[row]!, k, topItems, topScores, 0);
        const items: ScoredItem[] = new Array(found);
        for (let j = 0; j < found; j++) {
          items[j] = { item: this.itemIds[itemIdx[offsets[row]! + topItems[j]!]!]!, score: topScores[j]! };
        }
        results[r] = { items, source: sources[r] };
      }
    }
    for (let r = 0; r < n; r++) {
      if (results[r]) continue;
      results[r] = {
        items: sources[r] === 'popular' ? this.popularUnseen(seen.subarray(seenStart[r]!, seenStart[r + 1]!), k) : [],
        source: sources[r],
      };
    }
    return { results, scored };
  }

  /**
   * Sigmoid scores of (user row, item) pairs. The first layer is a sum of the user's and the item's halves
   * plus ReLU, done here in typed arrays (tfjs' wasm gather of the item rows is far slower than this loop);
   * the deeper layers, where the FLOPs are, run as batched fused matmuls in tfjs.
   */
  private tower(vectors: Float32Array, rows: number, itemIdx: Int32Array, userIdx: Int32Array): Float32Array {
    const h = this.width;
    const userPart = matMulRows(vectors, rows, this.dim, this.userKernel, h);
    const pairs = itemIdx.length;
    const hidden = new Float32Array(pairs * h);
    const itemPart = this.itemPart;
    for (let p = 0; p < pairs; p++) {
      const item = itemIdx[p]! * h;
      const user = userIdx[p]! * h;
      const at = p * h;
      for (let o = 0; o < h; o++) {
        const x = itemPart[item + o]! + userPart[user + o]!;
        hidden[at + o] = Math.max(x, 0);
      }
    }
    const out = tf.tidy(() => {
      let x = tf.tensor2d(hidden, [pairs, h]);
      for (const layer of this.deeper)
        x = tf.fused.matMul({ a: x, b: layer.kernel, bias: layer.bias, activation: 'relu' }) as tf.Tensor2D;
      return tf.sigmoid(tf.fused.matMul({ a: x, b: this.outKernel, bias: this.outBias }));
    });
    const scores = out.dataSync() as Float32Array;
    out.dispose();
    return scores;
  }

  /** The k most popular items (scored relative to the most popular): the answer for a user nobody knows. */
  popular(k: number): ScoredItem[] {
    return this.popularUnseen(new Uint32Array(0), k);
  }

  private popularUnseen(seen: Uint32Array, k: number): ScoredItem[] {
    for (const item of seen) this.marks[item] = 1;
    const items: ScoredItem[] = [];
    for (let p = 0; p < this.popularOrder.length && items.length < k; p++) {
      const item = this.popularOrder[p]!;
      if (this.marks[item] === 0) items.push({ item: this.itemIds[item]!, score: this.popularScore[item]! });
    }
    for (const item of seen) this.marks[item] = 0;
    return items;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const t of [this.centroidsT, this.outKernel, this.outBias]) t.dispose();
    for (const layer of this.deeper) {
      layer.kernel.dispose();
      layer.bias.dispose();
    }
  }
}

/**
 * Everything a ServingModel holds, as plain arrays: what prepareModel computes (the expensive part of a load),
 * so it can run off the main thread and be transferred (see load-worker.ts).
 */
export interface PreparedModel {
  version: string;
  createdAt: string;
  candidates: CandidateSettings;
  userIds: string[];
  itemIds: string[];
  dim: number;
  /** Width of the first hidden layer. */
  width: number;
  userVectors: Float32Array;
  /** Per item, the count^0.75-weighted centroid of its users' vectors (items × dim). */
  centroids: Float32Array;
  popularOrder: Uint32Array;
  /** Popularity relative to the most popular item. */
  popularScore: Float32Array;
  /** First layer with batch norm folded: the user half of the kernel (dim × width) … */
  userKernel: Float32Array;
  /** … and the item half applied to every item, plus the bias (items × width). */
  itemPart: Float32Array;
  deeper: { inputs: number; outputs: number; kernel: Float32Array; bias: Float32Array }[];
  outKernel: Float32Array;
  outBias: Float32Array;
}

/** The pure, expensive part of loading: centroids and popularity from the store snapshot, the folded tower. */
export function prepareModel(source: ServingModelSource): PreparedModel {
  const { artifact, data } = source;
  const { model } = artifact;
  const { tower } = model;
  const d = tower.dim;
  const userIndex = indexOf(artifact.userIds);
  const itemIndex = indexOf(artifact.itemIds);
  // Centroids and popularity come from the store's snapshot (fresher than the training data), mapped by id.
  const modelUser = new Int32Array(data.userIds.length);
  for (let u = 0; u < modelUser.length; u++) modelUser[u] = userIndex.get(data.userIds[u]!) ?? -1;
  const storeCentroids = itemUserCentroids(model.userVectors, d, modelUser, data.byItem);
  const centroids = new Float32Array(model.numItems * d);
  const popularity = new Float64Array(model.numItems);
  for (let i = 0; i < data.itemIds.length; i++) {
    const m = itemIndex.get(data.itemIds[i]!);
    if (m === undefined) continue;
    centroids.set(storeCentroids.subarray(i * d, (i + 1) * d), m * d);
    for (let p = data.byItem.indptr[i]!; p < data.byItem.indptr[i + 1]!; p++) popularity[m]! += data.byItem.counts[p]!;
  }
  const popularOrder = popularityOrder(popularity, Math.max(POPULAR_KEPT, 2 * source.candidates.popular));
  const top = popularOrder.length > 0 ? popularity[popularOrder[0]!]! : 1;
  const popularScore = new Float32Array(model.numItems);
  for (let i = 0; i < model.numItems; i++) popularScore[i] = popularity[i]! / top;

  const first = tower.layers[0];
  if (!first) throw new Error(`model ${source.version}: the tower has no hidden layer`);
  const folded = foldBatchNorm(first, tower.batchNorm);
  const h = first.outputs;
  return {
    version: source.version,
    createdAt: source.createdAt,
    candidates: source.candidates,
    userIds: artifact.userIds,
    itemIds: artifact.itemIds,
    dim: d,
    width: h,
    userVectors: model.userVectors,
    centroids,
    popularOrder,
    popularScore,
    userKernel: folded.kernel.slice(0, d * h),
    itemPart: matMulRows(model.itemVectors, model.numItems, d, folded.kernel.subarray(d * h), h, folded.bias),
    deeper: tower.layers.slice(1).map((layer) => {
      const f = foldBatchNorm(layer, tower.batchNorm);
      return { inputs: layer.inputs, outputs: layer.outputs, kernel: f.kernel, bias: f.bias };
    }),
    outKernel: tower.outKernel,
    outBias: tower.outBias,
  };
}

/** The buffers of a prepared model, to transfer (not copy) it between threads. */
export function preparedBuffers(p: PreparedModel): ArrayBuffer[] {
  const arrays = [
    p.userVectors,
    p.centroids,
    p.popularOrder,
    p.popularScore,
    p.userKernel,
    p.itemPart,
    p.outKernel,
    p.outBias,
  ];
  for (const layer of p.deeper) arrays.push(layer.kernel, layer.bias);
  return [...new Set(arrays.map((a) => a.buffer as ArrayBuffer))];
}

function indexOf(ids: string[]): Map<string, number> {
  const map = new Map<string, number>();
  for (let k = 0; k < ids.length; k++) map.set(ids[k]!, k);
  return map;
}

/** rows × inner times inner × outputs (row-major), plus an optional bias per output. */
function matMulRows(
  a: Float32Array,
  rows: number,
  inner: number,
  b: Float32Array,
  outputs: number,
  bias?: Float32Array,
): Float32Array {
  const out = new Float32Array(rows * outputs);
  for (let r = 0; r < rows; r++) {
    const at = r * outputs;
    if (bias) out.set(bias, at);
    for (let k = 0; k < inner; k++) {
      const x = a[r * inner + k]!;
      if (x === 0) continue;
      const from = k * outputs;
      for (let o = 0; o < outputs; o++) out[at + o]! += x * b[from + o]!;
    }
  }
  return out;
}
