import { setTimeout as sleep } from 'node:timers/promises';
import { type InteractionEvent, toKafkaMessage } from '@pncf/events';
import type { Kafka } from 'kafkajs';

export interface PublishOptions {
  kafka: Kafka;
  topic: string;
  events: Iterable<InteractionEvent> | AsyncIterable<InteractionEvent>;
  /** Events per second; 0 or undefined for as fast as the broker takes them. */
  rate?: number;
  /** Events per produce request. */
  batchSize?: number;
  /** Stop after this many events. */
  limit?: number;
  /** Called after every acknowledged produce request with the events sent so far. */
  onProgress?: (events: number) => void | Promise<void>;
  signal?: AbortSignal;
}

export interface PublishResult {
  events: number;
  seconds: number;
}

/**
 * Publish interaction events to Kafka (key = user), acknowledged by all in-sync replicas, paced to `rate`.
 * An idempotent producer with one request in flight keeps each user's events in order without duplicates.
 */
export async function publishEvents(options: PublishOptions): Promise<PublishResult> {
  const batchSize = options.batchSize ?? 2000;
  const limit = options.limit ?? Number.POSITIVE_INFINITY;
  // Small batches at low rates keep the pacing smooth.
  const flushAt = options.rate ? Math.max(1, Math.min(batchSize, Math.ceil(options.rate / 20))) : batchSize;
  const producer = options.kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
  await producer.connect();
  const started = performance.now();
  let sent = 0;
  let pending: { key: string; value: string }[] = [];
  const flush = async () => {
    if (pending.length === 0) return;
    await producer.send({ topic: options.topic, acks: -1, messages: pending });
    sent += pending.length;
    pending = [];
    await options.onProgress?.(sent);
    if (options.rate) {
      const due = (sent / options.rate) * 1000 - (performance.now() - started);
      if (due > 0) await sleep(due);
    }
  };
  try {
    for await (const event of options.events) {
      if (options.signal?.aborted) break;
      pending.push(toKafkaMessage(event));
      if (sent + pending.length >= limit) break;
      if (pending.length >= flushAt) await flush();
    }
    await flush();
  } finally {
    await producer.disconnect();
  }
  return { events: sent, seconds: (performance.now() - started) / 1000 };
}
