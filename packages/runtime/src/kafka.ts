import { type Admin, type ITopicConfig, Kafka, logLevel as KafkaLogLevel, type logCreator } from 'kafkajs';
import type { Logger } from './logger.js';

// kafkajs 2.x warns about its partitioner change on every producer; the default is what we want.
process.env.KAFKAJS_NO_PARTITIONER_WARNING ??= '1';

const levelNames: Record<number, 'error' | 'warn' | 'info' | 'debug'> = {
  [KafkaLogLevel.ERROR]: 'error',
  [KafkaLogLevel.WARN]: 'warn',
  [KafkaLogLevel.INFO]: 'info',
  [KafkaLogLevel.DEBUG]: 'debug',
};

/** Routes kafkajs's own log lines into the service's JSON log. */
function pinoLogCreator(logger: Logger): logCreator {
  return () =>
    ({ namespace, level, log }) => {
      const { message, ...extra } = log;
      const name = levelNames[level] ?? 'info';
      logger[name]({ component: 'kafkajs', namespace, ...extra }, message);
    };
}

export interface KafkaClientOptions {
  brokers: string[];
  clientId: string;
  logger?: Logger;
  /** How long to keep retrying a connection before an operation fails. */
  connectionTimeoutMs?: number;
}

export function createKafka(options: KafkaClientOptions): Kafka {
  return new Kafka({
    clientId: options.clientId,
    brokers: options.brokers,
    connectionTimeout: options.connectionTimeoutMs ?? 3000,
    logLevel: options.logger ? KafkaLogLevel.WARN : KafkaLogLevel.NOTHING,
    ...(options.logger ? { logCreator: pinoLogCreator(options.logger) } : {}),
  });
}

export interface TopicSpec {
  topic: string;
  partitions: number;
  /** Kafka topic configs, e.g. { 'cleanup.policy': 'compact' }. */
  config?: Record<string, string>;
}

/**
 * Create the topics that are missing; existing ones are left as they are. Several services may create the
 * same topic at once (trainer and scorer both own model-updated), and a fresh topic's metadata briefly answers
 * with retriable errors, so creation is retried on what is still missing.
 */
export async function ensureTopics(admin: Admin, specs: TopicSpec[]): Promise<string[]> {
  const created: string[] = [];
  for (let attempt = 0; ; attempt++) {
    const existing = new Set(await admin.listTopics());
    const missing: ITopicConfig[] = specs
      .filter((spec) => !existing.has(spec.topic))
      .map((spec) => ({
        topic: spec.topic,
        numPartitions: spec.partitions,
        replicationFactor: -1,
        configEntries: Object.entries(spec.config ?? {}).map(([name, value]) => ({ name, value })),
      }));
    if (missing.length === 0) break;
    try {
      await admin.createTopics({ topics: missing, waitForLeaders: true });
      created.push(...missing.map((spec) => spec.topic));
      break;
    } catch (error) {
      const retriable = (error as { retriable?: boolean }).retriable === true || /already exists/i.test(String(error));
      if (!retriable || attempt >= 20) throw error;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
  // Metadata can name a leader before that leader serves the partition (NOT_LEADER on ListOffsets right after
  // creation); callers may list offsets or seek at once, so wait until every topic answers.
  for (const spec of specs) await untilOffsetsServed(admin, spec.topic);
  return created;
}

async function untilOffsetsServed(admin: Admin, topic: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await admin.fetchTopicOffsets(topic);
      return;
    } catch (error) {
      const retriable = (error as { retriable?: boolean }).retriable === true;
      if (!retriable || Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

/** One metadata round trip; rejects when the cluster does not answer or has no controller yet. */
export async function probeKafka(brokers: string[], timeoutMs = 1000): Promise<void> {
  const admin = createKafka({ brokers, clientId: 'pncf-probe', connectionTimeoutMs: timeoutMs }).admin({
    retry: { retries: 0 },
  });
  try {
    await admin.connect();
    const cluster = await admin.describeCluster();
    if (cluster.brokers.length === 0 || cluster.controller === null) throw new Error('no controller elected yet');
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

/**
 * Resolve once the cluster answers a metadata request (not merely a TCP accept), or reject after timeoutMs
 * with the last error seen.
 */
export async function waitForKafka(brokers: string[], timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      await probeKafka(brokers);
      return;
    } catch (error) {
      lastError = error;
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  const reason = lastError instanceof Error ? lastError.message : String(lastError);
  throw new Error(`Kafka at ${brokers.join(',')} did not answer a metadata request within ${timeoutMs} ms: ${reason}`);
}

/**
 * Start-up step every service shares: wait for the cluster, create the topics the service owns, and keep
 * an admin connection for health checks and later admin work.
 */
export async function connectKafkaAdmin(options: {
  brokers: string[];
  clientId: string;
  logger: Logger;
  topics: TopicSpec[];
  waitMs?: number;
}): Promise<Admin> {
  await waitForKafka(options.brokers, options.waitMs ?? 60_000);
  const admin = createKafka(options).admin();
  await admin.connect();
  const created = await ensureTopics(admin, options.topics);
  if (created.length > 0) options.logger.info({ topics: created }, 'created topics');
  return admin;
}
