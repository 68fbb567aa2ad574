import os from 'node:os';
import { parseInteractionCount } from '@pncf/events';
import {
  createKafka,
  type KafkaSecurity,
  kafkaMetadataRetry,
  type Logger,
  type TopicSpec,
  withRetry,
} from '@pncf/runtime';
import type { Admin, Consumer, EachBatchPayload } from 'kafkajs';
import { Counter, Gauge, type Registry } from 'prom-client';
import { catchUpProgress, isCaughtUp, type PartitionEnd, type PartitionProgress } from './catch-up.js';
import { totalsCommitter } from './group-commit.js';
import { InteractionStore, type TotalChange } from './store.js';

/**
 * The counts changelog as whoever starts first creates it: compacted, so the topic keeps the latest total of every
 * pair (and, for a while, the tombstones) however long it runs.
 */
export function countsChangelogTopic(topic: string, partitions = 4): TopicSpec {
  return { topic, partitions, config: { 'cleanup.policy': 'compact' } };
}

export interface CountsViewOptions {
  brokers: string[];
  /** The compacted counts changelog (the ingester's CHANGELOG_TOPIC). */
  topic: string;
  /**
   * Directory of the view's own LMDB store (created when missing), or the store opened already (a service that
   * serves reads from it before Kafka answers); the view owns it either way and closes it on stop().
   */
  path?: string;
  store?: InteractionStore;
  mapSizeBytes?: number;
  noSync?: boolean;
  /**
   * Prefix of the consumer group. Every view reads every partition, so each process joins a group of its own
   * (prefix-host-pid); the positions that count are the ones stored in LMDB, never the group's.
   */
  groupPrefix: string;
  clientId: string;
  logger: Logger;
  /** An admin connection (the service's) to read the partition ends at start-up. */
  admin: Admin;
  /** TLS/SASL of the service's Kafka connections (KAFKA_SECURITY_PROTOCOL and its variables). */
  security?: KafkaSecurity;
  /** Bounds one fetch, and so one batch of LMDB writes. */
  fetchMaxBytesPerPartition?: number;
  /** Partitions whose batches may share one LMDB transaction (group commit). */
  partitionsConsumedConcurrently?: number;
  /** Where the view's pncf_counts_view_* metrics go. */
  metricsRegistry?: Registry;
  /**
   * Called with each batch's changes once their transaction committed (so a read made then sees them): a reader
   * that caches what it derived from the view (the scorer's Top-K cache) drops what they touch.
   */
  onApplied?: (changes: readonly TotalChange[]) => void;
}

export interface CountsView {
  /** The view's store: read it freely; only the view writes it. */
  readonly store: InteractionStore;
  /** Whether every partition reached the end it had when the view started. */
  caughtUp(): boolean;
  /** Resolves once caughtUp() (at once when it already is). */
  whenCaughtUp(): Promise<void>;
  progress(): PartitionProgress[];
  /** For readiness reports: caught up or not, and the size of the view. */
  status(): CountsViewStatus;
  stop(): Promise<void>;
}

export interface CountsViewStatus {
  caughtUp: boolean;
  pairs: number;
  total: number;
}

/**
 * A materialized view of the counts changelog in a local InteractionStore it owns: each record SETS its pair's
 * total (a tombstone deletes the pair), and each partition's next offset is stored in the same LMDB transaction,
 * so a restart resumes from the store, and re-delivered records only rewrite the same totals. Reads every
 * partition from the position stored (or the first retained offset), and reports when it reached the ends the
 * partitions had at start-up, so the service that owns it can report ready only then.
 */
export async function startCountsView(options: CountsViewOptions): Promise<CountsView> {
  const { topic, logger, admin } = options;
  if ((options.path === undefined) === (options.store === undefined)) {
    throw new Error('startCountsView: give either the path of the view or its store');
  }
  const store =
    options.store ??
    InteractionStore.open({
      path: options.path!,
      ...(options.mapSizeBytes ? { mapSizeBytes: options.mapSizeBytes } : {}),
      noSync: options.noSync ?? false,
    });
  const listed = await withRetry(() => admin.fetchTopicOffsets(topic), {
    ...kafkaMetadataRetry,
    onRetry: ({ error, attempt, delayMs }) =>
      logger.warn({ err: error, attempt, delayMs }, 'listing the offsets of the changelog failed; retrying'),
  });
  const ends: PartitionEnd[] = listed.map((entry) => ({
    partition: entry.partition,
    low: BigInt(entry.low),
    high: BigInt(entry.high),
  }));
  const started = performance.now();
  const progress = () => catchUpProgress(ends, store.storedOffsets(topic));
  const metrics = options.metricsRegistry ? viewMetrics(options.metricsRegistry) : undefined;
  let reached: () => void = () => undefined;
  const caughtUpPromise = new Promise<void>((resolve) => {
    reached = resolve;
  });
  let caughtUp = false;
  const checkCaughtUp = () => {
    if (caughtUp || !isCaughtUp(progress())) return;
    caughtUp = true;
    const seconds = (performance.now() - started) / 1000;
    metrics?.caughtUp.set(1);
    metrics?.catchUpSeconds.set(seconds);
    logger.info({ topic, seconds: Number(seconds.toFixed(3)), ...store.stats() }, 'counts view caught up');
    reached();
  };
  checkCaughtUp();

  const committer = totalsCommitter(store);
  const kafka = createKafka({
    brokers: options.brokers,
    clientId: options.clientId,
    logger,
    ...(options.security ? { security: options.security } : {}),
  });
  const consumer: Consumer = kafka.consumer({
    groupId: `${options.groupPrefix}-${os.hostname()}-${process.pid}`,
    maxBytesPerPartition: options.fetchMaxBytesPerPartition ?? 2 * 1024 * 1024,
    maxBytes: (options.fetchMaxBytesPerPartition ?? 2 * 1024 * 1024) * 4,
    maxWaitTimeInMs: 100,
    allowAutoTopicCreation: false,
  });
  consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
    const stored = store.storedOffsets(topic);
    for (const partition of payload.memberAssignment[topic] ?? []) {
      const end = ends.find((entry) => entry.partition === partition);
      const offset = stored.get(partition) ?? end?.low ?? 0n;
      consumer.seek({ topic, partition, offset: offset.toString() });
    }
  });

  const handleBatch = async ({ batch, heartbeat, isRunning, isStale }: EachBatchPayload) => {
    if (batch.isEmpty() || !isRunning() || isStale()) return;
    const changes: TotalChange[] = [];
    for (const message of batch.messages) {
      try {
        changes.push({ offset: BigInt(message.offset), ...parseInteractionCount(message.key, message.value) });
      } catch (error) {
        // Only the ingester writes this topic; a record it could not have written is skipped, not retried forever.
        metrics?.rejected.inc();
        logger.warn({ err: error, partition: batch.partition, offset: message.offset }, 'malformed changelog record');
      }
    }
    const result = await committer.submit({
      topic: batch.topic,
      partition: batch.partition,
      changes,
      nextOffset: BigInt(batch.lastOffset()) + 1n,
    });
    metrics?.applied.inc(result.applied);
    if (result.applied > 0) options.onApplied?.(changes);
    checkCaughtUp();
    await heartbeat();
  };

  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    autoCommit: false,
    eachBatchAutoResolve: true,
    partitionsConsumedConcurrently: options.partitionsConsumedConcurrently ?? 4,
    eachBatch: handleBatch,
  });

  return {
    store,
    caughtUp: () => caughtUp,
    whenCaughtUp: () => caughtUpPromise,
    progress,
    status: () => {
      const { pairs, total } = store.stats();
      return { caughtUp, pairs, total };
    },
    async stop() {
      // disconnect waits for the batch in flight, so its transaction lands before the store closes.
      await consumer.disconnect();
      await store.close();
    },
  };
}

function viewMetrics(metricsRegistry: Registry) {
  const registers = [metricsRegistry];
  return {
    applied: new Counter({
      name: 'pncf_counts_view_changes_applied_total',
      help: 'Changelog records (pair totals and tombstones) written to the local counts view',
      registers,
    }),
    rejected: new Counter({
      name: 'pncf_counts_view_records_rejected_total',
      help: 'Changelog records skipped because they do not match the interaction-count contract',
      registers,
    }),
    caughtUp: new Gauge({
      name: 'pncf_counts_view_caught_up',
      help: '1 once the view reached the changelog ends read at start-up',
      registers,
    }),
    catchUpSeconds: new Gauge({
      name: 'pncf_counts_view_catch_up_seconds',
      help: 'Time from the start of the view to reaching the changelog ends read at start-up',
      registers,
    }),
  };
}
