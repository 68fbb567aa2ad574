import type { InteractionStore, PartitionBatch } from '@pncf/store';

export interface CommittedBatch {
  applied: number;
  duplicates: number;
  sequence: number;
}

interface Pending {
  batch: PartitionBatch;
  resolve: (result: CommittedBatch) => void;
  reject: (error: unknown) => void;
}

/**
 * Group commit: partition batches handed in during the same event-loop turn (kafkajs runs several partitions
 * concurrently) share one LMDB transaction, so one fsync covers all of them. Each caller still learns its own
 * outcome, and nothing resolves before the transaction has committed.
 */
export class GroupCommitter {
  private queue: Pending[] = [];
  private scheduled = false;

  constructor(private readonly store: InteractionStore) {}

  submit(batch: PartitionBatch): Promise<CommittedBatch> {
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
      const result = this.store.applyBatches(pending.map((entry) => entry.batch));
      pending.forEach((entry, k) => {
        entry.resolve({ ...result.batches[k]!, sequence: result.sequence });
      });
    } catch (error) {
      for (const entry of pending) entry.reject(error);
    }
  }
}
