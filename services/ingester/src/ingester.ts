import {
  createKafka,
  kafkaMetadataRetry,
  kafkaSecurity,
  keyHashPartitioner,
  type Logger,
  type TopicSpec,
  withRetry,
} from '@pncf/runtime';
import { countsChangelogTopic, countsCommitter, InteractionStore } from '@pncf/store';
import type { Admin, Consumer, EachBatchPayload, Producer } from 'kafkajs';
import type { Registry } from 'prom-client';
import { ChangelogRelay } from './changelog-relay.js';
import { classifyMessages, deadLetterMessage } from './classify.js';
import type { IngesterConfig } from './config.js';
import { createIngesterMetrics } from './metrics.js';

/** What one stored batch looked like; for benchmarks and tests that watch the ingester in-process. */
export interface StoredBatch {
  topic: string;
  partition: number;
  applied: number;
  duplicates: number;
  rejected: number;
  /** Kafka timestamps (produce time, epoch ms) of the messages of the batch. */
  timestamps: Float64Array;
  /** When the LMDB transaction committed, epoch ms. */
  storedAt: number;
}

export interface IngesterOptions {
  config: IngesterConfig;
  logger: Logger;
  metricsRegistry: Registry;
  /** An admin connection whose topics exist already (see connectKafkaAdmin). */
  admin: Admin;
  onBatchStored?: (batch: StoredBatch) => void;
}

export interface Ingester {
  stop(): Promise<void>;
  /** Partitions this member owns since the last rebalance. */
  assignment(): number[];
  joined(): boolean;
  store: InteractionStore;
}

/** The topics the ingester reads and writes, as it creates them (the changelog compacted: one total per pair). */
export function ingesterTopics(config: IngesterConfig): TopicSpec[] {
  return [
    { topic: config.INTERACTIONS_TOPIC, partitions: config.INTERACTIONS_PARTITIONS },
    { topic: config.DEAD_LETTER_TOPIC, partitions: 1 },
    ...(config.CHANGELOG_ENABLED ? [countsChangelogTopic(config.CHANGELOG_TOPIC, config.CHANGELOG_PARTITIONS)] : []),
  ];
}

/**
 * The consumer loop: each fetched batch of one partition is written in one LMDB transaction together with
 * the partition's next offset (batches of partitions consumed concurrently share that transaction). LMDB is
 * the source of truth for offsets: on every assignment the consumer seeks to them; Kafka commits only keep
 * standard lag tools informed.
 */
export async function startIngester(options: IngesterOptions): Promise<Ingester> {
  const { config, logger, admin } = options;
  const topic = config.INTERACTIONS_TOPIC;
  const store = InteractionStore.open({
    path: config.STORE_PATH,
    mapSizeBytes: config.STORE_MAP_SIZE_MB * 2 ** 20,
    noSync: config.STORE_NO_SYNC,
    changelogOutbox: config.CHANGELOG_ENABLED,
  });
  let assigned: number[] = [];
  const lag = async (): Promise<Map<number, number>> => {
    const ends = await admin.fetchTopicOffsets(topic);
    const stored = store.storedOffsets(topic);
    const lags = new Map<number, number>();
    for (const end of ends) {
      if (!assigned.includes(end.partition)) continue;
      const from = stored.get(end.partition) ?? BigInt(end.low);
      lags.set(end.partition, Math.max(0, Number(BigInt(end.high) - from)));
    }
    return lags;
  };
  const metrics = createIngesterMetrics(options.metricsRegistry, store, topic, lag);
  const committer = countsCommitter(store);
  const kafka = createKafka({
    brokers: config.KAFKA_BROKERS,
    clientId: 'pncf-ingester',
    logger,
    security: kafkaSecurity(config),
  });
  const producer: Producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
    createPartitioner: keyHashPartitioner,
  });
  const relay = config.CHANGELOG_ENABLED
    ? new ChangelogRelay({
        store,
        producer,
        topic: config.CHANGELOG_TOPIC,
        batchPairs: config.CHANGELOG_BATCH_PAIRS,
        readPairs: config.CHANGELOG_READ_PAIRS,
        onSent: (records) => metrics.changelogSent.inc(records),
      })
    : undefined;
  const consumer: Consumer = kafka.consumer({
    groupId: config.CONSUMER_GROUP,
    sessionTimeout: config.SESSION_TIMEOUT_MS,
    heartbeatInterval: config.HEARTBEAT_INTERVAL_MS,
    maxBytesPerPartition: config.FETCH_MAX_BYTES_PER_PARTITION,
    maxBytes: config.FETCH_MAX_BYTES_PER_PARTITION * 4,
    maxWaitTimeInMs: config.FETCH_MAX_WAIT_MS,
    allowAutoTopicCreation: false,
  });

  // Where to start a partition the store has never seen: its first retained offset. A freshly created topic may
  // not be served by its leader yet; metadata calls then fail for a moment with retriable errors.
  const lowWatermarks = new Map<number, string>();
  const offsets = await withRetry(() => admin.fetchTopicOffsets(topic), {
    ...kafkaMetadataRetry,
    onRetry: ({ error, attempt, delayMs }) =>
      logger.warn({ err: error, attempt, delayMs }, 'listing the offsets of the interactions topic failed; retrying'),
  });
  for (const entry of offsets) lowWatermarks.set(entry.partition, entry.low);

  let joined = false;
  consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
    assigned = payload.memberAssignment[topic] ?? [];
    joined = true;
    metrics.assigned.set(assigned.length);
    const stored = store.storedOffsets(topic);
    const seeks: Record<number, string> = {};
    for (const partition of assigned) {
      const offset = stored.get(partition)?.toString() ?? lowWatermarks.get(partition) ?? '0';
      seeks[partition] = offset;
      consumer.seek({ topic, partition, offset });
    }
    logger.info({ partitions: assigned, seeks }, 'partitions assigned; seeking to the offsets stored in LMDB');
  });
  consumer.on(consumer.events.CRASH, ({ payload }) => {
    logger.error({ err: payload.error, restart: payload.restart }, 'consumer crashed');
    // kafkajs gave up (a non-retriable error): exit so the supervisor restarts us. Every committed
    // transaction is complete, so nothing is lost; the new process seeks to the stored offsets.
    if (!payload.restart) process.exit(1);
  });

  const handleBatch = async ({
    batch,
    resolveOffset,
    heartbeat,
    isRunning,
    isStale,
    commitOffsetsIfNecessary,
  }: EachBatchPayload) => {
    if (batch.isEmpty() || !isRunning() || isStale()) return;
    const started = performance.now();
    const { events, erasures, rejected } = classifyMessages(batch.messages);
    metrics.consumed.inc(batch.messages.length);
    if (rejected.length > 0) {
      // Before the LMDB commit, so a crash can duplicate a dead letter but never lose one.
      await producer.send({
        topic: config.DEAD_LETTER_TOPIC,
        acks: -1,
        messages: rejected.map((entry) => deadLetterMessage(entry, batch.topic, batch.partition)),
      });
      for (const entry of rejected) metrics.deadLettered.inc({ reason: entry.reason });
    }
    const lastOffset = batch.lastOffset();
    const result = await committer.submit({
      topic: batch.topic,
      partition: batch.partition,
      events,
      erasures,
      nextOffset: BigInt(lastOffset) + 1n,
    });
    const storedAt = Date.now();
    if (relay) {
      // The changelog is sent beside consuming, so commits do not wait for its round trips, and a pair changed
      // again before its send goes out once. Past the bound consuming waits for it; a send that then fails fails
      // the batch, which kafkajs re-delivers (its events are skipped as duplicates; the drain runs again).
      const published = relay.flush();
      if (store.outboxSize() > config.CHANGELOG_MAX_OUTBOX_PAIRS) await published;
      else published.catch((error) => logger.warn({ err: error }, 'changelog send failed; the outbox keeps the pairs'));
    }
    resolveOffset(lastOffset);

    metrics.stored.inc(result.applied);
    metrics.duplicates.inc(result.duplicates);
    metrics.erasures.inc(erasures.length);
    metrics.batchSize.observe(batch.messages.length);
    metrics.batchSeconds.observe((performance.now() - started) / 1000);
    const timestamps = new Float64Array(batch.messages.length);
    for (let k = 0; k < timestamps.length; k++) {
      timestamps[k] = Number(batch.messages[k]!.timestamp);
      metrics.delaySeconds.observe((storedAt - timestamps[k]!) / 1000);
    }
    options.onBatchStored?.({
      topic: batch.topic,
      partition: batch.partition,
      applied: result.applied,
      duplicates: result.duplicates,
      rejected: rejected.length,
      timestamps,
      storedAt,
    });
    await commitOffsetsIfNecessary();
    await heartbeat();
  };

  await producer.connect();
  // What a crash left between an LMDB commit and its changelog send goes out before anything new is consumed.
  const leftOver = store.outboxSize();
  if (relay && leftOver > 0) {
    logger.info({ pairs: leftOver }, 'sending the changelog outbox left by the last run');
    await relay.flush();
  }
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    autoCommit: true,
    autoCommitInterval: config.KAFKA_COMMIT_INTERVAL_MS,
    eachBatchAutoResolve: false,
    partitionsConsumedConcurrently: config.PARTITIONS_CONSUMED_CONCURRENTLY,
    eachBatch: handleBatch,
  });

  return {
    store,
    assignment: () => assigned,
    joined: () => joined,
    async stop() {
      // disconnect waits for the batch in flight, so its transaction and offsets land before we exit.
      await consumer.disconnect();
      // What the outbox holds now goes out before the producer closes (a failure leaves it for the next start).
      await relay?.flush().catch((error) => logger.warn({ err: error }, 'changelog send at stop failed'));
      await producer.disconnect();
      await store.close();
    },
  };
}
