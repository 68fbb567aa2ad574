import { interactionCountMessage } from '@pncf/events';
import type { InteractionStore } from '@pncf/store';
import type { Producer } from 'kafkajs';

export interface ChangelogRelayOptions {
  /** A store opened with changelogOutbox. */
  store: InteractionStore;
  /** Idempotent, one request in flight: a pair's totals reach its partition in the order they were sent. */
  producer: Producer;
  topic: string;
  /** Pairs per producer send. */
  batchPairs: number;
  onSent?: (records: number) => void;
}

/**
 * The relay of the transactional outbox: the store records every changed pair in the transaction that changes it;
 * the relay sends each pair's total as it is now (acks from all in-sync replicas), then clears the entries it
 * sent. A crash before the clear only re-sends the same totals. Drains never overlap: a flush requested while one
 * runs is served by one more drain after it, so every commit before a flush() is published when it resolves.
 */
export class ChangelogRelay {
  private running: Promise<void> | undefined;
  private next: Promise<void> | undefined;

  constructor(private readonly options: ChangelogRelayOptions) {}

  flush(): Promise<void> {
    if (this.next) return this.next;
    if (!this.running) {
      this.running = this.drain().finally(() => {
        this.running = undefined;
      });
      return this.running;
    }
    const after = this.running.catch(() => undefined);
    this.next = after.then(() => {
      this.next = undefined;
      return this.flush();
    });
    return this.next;
  }

  private async drain(): Promise<void> {
    const { store, producer, topic, batchPairs, onSent } = this.options;
    for (;;) {
      const pending = store.pendingChanges(batchPairs);
      if (pending.length === 0) return;
      await producer.send({ topic, acks: -1, messages: pending.map(interactionCountMessage) });
      store.clearChanges(pending);
      onSent?.(pending.length);
    }
  }
}
