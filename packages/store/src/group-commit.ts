import type { InteractionStore, PartitionBatch, TotalsBatch } from './store.js';

export interface CommittedBatch {
  applied: number;
  duplicates: number;
  sequence: number;
}

interface Pending<B, R> {
  batch: B;
  resolve: (result: R) => void;
  reject: (error: unknown) => void;
}

/**
 * Group commit: batches handed in during the same event-loop turn (kafkajs runs several partitions concurrently)
 * share one LMDB transaction, so one fsync covers all of them. Each caller still learns its own outcome, and
 * nothing resolves before the transaction has committed. `commit` writes the batches in one transaction and
 * answers one result per batch, in order.
 */
export class GroupCommitter<B, R> {
  private queue: Pending<B, R>[] = [];
  private scheduled = false;

  constructor(private readonly commit: (batches: B[]) => R[]) {}

  submit(batch: B): Promise<R> {
    return new Promise((resolve, reject) => {
      this.queue.push({ batch, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.scheduled = false;
    const pending = this.queue;
    this.queue = [];
    try {
      const results = this.commit(pending.map((entry) => entry.batch));
      pending.forEach((entry, k) => {
        entry.resolve(results[k]!);
      });
    } catch (error) {
      for (const entry of pending) entry.reject(error);
    }
  }
}

/** The ingester's: interaction batches added to the counts (applyBatches). */
export function countsCommitter(store: InteractionStore): GroupCommitter<PartitionBatch, CommittedBatch> {
  return new GroupCommitter((batches) => {
    const result = store.applyBatches(batches);
    return result.batches.map((batch) => ({ ...batch, sequence: result.sequence }));
  });
}

/** A materialized view's: changelog batches setting totals (applyTotals). */
export function totalsCommitter(store: InteractionStore): GroupCommitter<TotalsBatch, CommittedBatch> {
  return new GroupCommitter((batches) => {
    const result = store.applyTotals(batches);
    return result.batches.map((batch) => ({ ...batch, sequence: result.sequence }));
  });
}
