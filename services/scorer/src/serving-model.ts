import { type Interactions, indexOfIds, mapIds, selectRows } from '@pncf/data';
import type { RecommendationSource } from '@pncf/events';
import {
  coldStartUserVector,
  HistoryInference,
  type HistoryModel,
  type ItemRows,
  isHistoryModel,
  itemUserCentroids,
  type ModelArtifact,
  type ModelKind,
  NO_USER,
  type PncfModel,
  type PreparedTower,
  preparedTowerBuffers,
  prepareTower,
  type TopK,
  TowerInference,
} from '@pncf/pncf';
import * as tf from '@tensorflow/tfjs';
import { popularityOrder, selectCandidates } from './candidates.js';

/** How a tower model picks the items it scores (a history model ranks every item: see ServingModel). */
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
  /**
   * false: rank as for a user the model does not know, from the history alone (an erased user, whose vector the
   * served model may still hold until it is replaced); the trained vector is used when absent.
   */
  useTrainedVector?: boolean;
}

/** The row of the request's user in the model's user table, unless the request forgoes it. */
const trainedRow = (userIndex: ReadonlyMap<string, number>, request: RecommendRequest): number | undefined =>
  request.useTrainedVector === false ? undefined : userIndex.get(request.user);

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

/** The requests' histories as model item indices, one row per request, with their counts (for cold start). */
interface SeenItems extends ItemRows {
  counts: Uint32Array;
}

/** The users of a block that get a vector (trained or cold start), one row each, in request order. */
interface UserBlock {
  /** rows × dim. */
  vectors: Float32Array;
  rows: number;
  /** The request of each row. */
  requestOf: Uint32Array;
  /** The seen items of each row (model item indices): never recommended. */
  seen: ItemRows;
  /** Per request: where its vector came from; "popular" (no vector, some items) and undefined (nothing) have no row. */
  sources: (RecommendationSource | undefined)[];
}

/**
 * The model version the scorer service serves: a user id and their history in, Top-K item ids out. It maps
 * ids to the model's indices, picks each user's vector, ranks, and falls back to popularity when no vector can
 * be built. Two kinds of model (the artifact's kind), each with its own way of ranking:
 *
 * A tower (PNCF): the user's trained vector, or a cold-start vector from their items; candidates are generated,
 * and @pncf/pncf's TowerInference scores them (candidate mode: the same folded weights and precomputed first
 * layer the evaluation harness ranks with).
 *
 *   Candidate generation: users and items live in different word2vec spaces, so the user's vector cannot be
 *   compared with item vectors. Each item instead gets the count^0.75-weighted centroid of the vectors of its
 *   users (cold-start.ts); the affinity of a user to an item is the dot product of the user's vector with that
 *   centroid, a 32-d product per item. The tower (about 17k FLOPs per pair with the default 128-64 preset, 80k
 *   with the reference one) then runs only on the `nearest` best of those plus `popular` popular items.
 *   `fullRanking` ranks every item instead (TowerInference's full ranking, as the harness does).
 *
 *   Cold start: a user the model has no vector for, but with items, gets the weighted mean of the centroids of
 *   their items (coldStartUserVector), i.e. a point among the users who share their items; a user whose items
 *   have no centroid either gets the most popular unseen items (source "popular").
 *
 * A history model (PNCF+, @pncf/pncf's HistoryModel): the user's vector is built from the request's history
 * (the pooled input vectors of its items the model knows, weighed by the request's counts when the model's pool
 * weighs counts, through a kernel) plus, when the model was trained on the user, their own vector
 * (HistoryInference.userVectors). A user the model does not know but with known items is
 * served from the history alone (source "cold-start", no separate rule); one with no known item gets the
 * popular items. The score of an item is one dot product of that vector with the item's output vector, plus
 * its bias (64-d with the `plus` preset): scoring every item costs what the tower's candidate generation alone
 * costs, so a history model always ranks every unseen item (exact: one matmul per block, the Top-K the offline
 * HistoryInference ranks) and the candidate settings (`nearest`, `popular`, `fullRanking`) do not apply to it.
 *
 * Immutable after construction; tfjs tensors are released by dispose().
 */
export class ServingModel {
  readonly version: string;
  readonly createdAt: string;
  /** The artifact's kind: the paper's tower, or PNCF+'s history model. */
  readonly kind: ModelKind;
  readonly numUsers: number;
  readonly numItems: number;
  readonly dim: number;
  readonly candidates: CandidateSettings;
  private readonly userIndex: Map<string, number>;
  private readonly itemIndex: Map<string, number>;
  private readonly itemIds: string[];
  private readonly popularOrder: Uint32Array;
  private readonly popularScore: Float32Array;
  private readonly ranker: Ranker;
  /** Zeroed scratch of numItems, left zeroed. */
  private readonly marks: Uint8Array;
  private disposed = false;

  constructor(source: ServingModelSource | PreparedModel) {
    const p = 'artifact' in source ? prepareModel(source) : source;
    this.version = p.version;
    this.createdAt = p.createdAt;
    this.kind = p.kind;
    this.numUsers = p.userIds.length;
    this.numItems = p.itemIds.length;
    this.candidates = p.candidates;
    this.userIndex = indexOfIds(p.userIds);
    this.itemIndex = indexOfIds(p.itemIds);
    this.itemIds = p.itemIds;
    this.popularOrder = p.popularOrder;
    this.popularScore = p.popularScore;
    this.marks = new Uint8Array(this.numItems);
    this.ranker =
      p.kind === 'history'
        ? new HistoryRanker(p, this.userIndex)
        : new TowerRanker(p, this.userIndex, this.popularOrder, this.marks);
    this.dim = this.ranker.dim;
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
   * Top-k for a block of users in one batched pass. A tower: one affinity matmul for the block, candidate
   * selection per user in typed arrays, one tower pass over all (user, candidate) pairs; a history model: one
   * matmul of the block's vectors with every item. Returns the number of (user, item) pairs ranked in `scored`.
   */
  recommend(requests: readonly RecommendRequest[], k: number): { results: RecommendResult[]; scored: number } {
    if (this.disposed) throw new Error(`model ${this.version} was disposed`);
    const seen = this.seenItems(requests);
    const block = this.ranker.userBlock(requests, seen);
    const results: RecommendResult[] = new Array(requests.length);
    let scored = 0;
    if (block.rows > 0) {
      const ranked = this.ranker.rank(block, k);
      scored = ranked.scored;
      for (let row = 0; row < block.rows; row++) {
        const r = block.requestOf[row]!;
        results[r] = { items: this.scoredItems(ranked.top, row), source: block.sources[r] };
      }
    }
    for (let r = 0; r < requests.length; r++) {
      if (results[r]) continue;
      const source = block.sources[r];
      const items =
        source === 'popular' ? this.popularUnseen(seen.indices.subarray(seen.indptr[r]!, seen.indptr[r + 1]!), k) : [];
      results[r] = { items, source };
    }
    return { results, scored };
  }

  /** The k most popular items (scored relative to the most popular): the answer for a user nobody knows. */
  popular(k: number): ScoredItem[] {
    return this.popularUnseen(new Uint32Array(0), k);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.ranker.dispose();
  }

  /** Each request's history as model item indices; items the model does not know cannot be recommended anyway. */
  private seenItems(requests: readonly RecommendRequest[]): SeenItems {
    const indptr = new Uint32Array(requests.length + 1);
    const indices: number[] = [];
    const counts: number[] = [];
    for (let r = 0; r < requests.length; r++) {
      const { items, counts: itemCounts } = requests[r]!.history;
      for (let p = 0; p < items.length; p++) {
        const index = this.itemIndex.get(items[p]!);
        if (index === undefined) continue;
        indices.push(index);
        counts.push(itemCounts[p] ?? 1);
      }
      indptr[r + 1] = indices.length;
    }
    return { indptr, indices: Uint32Array.from(indices), counts: Uint32Array.from(counts) };
  }

  /** Row `row` of a Top-K as item ids with their scores. */
  private scoredItems(top: TopK, row: number): ScoredItem[] {
    const at = row * top.k;
    const items: ScoredItem[] = new Array(top.counts[row]!);
    for (let j = 0; j < items.length; j++) {
      items[j] = { item: this.itemIds[top.items[at + j]!]!, score: top.scores[at + j]! };
    }
    return items;
  }

  /** The fallback without a vector: the k most popular items not in `seen`, scored relative to the most popular. */
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
}

/** What differs between the kinds of model: how a block of requests gets its vectors, and how they are ranked. */
interface Ranker {
  readonly dim: number;
  /** Each request's vector (trained, or from its items), or none; `seen` holds every request's known items. */
  userBlock(requests: readonly RecommendRequest[], seen: SeenItems): UserBlock;
  /** Top-k of each row of the block without its seen items, and how many (user, item) pairs were scored. */
  rank(block: UserBlock, k: number): { top: TopK; scored: number };
  dispose(): void;
}

/** How many (row, item) pairs `rows` rows of seen items hold. */
const pairsOf = (seen: ItemRows, rows: number): number => seen.indptr[rows]! - seen.indptr[0]!;

/** The tower: trained or cold-start vectors, candidate generation, the tower on the candidates (see ServingModel). */
class TowerRanker implements Ranker {
  readonly dim: number;
  private readonly numItems: number;
  private readonly candidates: CandidateSettings;
  private readonly userVectors: Float32Array;
  private readonly centroids: Float32Array;
  /** Centroids transposed (dim × items), for the affinity matmul. */
  private readonly centroidsT: tf.Tensor2D;
  private readonly tower: TowerInference;

  constructor(
    p: PreparedTowerModel,
    private readonly userIndex: Map<string, number>,
    private readonly popularOrder: Uint32Array,
    /** The ServingModel's zeroed scratch of numItems, left zeroed. */
    private readonly marks: Uint8Array,
  ) {
    this.dim = p.tower.dim;
    this.numItems = p.itemIds.length;
    this.candidates = p.candidates;
    this.userVectors = p.tower.userVectors;
    this.centroids = p.centroids;
    this.centroidsT = tf.tidy(() => tf.transpose(tf.tensor2d(p.centroids, [this.numItems, this.dim])));
    this.tower = new TowerInference(p.tower);
  }

  /** Each request's vector: the trained one, else a cold-start vector from its seen items, else none. */
  userBlock(requests: readonly RecommendRequest[], seen: SeenItems): UserBlock {
    const d = this.dim;
    const n = requests.length;
    const sources: (RecommendationSource | undefined)[] = new Array(n);
    const requestOf = new Uint32Array(n);
    const vectors = new Float32Array(n * d);
    let rows = 0;
    for (let r = 0; r < n; r++) {
      const request = requests[r]!;
      const u = trainedRow(this.userIndex, request);
      const s0 = seen.indptr[r]!;
      const s1 = seen.indptr[r + 1]!;
      if (u !== undefined) {
        vectors.set(this.userVectors.subarray(u * d, (u + 1) * d), rows * d);
        sources[r] = 'model';
      } else if (
        coldStartUserVector(
          this.centroids,
          d,
          seen.indices.subarray(s0, s1),
          seen.counts.subarray(s0, s1),
          vectors,
          rows * d,
        )
      ) {
        sources[r] = 'cold-start';
      } else {
        sources[r] = request.history.items.length > 0 ? 'popular' : undefined;
        continue;
      }
      requestOf[rows++] = r;
    }
    const blockRequests = requestOf.subarray(0, rows);
    return {
      vectors: vectors.subarray(0, rows * d),
      rows,
      requestOf: blockRequests,
      sources,
      seen: selectRows(seen, blockRequests),
    };
  }

  rank(block: UserBlock, k: number): { top: TopK; scored: number } {
    const { seen } = block;
    const candidates = this.candidateLists(block, seen);
    const scored = candidates ? candidates.indptr[block.rows]! : block.rows * this.numItems - pairsOf(seen, block.rows);
    return { top: this.tower.recommendVectors(block.vectors, k, { seen, candidates }), scored };
  }

  dispose(): void {
    this.centroidsT.dispose();
    this.tower.dispose();
  }

  /**
   * Each row's candidates: the `nearest` unseen items by centroid affinity, then the `popular` most popular
   * unseen ones not yet chosen (candidates.ts). Undefined with full ranking (every unseen item is ranked).
   */
  private candidateLists(block: UserBlock, seen: ItemRows): ItemRows | undefined {
    if (this.candidates.fullRanking === true) return undefined;
    const { nearest, popular } = this.candidates;
    const m = this.numItems;
    const affinity = nearest > 0 ? this.affinity(block.vectors, block.rows) : new Float32Array(m);
    const perUser = nearest + popular;
    const indices = new Uint32Array(block.rows * perUser);
    const scratch = new Float32Array(block.rows * perUser);
    const indptr = new Uint32Array(block.rows + 1);
    for (let row = 0; row < block.rows; row++) {
      const count = selectCandidates(
        affinity,
        nearest > 0 ? row * m : 0,
        m,
        seen.indices.subarray(seen.indptr[row]!, seen.indptr[row + 1]!),
        this.popularOrder,
        nearest,
        popular,
        this.marks,
        indices,
        scratch,
        indptr[row]!,
      );
      indptr[row + 1] = indptr[row]! + count;
    }
    return { indptr, indices: indices.subarray(0, indptr[block.rows]!) };
  }

  /** Dot products of each user vector with every item's centroid (rows × items), one matmul. */
  private affinity(vectors: Float32Array, rows: number): Float32Array {
    const product = tf.tidy(() => tf.matMul(tf.tensor2d(vectors, [rows, this.dim]), this.centroidsT));
    const affinity = product.dataSync() as Float32Array;
    // tidy keeps the tensor it returns: without this, every call leaked rows × items floats of wasm memory.
    product.dispose();
    return affinity;
  }
}

/** PNCF+'s history model: vectors from the request's history (and the user's own vector), every item ranked. */
class HistoryRanker implements Ranker {
  readonly dim: number;
  private readonly inference: HistoryInference;

  constructor(
    p: PreparedHistoryModel,
    private readonly userIndex: Map<string, number>,
  ) {
    this.dim = p.history.dim;
    this.inference = new HistoryInference(p.history);
  }

  /**
   * A row for each request the model knows (its own vector plus its history: "model") or with at least one item
   * the model knows (the history alone: "cold-start"); the others get none ("popular" with items, else nothing).
   */
  userBlock(requests: readonly RecommendRequest[], seen: SeenItems): UserBlock {
    const n = requests.length;
    const sources: (RecommendationSource | undefined)[] = new Array(n);
    const requestOf = new Uint32Array(n);
    const users = new Int32Array(n);
    let rows = 0;
    for (let r = 0; r < n; r++) {
      const request = requests[r]!;
      const u = trainedRow(this.userIndex, request);
      if (u !== undefined) {
        users[rows] = u;
        sources[r] = 'model';
      } else if (seen.indptr[r + 1]! > seen.indptr[r]!) {
        users[rows] = NO_USER;
        sources[r] = 'cold-start';
      } else {
        sources[r] = request.history.items.length > 0 ? 'popular' : undefined;
        continue;
      }
      requestOf[rows++] = r;
    }
    const blockRequests = requestOf.subarray(0, rows);
    // With the counts: the model may weigh its pool by them.
    const blockSeen = selectRows(seen, blockRequests);
    return {
      vectors: this.inference.userVectors(users.subarray(0, rows), blockSeen),
      rows,
      requestOf: blockRequests,
      sources,
      seen: blockSeen,
    };
  }

  rank(block: UserBlock, k: number): { top: TopK; scored: number } {
    const { seen } = block;
    const top = this.inference.recommendVectors(block.vectors, k, { seen });
    return { top, scored: block.rows * this.inference.numItems - pairsOf(seen, block.rows) };
  }

  dispose(): void {
    this.inference.dispose();
  }
}

/**
 * Everything a ServingModel holds, as plain arrays: what prepareModel computes (the expensive part of a load),
 * so it can run off the main thread and be transferred (see load-worker.ts). One kind per kind of model.
 */
export type PreparedModel = PreparedTowerModel | PreparedHistoryModel;

interface PreparedCommon {
  version: string;
  createdAt: string;
  candidates: CandidateSettings;
  userIds: string[];
  itemIds: string[];
  popularOrder: Uint32Array;
  /** Popularity relative to the most popular item. */
  popularScore: Float32Array;
}

export interface PreparedTowerModel extends PreparedCommon {
  kind: 'tower';
  /** The tower ready for inference, with the user vectors (@pncf/pncf prepareTower). */
  tower: PreparedTower;
  /** Per item, the count^0.75-weighted centroid of its users' vectors (items × dim). */
  centroids: Float32Array;
}

export interface PreparedHistoryModel extends PreparedCommon {
  kind: 'history';
  /** The history model's arrays as the artifact holds them (nothing to precompute). */
  history: HistoryModel;
}

/**
 * The pure, expensive part of loading: popularity from the store snapshot, and for a tower the centroids and the
 * prepared tower.
 */
export function prepareModel(source: ServingModelSource): PreparedModel {
  const { artifact, data } = source;
  // Snapshot item index → model item index (-1: the model does not know it), for centroids and popularity.
  const modelItem = mapIds(data.itemIds, artifact.itemIds);
  const popularity = itemPopularity(artifact, data, modelItem);
  const popularOrder = popularityOrder(popularity, Math.max(POPULAR_KEPT, 2 * source.candidates.popular));
  const top = popularOrder.length > 0 ? popularity[popularOrder[0]!]! : 1;
  const common: PreparedCommon = {
    version: source.version,
    createdAt: source.createdAt,
    candidates: source.candidates,
    userIds: artifact.userIds,
    itemIds: artifact.itemIds,
    popularOrder,
    popularScore: Float32Array.from(popularity, (count) => count / top),
  };
  const { model } = artifact;
  if (isHistoryModel(model)) return { kind: 'history', ...common, history: model };
  return {
    kind: 'tower',
    ...common,
    tower: prepareTower(model),
    centroids: itemCentroids(model, artifact.userIds, data, modelItem),
  };
}

/** The buffers of a prepared model, to transfer (not copy) it between threads. */
export function preparedBuffers(p: PreparedModel): ArrayBuffer[] {
  const arrays: ArrayBufferView[] = [p.popularOrder, p.popularScore];
  if (p.kind === 'history') {
    const h = p.history;
    arrays.push(h.itemInput, h.historyKernel, h.userVectors, h.userKernel, h.itemOutput, h.itemBias);
    return [...new Set(arrays.map((a) => a.buffer as ArrayBuffer))];
  }
  arrays.push(p.centroids);
  return [...new Set([...preparedTowerBuffers(p.tower), ...arrays.map((a) => a.buffer as ArrayBuffer)])];
}

/**
 * Per model item, the count^0.75-weighted centroid of its users' vectors, from the store's snapshot (fresher
 * than the training data) mapped by id; zeros for items the snapshot lacks.
 */
function itemCentroids(model: PncfModel, userIds: string[], data: Interactions, modelItem: Int32Array): Float32Array {
  const d = model.tower.dim;
  const storeCentroids = itemUserCentroids(model.userVectors, d, mapIds(data.userIds, userIds), data.byItem);
  const centroids = new Float32Array(model.numItems * d);
  for (let i = 0; i < modelItem.length; i++) {
    const m = modelItem[i]!;
    if (m >= 0) centroids.set(storeCentroids.subarray(i * d, (i + 1) * d), m * d);
  }
  return centroids;
}

/** Per model item, its total count in the store's snapshot. */
function itemPopularity(artifact: ModelArtifact, data: Interactions, modelItem: Int32Array): Float64Array {
  const { indptr, counts } = data.byItem;
  const popularity = new Float64Array(artifact.model.numItems);
  for (let i = 0; i < modelItem.length; i++) {
    const m = modelItem[i]!;
    if (m < 0) continue;
    for (let p = indptr[i]!; p < indptr[i + 1]!; p++) popularity[m]! += counts[p]!;
  }
  return popularity;
}
