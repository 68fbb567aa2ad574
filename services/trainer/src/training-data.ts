import { alignPairValues, type Interactions, isKCore, kCore } from '@pncf/data';
import type { StoreSnapshot } from '@pncf/store';

/** What a run trains on: the snapshot's interactions and each pair's first-seen sequence, aligned. */
export interface TrainingData {
  data: Interactions;
  firstSeen: Float64Array;
}

/**
 * The snapshot reduced to users and items with at least max(1, kcore) pairs. A view keeps the ids of an erased
 * user (and of items only they had) with no pair left: such rows must not reach the model, where a warm start by
 * id would carry their old vectors on into every later version.
 */
export function trainingData(snapshot: Pick<StoreSnapshot, 'interactions' | 'firstSeen'>, kcore: number): TrainingData {
  const k = Math.max(1, kcore);
  const { interactions, firstSeen } = snapshot;
  if (isKCore(interactions, k)) return { data: interactions, firstSeen };
  const core = kCore(interactions, k);
  // The k-core re-indexes users and items: each pair's first-seen sequence is carried over by id.
  return { data: core, firstSeen: alignPairValues(interactions, firstSeen, core) };
}
