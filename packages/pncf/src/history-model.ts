import { mapIds } from '@pncf/data';
import type { ItemRows } from './inference.js';

/**
 * PNCF+'s scorer: a history-aware user side over the pre-trained space and a dot-product item side.
 *
 *   user(u)    = pool_{i ∈ history(u)} itemInput[i] · historyKernel + userVectors[u] · userKernel
 *   score(u,j) = user(u) · itemOutput[j] + itemBias[j]
 *
 * itemInput / userVectors start as the word2vec input tables, itemOutput as the item model's context table,
 * historyKernel as the identity and userKernel as zero, so training starts from the pre-trained geometry
 * (an item scores by its word2vec affinity with the user's items). A user the model has never seen (or one
 * whose history grew since) is represented by their history alone: no refit is needed to serve them.
 */
export interface HistoryModel {
  kind: 'history';
  numUsers: number;
  numItems: number;
  dim: number;
  /** numItems × dim: what a history item contributes (mean-pooled). */
  itemInput: Float32Array;
  /** dim × dim, row-major: maps the pooled history. */
  historyKernel: Float32Array;
  /** numUsers × dim: each trained user's own vector. */
  userVectors: Float32Array;
  /** dim × dim: maps the user's own vector. */
  userKernel: Float32Array;
  /** numItems × dim: what an item is scored against. */
  itemOutput: Float32Array;
  /** numItems */
  itemBias: Float32Array;
  /**
   * The pool: Σ w_i · itemInput[i] / (Σ w_i)^poolNormExponent with w_i = count_i^poolCountExponent (default 0:
   * every item 1) and poolNormExponent default 1 (a weighted mean; 0.5 lets longer histories speak louder).
   */
  poolCountExponent?: number;
  poolNormExponent?: number;
}

/** Item rows of histories, with each item's count when the pool weighs counts. */
export type HistoryRows = ItemRows & { counts?: ArrayLike<number> };

/** The weight of history item p in the pool. */
const poolWeight = (exponent: number, counts: ArrayLike<number> | undefined, p: number): number =>
  exponent === 0 || !counts ? 1 : counts[p]! ** exponent;

/** Marks a user with no trained vector (a new user, represented by their history only). */
export const NO_USER = -1;

/**
 * The user vectors of a block of users: row b of `out` (rows × dim) is user(users[b]) with history
 * `history` row b (item indices of the model; indices ≥ numItems, e.g. items newer than the model, are skipped).
 * `users[b]` may be NO_USER. `scratch` is dim floats.
 */
export function historyUserVectors(
  model: HistoryModel,
  users: Int32Array | Uint32Array,
  history: HistoryRows,
  out: Float32Array,
  scratch: Float32Array = new Float32Array(model.dim),
): void {
  const d = model.dim;
  const { itemInput, historyKernel, userVectors, userKernel } = model;
  const countExponent = model.poolCountExponent ?? 0;
  const normExponent = model.poolNormExponent ?? 1;
  for (let b = 0; b < users.length; b++) {
    scratch.fill(0);
    let n = 0;
    for (let p = history.indptr[b]!; p < history.indptr[b + 1]!; p++) {
      const item = history.indices[p]!;
      if (item >= model.numItems) continue;
      const w = poolWeight(countExponent, history.counts, p);
      const row = item * d;
      for (let k = 0; k < d; k++) scratch[k]! += w * itemInput[row + k]!;
      n += w;
    }
    const o = b * d;
    out.fill(0, o, o + d);
    if (n > 0) {
      const inv = 1 / n ** normExponent;
      for (let k = 0; k < d; k++) {
        const v = scratch[k]! * inv;
        if (v === 0) continue;
        const kr = k * d;
        for (let c = 0; c < d; c++) out[o + c]! += v * historyKernel[kr + c]!;
      }
    }
    const u = users[b]!;
    if (u >= 0 && u < model.numUsers) {
      const row = u * d;
      for (let k = 0; k < d; k++) {
        const v = userVectors[row + k]!;
        if (v === 0) continue;
        const kr = k * d;
        for (let c = 0; c < d; c++) out[o + c]! += v * userKernel[kr + c]!;
      }
    }
  }
}

/**
 * Continue from an earlier history model on a newer id space (online retraining): rows of users and items the
 * earlier model knew are copied from it (matched by id), new rows keep `fresh`'s (this fit's pre-trained
 * tables); the kernels are the earlier model's.
 */
export function warmStartHistoryModel(
  previous: HistoryModel,
  previousUserIds: string[],
  previousItemIds: string[],
  fresh: HistoryModel,
  ids: { userIds: string[]; itemIds: string[] },
): HistoryModel {
  const d = fresh.dim;
  const out: HistoryModel = {
    ...fresh,
    itemInput: fresh.itemInput.slice(),
    userVectors: fresh.userVectors.slice(),
    itemOutput: fresh.itemOutput.slice(),
    itemBias: fresh.itemBias.slice(),
    historyKernel: previous.historyKernel.slice(),
    userKernel: previous.userKernel.slice(),
  };
  const users = mapIds(ids.userIds, previousUserIds);
  for (let u = 0; u < users.length; u++) {
    const p = users[u]!;
    if (p >= 0) out.userVectors.set(previous.userVectors.subarray(p * d, (p + 1) * d), u * d);
  }
  const items = mapIds(ids.itemIds, previousItemIds);
  for (let i = 0; i < items.length; i++) {
    const p = items[i]!;
    if (p < 0) continue;
    out.itemInput.set(previous.itemInput.subarray(p * d, (p + 1) * d), i * d);
    out.itemOutput.set(previous.itemOutput.subarray(p * d, (p + 1) * d), i * d);
    out.itemBias[i] = previous.itemBias[p]!;
  }
  return out;
}
