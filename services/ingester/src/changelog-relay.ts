import { setTimeout as delay } from 'node:timers/promises';
import { interactionCountMessage } from '@pncf/events';
import { ensureTopics } from '@pncf/runtime';
import { countsChangelogTopic, type InteractionStore, type PendingChange } from '@pncf/store';
import type { Kafka, Producer } from 'kafkajs';

export interface ChangelogRelayOptions {
  /** A store opened with changelogOutbox. */
  store: InteractionStore;
  /** Idempotent, one request in flight: a pair's totals reach its partition in the order they were sent. */
  producer: Producer;
  topic: string;
  /** Pairs per producer request. */
  batchPairs: number;
  /** Outbox entries read in one read transaction and cleared in one write transaction; batchPairs when unset. */
  readPairs?: number;
  onSent?: (records: number) => void;
}

const RELAY_LOCK_POLL_MS = 20;

/** Whether a process of this host exists (signal 0 checks without sending anything; EPERM: it exists, not ours). */
function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A pending pair's changelog record, as bytes: the partitioner hashes the key's, and kafkajs copies both as they are. */
function changelogRecord(change: PendingChange): { key: Buffer; value: Buffer | null } {
  const { key, value } = interactionCountMessage(change);
  return { key: Buffer.from(key), value: value === null ? null : Buffer.from(value) };
}

/**
 * The relay of the transactional outbox: the store records every changed pair in the transaction that changes it;
 * the relay reads a round of entries, sends each pair's total as it was read (acks from all in-sync replicas, in
 * requests of batchPairs: kafkajs groups a request's messages by partition in time quadratic in their number), then
 * clears the round's entries. A crash before the clear only re-sends the same totals or newer ones. A pair appears
 * once per round and rounds follow each other, so its totals reach the topic in the order they were read. Drains
 * never overlap: a flush requested while one runs is served by one more drain after it, so every commit before a
 * flush() is published when it resolves.
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
    const { store, producer, topic, batchPairs, readPairs = batchPairs, onSent } = this.options;
    // Another ingester process on the same store may be relaying: wait for its round to end (its drain sends this
    // process's entries too when they are committed before it reads).
    while (!store.claimRelay(process.pid, processAlive)) await delay(RELAY_LOCK_POLL_MS);
    try {
      for (;;) {
        const pending = store.pendingChanges(readPairs);
        if (pending.length === 0) return;
        for (let start = 0; start < pending.length; start += batchPairs) {
          const part = pending.slice(start, start + batchPairs);
          await producer.send({ topic, acks: -1, messages: part.map(changelogRecord) });
          onSent?.(part.length);
        }
        store.clearChanges(pending);
      }
    } finally {
      store.releaseRelay(process.pid);
    }
  }
}

/**
 * Everything in `store`'s outbox (a store opened with `changelogOutbox`, e.g. filled by a benchmark or a test rather
 * than by the ingester) published to the changelog `topic`, created compacted when missing, by the relay itself:
 * the topic then holds what an ingester that had counted the same events would have published.
 */
export async function publishOutbox(kafka: Kafka, topic: string, store: InteractionStore): Promise<void> {
  const admin = kafka.admin();
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
  try {
    await admin.connect();
    await ensureTopics(admin, [countsChangelogTopic(topic)]);
    await producer.connect();
    await new ChangelogRelay({ store, producer, topic, batchPairs: 5000 }).flush();
  } finally {
    await producer.disconnect();
    await admin.disconnect();
  }
}
