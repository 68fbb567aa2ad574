import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type IngesterConfig,
  ingesterConfigSchema,
  ingesterTopics,
  type StoredBatch,
  startIngester,
} from '@pncf/ingester';
import { connectKafkaAdmin, createHttpServer, createLogger, ensureTopics, kafkaSecurity } from '@pncf/runtime';
import type { InteractionStore } from '@pncf/store';
import type { Admin } from 'kafkajs';
import { testBrokers, uniqueName } from './support/kafka.js';
import { type ServiceProcess, spawnService } from './support/services.js';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const sharedData = (...parts: string[]) => path.resolve(repoRoot, '..', 'shared', 'data', ...parts);

/** Environment of one test's ingester: its own topics, group and store directory. */
export function ingesterEnv(prefix: string, overrides: Record<string, string> = {}): Record<string, string> {
  return {
    KAFKA_BROKERS: testBrokers().join(','),
    LOG_LEVEL: 'warn',
    INTERACTIONS_TOPIC: uniqueName(`${prefix}-events`),
    DEAD_LETTER_TOPIC: uniqueName(`${prefix}-dlq`),
    CHANGELOG_TOPIC: uniqueName(`${prefix}-counts`),
    CONSUMER_GROUP: uniqueName(`${prefix}-group`),
    STORE_PATH: fs.mkdtempSync(path.join(os.tmpdir(), `pncf-${prefix}-store-`)),
    // The broker's minimum: a killed member's partitions move on after 6 s instead of 30 s.
    SESSION_TIMEOUT_MS: '6000',
    HEARTBEAT_INTERVAL_MS: '1000',
    ...overrides,
  };
}

export async function createTopics(env: Record<string, string>, partitions: number): Promise<Admin> {
  const admin = await connectKafkaAdmin({
    createTopics: true,
    brokers: testBrokers(),
    clientId: 'pncf-test-admin',
    logger: createLogger('test', 'warn'),
    topics: [],
  });
  // Right after creation a busy broker may not yet host the partitions kafkajs waits on ("This server does
  // not host this topic-partition"); creating again is a no-op for the topics that exist.
  for (let attempt = 1; ; attempt++) {
    try {
      await ensureTopics(
        admin,
        ingesterTopics(ingesterConfigSchema.parse({ ...env, INTERACTIONS_PARTITIONS: partitions })),
      );
      return admin;
    } catch (error) {
      if (attempt >= 10) throw error;
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
  }
}

export interface InProcessIngester {
  config: IngesterConfig;
  store: InteractionStore;
  metricsUrl: string;
  stop(): Promise<void>;
}

/** The ingester as main.ts wires it, with a real HTTP server for /metrics, inside the test process. */
export async function startInProcessIngester(
  env: Record<string, string>,
  onBatchStored?: (batch: StoredBatch) => void,
): Promise<InProcessIngester> {
  const config = ingesterConfigSchema.parse(env);
  const logger = createLogger('ingester', config.LOG_LEVEL);
  const http = await createHttpServer({ service: 'ingester', logger });
  const admin = await connectKafkaAdmin({
    createTopics: true,
    brokers: config.KAFKA_BROKERS,
    clientId: 'pncf-ingester',
    logger,
    security: kafkaSecurity(config),
    topics: ingesterTopics(config),
  });
  const ingester = await startIngester({
    config,
    logger,
    metricsRegistry: http.metricsRegistry,
    admin,
    ...(onBatchStored ? { onBatchStored } : {}),
  });
  const address = await http.listen('127.0.0.1', 0);
  return {
    config,
    store: ingester.store,
    metricsUrl: `${address}/metrics`,
    async stop() {
      await ingester.stop();
      await admin.disconnect();
      await http.close();
    },
  };
}

/** Resolve once the store's offsets reach the end of every partition (everything produced is stored). */
export async function waitUntilStored(
  admin: Admin,
  topic: string,
  storedOffsets: () => Map<number, bigint>,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let behind = '';
  while (Date.now() < deadline) {
    // A busy broker may answer a metadata request with a retriable error; asking again is the answer.
    const ends = await admin.fetchTopicOffsets(topic).catch(() => undefined);
    if (!ends) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      continue;
    }
    const stored = storedOffsets();
    const lagging = ends.filter((end) => (stored.get(end.partition) ?? 0n) < BigInt(end.high));
    if (lagging.length === 0) return;
    behind = lagging.map((end) => `p${end.partition}: ${stored.get(end.partition) ?? 0n}/${end.high}`).join(', ');
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`store did not catch up within ${timeoutMs} ms (${behind})`);
}

export type ChildIngester = ServiceProcess;

/** The real ingester process (node --import tsx main.ts): a single process, so SIGKILL hits the ingester itself. */
export const spawnIngester = (env: Record<string, string>): Promise<ChildIngester> => spawnService('ingester', env);

/** Key "user\titem" → count, from the project's Interactions type. */
export function pairCounts(data: {
  userIds: string[];
  itemIds: string[];
  byUser: { rows: number; indptr: Uint32Array; indices: Uint32Array; counts: Uint32Array };
}): Map<string, number> {
  const result = new Map<string, number>();
  const { indptr, indices, counts } = data.byUser;
  for (let u = 0; u < data.byUser.rows; u++) {
    for (let k = indptr[u]!; k < indptr[u + 1]!; k++) {
      result.set(`${data.userIds[u]}\t${data.itemIds[indices[k]!]}`, counts[k]!);
    }
  }
  return result;
}

/** Pairs whose counts differ, at most `max` of them, for a readable failure. */
export function countDifferences(actual: Map<string, number>, expected: Map<string, number>, max = 10): string[] {
  const out: string[] = [];
  for (const [pair, count] of expected) {
    if (actual.get(pair) !== count) out.push(`${pair}: stored ${actual.get(pair)} expected ${count}`);
    if (out.length >= max) return out;
  }
  for (const [pair, count] of actual) {
    if (!expected.has(pair)) out.push(`${pair}: stored ${count}, not in the source`);
    if (out.length >= max) return out;
  }
  return out;
}

/** Stop the in-process ingester, delete the test's topics and its store directory. */
export async function tearDownIngest(
  env: Record<string, string>,
  admin: Admin | undefined,
  ingester: InProcessIngester | undefined,
): Promise<void> {
  await ingester?.stop();
  await admin
    ?.deleteTopics({ topics: [env.INTERACTIONS_TOPIC!, env.DEAD_LETTER_TOPIC!, env.CHANGELOG_TOPIC!] })
    .catch(() => undefined);
  await admin?.disconnect();
  fs.rmSync(env.STORE_PATH!, { recursive: true, force: true });
}

/** Deterministic event stream (mulberry32), so expected counts are known without keeping the events. */
export function* syntheticEvents(n: number, seed = 0x5eed): Generator<{ user: string; item: string; count: number }> {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  for (let k = 0; k < n; k++) {
    const user = `u${Math.floor(next() ** 2 * 20_000)}`; // skewed: a few heavy users
    const item = `i${Math.floor(next() ** 3 * 5_000)}`;
    yield { user, item, count: 1 + Math.floor(next() * 3) };
  }
}
