import { type Interactions, indexOfIds, mapIds } from '@pncf/data';
import { coldStartUserVector, itemUserCentroids } from './cold-start.js';
import type { ItemRows, PncfModel } from './inference.js';

export interface RemappedModel {
  /** The model's tables re-indexed to the target id space; unknown items get zero vectors. */
  model: PncfModel;
  /** 1 where the model knows the target item; unknown items must not be recommended by this model. */
  knownItems: Uint8Array;
  knownUsers: number;
  coldUsers: number;
}

/**
 * Re-index a trained model onto another id space (a newer snapshot of the store), so the serving model can be
 * scored on the same holdout as a candidate. Users it does not know get a cold-start vector from their items
 * in `data`.
 */
export function remapModel(
  model: PncfModel,
  modelUserIds: string[],
  modelItemIds: string[],
  data: Interactions,
): RemappedModel {
  const dim = model.tower.dim;
  const userIndex = indexOfIds(modelUserIds);
  const itemIndex = indexOfIds(modelItemIds);
  const numUsers = data.userIds.length;
  const numItems = data.itemIds.length;

  const modelUser = mapIds(data.userIds, userIndex);
  const itemVectors = new Float32Array(numItems * dim);
  const knownItems = new Uint8Array(numItems);
  for (let i = 0; i < numItems; i++) {
    const m = itemIndex.get(data.itemIds[i]!);
    if (m === undefined) continue;
    knownItems[i] = 1;
    itemVectors.set(model.itemVectors.subarray(m * dim, (m + 1) * dim), i * dim);
  }

  const userVectors = new Float32Array(numUsers * dim);
  const centroids = itemUserCentroids(model.userVectors, dim, modelUser, data.byItem);
  let knownUsers = 0;
  let coldUsers = 0;
  const { indptr, indices, counts } = data.byUser;
  for (let u = 0; u < numUsers; u++) {
    const m = modelUser[u]!;
    if (m >= 0) {
      userVectors.set(model.userVectors.subarray(m * dim, (m + 1) * dim), u * dim);
      knownUsers++;
    } else {
      const start = indptr[u]!;
      const end = indptr[u + 1]!;
      if (
        coldStartUserVector(
          centroids,
          dim,
          indices.subarray(start, end),
          counts.subarray(start, end),
          userVectors,
          u * dim,
        )
      ) {
        coldUsers++;
      }
    }
  }
  return {
    model: { numUsers, numItems, userVectors, itemVectors, tower: model.tower },
    knownItems,
    knownUsers,
    coldUsers,
  };
}

/**
 * Each user's items in `data` as item indices of a model with items `modelItemIds`, with their counts; items the
 * model does not know are left out (a history model's histories on a newer snapshot).
 */
export function historiesInModelSpace(data: Interactions, modelItemIds: string[]): ItemRows & { counts: Uint32Array } {
  const modelItem = mapIds(data.itemIds, modelItemIds);
  const { indptr, indices, counts, rows } = data.byUser;
  const outIndptr = new Uint32Array(rows + 1);
  const outIndices = new Uint32Array(indices.length);
  const outCounts = new Uint32Array(indices.length);
  let at = 0;
  for (let u = 0; u < rows; u++) {
    for (let p = indptr[u]!; p < indptr[u + 1]!; p++) {
      const j = modelItem[indices[p]!]!;
      if (j < 0) continue;
      outIndices[at] = j;
      outCounts[at++] = counts[p]!;
    }
    outIndptr[u + 1] = at;
  }
  return { indptr: outIndptr, indices: outIndices.subarray(0, at), counts: outCounts.subarray(0, at) };
}
