/** Where a partition ended when a view started: its first retained offset and its end (next offset to be written). */
export interface PartitionEnd {
  partition: number;
  low: bigint;
  high: bigint;
}

/** Per partition, how far a view is: position (next offset to read) against the end it must reach. */
export interface PartitionProgress {
  partition: number;
  position: bigint;
  target: bigint;
}

/**
 * A view's progress towards the ends read at its start. A partition the view has never read from is at its low
 * watermark: an empty partition (low = high) is reached at once.
 */
export function catchUpProgress(
  ends: readonly PartitionEnd[],
  positions: ReadonlyMap<number, bigint>,
): PartitionProgress[] {
  return ends.map((end) => ({
    partition: end.partition,
    position: positions.get(end.partition) ?? end.low,
    target: end.high,
  }));
}

/** Caught up: every partition's position is at or past the end read at the start. */
export const isCaughtUp = (progress: readonly PartitionProgress[]): boolean =>
  progress.every((entry) => entry.position >= entry.target);
