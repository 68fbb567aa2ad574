import { commonConfigShape, env, kafkaSecurityChecks, withCrossChecks } from '@pncf/runtime';
import { z } from 'zod';

const ingesterVariables = z.object({
  ...commonConfigShape,
  HTTP_PORT: env.port(9101, 'Port of the ingester HTTP server (/healthz, /metrics)'),
  INTERACTIONS_TOPIC: env.string('interactions', 'Topic of interaction events'),
  INTERACTIONS_PARTITIONS: env.positiveInt(4, 'Partitions of the interactions topic when the ingester creates it'),
  DEAD_LETTER_TOPIC: env.string('interactions.dead-letter', 'Topic that receives malformed events with the reason'),
  CHANGELOG_TOPIC: env.string(
    'interaction-counts',
    'Compacted topic of the new total of every changed (user, item) pair (key [user, item]; no value: the pair is gone)',
  ),
  CHANGELOG_PARTITIONS: env.positiveInt(4, 'Partitions of the counts changelog when the ingester creates it'),
  CHANGELOG_ENABLED: env.flag(
    true,
    'Publish the counts changelog through the store’s outbox (the trainer’s and the scorer’s views read it)',
  ),
  CHANGELOG_BATCH_PAIRS: env.positiveInt(1000, 'Pair totals per changelog produce request'),
  CHANGELOG_READ_PAIRS: env.positiveInt(
    20_000,
    'Outbox entries the changelog relay reads in one LMDB transaction, sends in requests of CHANGELOG_BATCH_PAIRS, then clears in one transaction',
  ),
  CHANGELOG_MAX_OUTBOX_PAIRS: env.positiveInt(
    100_000,
    'Changed pairs the outbox may hold before consuming waits for the changelog sends (backpressure; bounds what a restart re-sends)',
  ),
  CONSUMER_GROUP: env.string('pncf-ingester', 'Kafka consumer group; ingesters in one group share the partitions'),
  STORE_PATH: env.string(
    '.data/ingester/store',
    'Directory of the ingester’s LMDB interaction store (no other service opens it: they read the changelog)',
  ),
  STORE_MAP_SIZE_MB: env.positiveInt(65536, 'Largest size the LMDB store may grow to, in MiB'),
  STORE_NO_SYNC: env.flag(false, 'Skip fsync on commit (safe against process crashes, not against OS crashes)'),
  SESSION_TIMEOUT_MS: env.positiveInt(
    30000,
    'Consumer session timeout: how long until a dead member loses its partitions',
  ),
  HEARTBEAT_INTERVAL_MS: env.positiveInt(3000, 'Consumer heartbeat interval'),
  FETCH_MAX_BYTES_PER_PARTITION: env.positiveInt(
    2 * 1024 * 1024,
    'Largest fetch per partition, which bounds one batch (= one LMDB transaction)',
  ),
  FETCH_MAX_WAIT_MS: env.positiveInt(100, 'Longest a fetch waits for data before returning fewer messages'),
  PARTITIONS_CONSUMED_CONCURRENTLY: env.positiveInt(
    4,
    'Partitions processed at once; their batches share one LMDB transaction (group commit)',
  ),
  KAFKA_COMMIT_INTERVAL_MS: env.positiveInt(
    1000,
    'How often offsets are also committed to Kafka (for lag tools; LMDB holds the offsets that count)',
  ),
});

export const ingesterConfigSchema = withCrossChecks(ingesterVariables, kafkaSecurityChecks);

export type IngesterConfig = z.infer<typeof ingesterConfigSchema>;
