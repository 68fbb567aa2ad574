import { lookup } from 'node:dns/promises';
import { type Admin, type ITopicConfig, Kafka, logLevel as KafkaLogLevel, type logCreator } from 'kafkajs';
import {
  isRetriable,
  KafkaAddressError,
  KafkaSecurityError,
  KafkaUnavailableError,
  TOPIC_ALREADY_EXISTS,
  TopicMissingError,
  TopicNotReadyError,
} from './errors.js';
import { describeKafkaSecurity, type KafkaSecurity } from './kafka-security.js';
import type { Logger } from './logger.js';
import { type RetryPolicy, withRetry } from './retry.js';

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
  /** TLS and SASL from the KAFKA_SECURITY_* variables (kafkaSecurity); plaintext without. */
  security?: KafkaSecurity | undefined;
}

export function createKafka(options: KafkaClientOptions): Kafka {
  return new Kafka({
    clientId: options.clientId,
    brokers: options.brokers,
    ...(options.security?.ssl ? { ssl: options.security.ssl } : {}),
    ...(options.security?.sasl ? { sasl: options.security.sasl } : {}),
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
 * How Kafka metadata calls right after a topic's creation are retried: a fresh topic's metadata briefly answers
 * with retriable errors (LEADER_NOT_AVAILABLE, NOT_LEADER_FOR_PARTITION) for up to a few seconds.
 */
export const kafkaMetadataRetry = {
  retries: Number.POSITIVE_INFINITY,
  initialDelayMs: 100,
  maxDelayMs: 2000,
  maxRetryTimeMs: 30_000,
} as const satisfies RetryPolicy;

/**
 * Create the topics that are missing; existing ones are left as they are. Several services may create the
 * same topic at once (trainer and scorer both own model-updated): a TOPIC_ALREADY_EXISTS answer, like any
 * retriable error, makes it list the topics again and create what is still missing.
 */
export async function ensureTopics(
  admin: Admin,
  specs: TopicSpec[],
  policy: RetryPolicy = kafkaMetadataRetry,
): Promise<string[]> {
  const created: string[] = [];
  await withRetry(
    async () => {
      const existing = new Set(await admin.listTopics());
      const missing: ITopicConfig[] = specs
        .filter((spec) => !existing.has(spec.topic))
        .map((spec) => ({
          topic: spec.topic,
          numPartitions: spec.partitions,
          replicationFactor: -1,
          configEntries: Object.entries(spec.config ?? {}).map(([name, value]) => ({ name, value })),
        }));
      if (missing.length === 0) return;
      await admin.createTopics({ topics: missing, waitForLeaders: true });
      created.push(...missing.map((spec) => spec.topic));
    },
    { ...policy, retryIf: (error) => isRetriable(error, { retriableKafkaTypes: [TOPIC_ALREADY_EXISTS] }) },
  );
  // Metadata can name a leader before that leader serves the partition (NOT_LEADER on ListOffsets right after
  // creation); callers may list offsets or seek at once, so wait until every topic answers.
  for (const spec of specs) await untilOffsetsServed(admin, spec.topic, policy);
  return created;
}

/** Resolves once the topic's offsets can be listed; TopicNotReadyError when they still cannot after the policy. */
async function untilOffsetsServed(admin: Admin, topic: string, policy: RetryPolicy): Promise<void> {
  try {
    await withRetry(() => admin.fetchTopicOffsets(topic), policy);
  } catch (error) {
    if (!isRetriable(error)) throw error;
    throw new TopicNotReadyError(`topic ${topic}: partition offsets still not served (${(error as Error).message})`, {
      topic,
      cause: error,
    });
  }
}

// Node's codes for a TLS handshake that fails on the certificate (or on TLS against a plaintext port): the same
// settings fail the same way, unlike a refused or timed-out connection.
const TLS_FAILURE = /^(ERR_SSL_|ERR_TLS_CERT|CERT_|DEPTH_ZERO_SELF_SIGNED_CERT$|SELF_SIGNED_CERT_IN_CHAIN$|UNABLE_TO_)/;

/**
 * Why the brokers refused this client (SASL credentials, a TLS certificate), found anywhere in a kafkajs error's
 * causes; undefined for any other failure.
 */
export function securityRefusal(error: unknown, depth = 0): string | undefined {
  if (error === null || typeof error !== 'object' || depth > 5) return undefined;
  const { name, code, message, cause, originalError } = error as {
    name?: unknown;
    code?: unknown;
    message?: unknown;
    cause?: unknown;
    originalError?: unknown;
  };
  if (name === 'KafkaJSSASLAuthenticationError') {
    return `SASL authentication failed (check KAFKA_SASL_USERNAME and the password): ${String(message)}`;
  }
  if (typeof code === 'string' && TLS_FAILURE.test(code)) {
    return `TLS handshake failed, ${code} (check KAFKA_SSL_CA_FILE and the client certificate): ${String(message)}`;
  }
  return securityRefusal(cause, depth + 1) ?? securityRefusal(originalError, depth + 1);
}

/**
 * One metadata round trip; rejects with KafkaUnavailableError (retriable) when the cluster does not answer or
 * has no controller yet, and with KafkaSecurityError (not retriable) when it refuses the credentials or TLS.
 */
export async function probeKafka(brokers: string[], timeoutMs = 1000, security?: KafkaSecurity): Promise<void> {
  const admin = createKafka({ brokers, clientId: 'pncf-probe', connectionTimeoutMs: timeoutMs, security }).admin({
    retry: { retries: 0 },
  });
  try {
    await admin.connect();
    const cluster = await admin.describeCluster();
    if (cluster.brokers.length === 0 || cluster.controller === null) {
      throw new KafkaUnavailableError(`Kafka at ${brokers.join(',')} has no controller elected yet`);
    }
  } catch (error) {
    if (error instanceof KafkaUnavailableError) throw error;
    const refusal = securityRefusal(error);
    if (refusal) {
      throw new KafkaSecurityError(`Kafka at ${brokers.join(',')} (${describeKafkaSecurity(security)}): ${refusal}`, {
        cause: error,
      });
    }
    // Whatever kafkajs says here (connection refused, a timeout, retries exhausted), the cluster is not there yet.
    throw new KafkaUnavailableError(`Kafka at ${brokers.join(',')} did not answer: ${(error as Error).message}`, {
      cause: error,
    });
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

/**
 * Reject with KafkaAddressError when a broker's host name does not resolve (ENOTFOUND): a typo would otherwise
 * look like a broker that is still starting, and be retried for the whole wait. A temporary DNS failure
 * (EAI_AGAIN) is left to the retries.
 */
export async function checkBrokerHosts(brokers: string[]): Promise<void> {
  const unresolved: string[] = [];
  await Promise.all(
    brokers.map(async (broker) => {
      const host = broker.slice(0, broker.lastIndexOf(':')).replace(/^\[(.*)\]$/, '$1');
      try {
        await lookup(host);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOTFOUND') unresolved.push(broker);
      }
    }),
  );
  if (unresolved.length > 0) {
    throw new KafkaAddressError(
      `Kafka broker address ${unresolved.join(', ')}: host name not found (KAFKA_BROKERS=${brokers.join(',')})`,
    );
  }
}

/**
 * Resolve once the cluster answers a metadata request (not merely a TCP accept), or reject after timeoutMs
 * with KafkaUnavailableError naming the last failure; at once with KafkaAddressError for a host name that does
 * not resolve.
 */
export async function waitForKafka(
  brokers: string[],
  timeoutMs = 60_000,
  policy: Omit<RetryPolicy, 'maxRetryTimeMs'> = {},
  security?: KafkaSecurity,
): Promise<void> {
  await checkBrokerHosts(brokers);
  try {
    await withRetry(() => probeKafka(brokers, 1000, security), {
      retries: Number.POSITIVE_INFINITY,
      initialDelayMs: 250,
      maxDelayMs: 1000,
      ...policy,
      maxRetryTimeMs: timeoutMs,
    });
  } catch (error) {
    if (!(error instanceof KafkaUnavailableError)) throw error;
    const reason = error.cause instanceof Error ? error.cause.message : error.message;
    throw new KafkaUnavailableError(
      `Kafka at ${brokers.join(',')} (${describeKafkaSecurity(security)}) did not answer a metadata request within ${timeoutMs} ms: ${reason}`,
      { cause: error },
    );
  }
}

/** TopicMissingError naming the topics of `specs` the cluster does not have. */
export async function requireTopics(admin: Admin, specs: TopicSpec[]): Promise<void> {
  const existing = new Set(await admin.listTopics());
  const missing = specs.filter((spec) => !existing.has(spec.topic)).map((spec) => spec.topic);
  if (missing.length > 0) {
    throw new TopicMissingError(
      `topic${missing.length > 1 ? 's' : ''} ${missing.join(', ')} missing and KAFKA_CREATE_TOPICS=false: create ${missing.length > 1 ? 'them' : 'it'} on the cluster first`,
    );
  }
}

/**
 * Resolve once every topic exists: for topics another service creates (the scorer reads the interactions
 * topic the ingester owns and sizes), so a reader never creates one with a partition count of its own.
 * Polls until `signal` aborts, which rejects with its reason.
 */
export async function waitForTopics(
  admin: Admin,
  topics: string[],
  options: { signal?: AbortSignal; onWait?: (missing: string[]) => void } = {},
): Promise<void> {
  let reported = false;
  await withRetry(
    async () => {
      const existing = new Set(await admin.listTopics());
      const missing = topics.filter((topic) => !existing.has(topic));
      if (missing.length === 0) return;
      if (!reported) options.onWait?.(missing);
      reported = true;
      throw new TopicNotReadyError(`waiting for topic ${missing.join(', ')}`, { topic: missing[0] });
    },
    {
      retries: Number.POSITIVE_INFINITY,
      initialDelayMs: 250,
      maxDelayMs: 5000,
      ...(options.signal ? { signal: options.signal } : {}),
    },
  );
  for (const topic of topics) await untilOffsetsServed(admin, topic, kafkaMetadataRetry);
}

/**
 * Start-up step every service shares: wait for the cluster, create the topics the service owns (or, with
 * createTopics false for a managed cluster, insist that they exist), and keep an admin connection for health
 * checks and later admin work.
 */
export async function connectKafkaAdmin(options: {
  brokers: string[];
  clientId: string;
  logger: Logger;
  topics: TopicSpec[];
  /** KAFKA_CREATE_TOPICS. */
  createTopics: boolean;
  waitMs?: number;
  security?: KafkaSecurity | undefined;
}): Promise<Admin> {
  await waitForKafka(
    options.brokers,
    options.waitMs ?? 60_000,
    {
      onRetry: ({ error, attempt }) => {
        if (attempt === 1) options.logger.info({ err: error }, 'waiting for Kafka to answer');
      },
    },
    options.security,
  );
  const admin = createKafka(options).admin();
  await admin.connect();
  try {
    if (!options.createTopics) {
      await requireTopics(admin, options.topics);
      return admin;
    }
    const created = await ensureTopics(admin, options.topics);
    if (created.length > 0) options.logger.info({ topics: created }, 'created topics');
    return admin;
  } catch (error) {
    await admin.disconnect().catch(() => undefined);
    throw error;
  }
}
