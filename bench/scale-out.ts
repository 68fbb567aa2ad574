/**
 * Scorer replicas at author-tag scale. Run: npm run bench:scale-out (writes bench/results/scale-out.json).
 *
 * `pncf replay` puts the author-tag file (../shared/data/bilibili/bt_test_set.csv: 236,979 rows, 36,693 authors,
 * 16,715 tags) into a 4-partition interactions topic; an ingester (in this process, wired as main.ts wires it)
 * counts it and publishes the interaction-counts changelog. A tower of the author-tag shape (default preset, random
 * weights: a refresh costs the same whatever the weights) travels on the model-artifacts topic.
 *
 * 1. Catch-up: a scorer process on empty directories, timed from its spawn to /readyz ok (tfjs backend, its counts
 *    view from the changelog, the model receiver, the model load).
 * 2. Refresh throughput: with that one replica, then with two replicas of one consumer group (the first stopped),
 *    a new version is published and the recommendations topic is read: users published per second from the first
 *    to the last list of the new version, and from the version's publication to its last list (load included).
 *
 * Both replicas run on this machine: with 2 cores shared with the broker, two replicas cannot score in parallel
 * faster than one uses both cores (tfjs-node is multi-threaded), so the two-replica figure measures the split, not a
 * speed-up. Uses KAFKA_BROKERS when set, else starts a local broker.
 */

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Random } from '@pncf/data';
import { parseRecommendation } from '@pncf/events';
import { ingesterConfigSchema, ingesterTopics, startIngester } from '@pncf/ingester';
import { kafkaForRun, type StartedBroker } from '@pncf/kafka-local';
import { initTower, presets, saveArtifact } from '@pncf/pncf';
import { artifactTopicSpec, ModelRegistry, publishVersion } from '@pncf/registry';
import { connectKafkaAdmin, createKafka, createLogger, ensureTopics } from '@pncf/runtime';
import type { Consumer } from 'kafkajs';
import { Registry } from 'prom-client';
import { type ServiceProcess, spawnService, stopService } from '../test/support/services.js';
import { replayFile } from './replay-file.js';

const PARTITIONS = 4;
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const file = process.env.DATA_FILE ?? path.resolve(repoRoot, '..', 'shared', 'data', 'bilibili', 'bt_test_set.csv');
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'pncf-bench-scale-out-'));
const logger = createLogger('bench-scale-out', 'warn');
const load = () => os.loadavg().map((x) => Number(x.toFixed(2)));

async function until(what: string, condition: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** A random tower over the data's ids, with the default preset's shape (what the trainer would publish). */
function publishTower(registry: ModelRegistry, ids: { users: string[]; items: string[] }, seed: number): string {
  const config = presets.default;
  const dim = config.userWord2Vec.dim;
  const rng = new Random(seed);
  const table = (rows: number) => Float32Array.from({ length: rows * dim }, () => rng.next() * 2 - 1);
  const staged = registry.createStaging();
  saveArtifact(staged, {
    model: {
      numUsers: ids.users.length,
      numItems: ids.items.length,
      userVectors: table(ids.users.length),
      itemVectors: table(ids.items.length),
      tower: initTower(dim, config.tower.hidden, config.tower.batchNorm, seed),
    },
    userIds: ids.users,
    itemIds: ids.items,
    config,
    metrics: {},
  });
  return registry.publish(staged, { bench: true }).version;
}

let broker: StartedBroker | undefined;
const scorers: ServiceProcess[] = [];
const consumers: Consumer[] = [];
try {
  const kafka = await kafkaForRun(path.join(scratch, 'kafka'));
  broker = kafka.local;
  const brokers = kafka.brokers;
  const run = Date.now().toString(36);
  const config = ingesterConfigSchema.parse({
    KAFKA_BROKERS: brokers.join(','),
    LOG_LEVEL: 'warn',
    INTERACTIONS_TOPIC: `bench-scale-events-${run}`,
    INTERACTIONS_PARTITIONS: String(PARTITIONS),
    DEAD_LETTER_TOPIC: `bench-scale-dlq-${run}`,
    CHANGELOG_TOPIC: `bench-scale-counts-${run}`,
    CONSUMER_GROUP: `bench-scale-ingester-${run}`,
    STORE_PATH: path.join(scratch, 'ingester', 'store'),
  });
  const artifactsTopic = `bench-scale-artifacts-${run}`;
  const admin = await connectKafkaAdmin({
    createTopics: true,
    brokers,
    clientId: 'bench-scale-out',
    logger,
    topics: [...ingesterTopics(config), artifactTopicSpec(artifactsTopic)],
  });
  const replayed = await replayFile({
    file,
    format: 'author-tag',
    topic: config.INTERACTIONS_TOPIC,
    brokers,
  });
  console.log(replayed);
  const ingester = await startIngester({ config, logger, metricsRegistry: new Registry(), admin });
  const ends = await admin.fetchTopicOffsets(config.INTERACTIONS_TOPIC);
  const stored = () => ingester.store.storedOffsets(config.INTERACTIONS_TOPIC);
  await until(
    'the ingester to count and publish the file',
    () =>
      ends.every((end) => (stored().get(end.partition) ?? 0n) >= BigInt(end.high)) && ingester.store.outboxSize() === 0,
    900_000,
  );
  const { interactions } = ingester.store.snapshot();
  const source = ingester.store.stats();
  await ingester.stop();
  const ids = { users: interactions.userIds, items: interactions.itemIds };
  console.log(`ingested: ${source.users} users, ${source.items} items, ${source.pairs} pairs`);

  const client = createKafka({ brokers, clientId: 'bench-scale-out' });
  const producer = client.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  const trainerRegistry = new ModelRegistry(path.join(scratch, 'trainer-models'));
  const publishModel = async (seed: number) => {
    const version = publishTower(trainerRegistry, ids, seed);
    await publishVersion({ producer, topic: artifactsTopic, registry: trainerRegistry, version });
    return { version, at: Date.now() };
  };

  /** Per model version: the users it reached on the recommendations topic, and when its first and last came. */
  const watchRecommendations = async (topic: string) => {
    await ensureTopics(admin, [{ topic, partitions: PARTITIONS, config: { 'cleanup.policy': 'compact' } }]);
    const seen = new Map<string, { users: Set<string>; first: number; last: number; publishers: Set<string> }>();
    const consumer = client.consumer({ groupId: `bench-scale-watch-${topic}`, maxWaitTimeInMs: 100 });
    consumers.push(consumer);
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachBatch: async ({ batch }) => {
        const now = Date.now();
        for (const message of batch.messages) {
          const { user, modelVersion } = parseRecommendation(message.value);
          let entry = seen.get(modelVersion);
          if (!entry) {
            entry = { users: new Set(), first: now, last: now, publishers: new Set() };
            seen.set(modelVersion, entry);
          }
          entry.users.add(user);
          entry.last = now;
          entry.publishers.add(String(message.headers?.['pncf-publisher']));
        }
      },
    });
    return seen;
  };

  const scorerEnv = (name: string, group: string, recommendations: string) => ({
    KAFKA_BROKERS: brokers.join(','),
    LOG_LEVEL: 'info',
    INSTANCE_ID: name,
    INTERACTIONS_TOPIC: config.INTERACTIONS_TOPIC,
    CHANGELOG_TOPIC: config.CHANGELOG_TOPIC,
    MODEL_ARTIFACTS_TOPIC: artifactsTopic,
    MODEL_UPDATES_TOPIC: `bench-scale-updates-${run}`,
    RECOMMENDATIONS_TOPIC: recommendations,
    CONSUMER_GROUP: group,
    VIEW_PATH: path.join(scratch, name, 'view'),
    MODEL_DIR: path.join(scratch, name, 'models'),
    MODEL_POLL_MS: '1000',
  });
  const metric = async (service: ServiceProcess, name: string) => {
    const text = await (await fetch(`${service.url}/metrics`)).text();
    const line = text.split('\n').find((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `));
    return line === undefined ? undefined : Number(line.split(' ').at(-1));
  };
  /** Spawn a scorer on empty directories; resolves when /readyz is ok, with the time it took and its parts. */
  const catchUp = async (name: string, group: string, recommendations: string) => {
    const started = performance.now();
    const scorer = await spawnService('scorer', scorerEnv(name, group, recommendations));
    scorers.push(scorer);
    await until(
      `${name} ready`,
      async () => {
        if (scorer.child.exitCode !== null) throw new Error(`${name} exited:\n${scorer.output()}`);
        const response = await fetch(`${scorer.url}/readyz`).catch(() => undefined);
        return response?.ok === true;
      },
      900_000,
    );
    const result = {
      replica: name,
      secondsToReady: (performance.now() - started) / 1000,
      viewCatchUpSeconds: await metric(scorer, 'pncf_counts_view_catch_up_seconds'),
      modelLoadSeconds: await metric(scorer, 'pncf_scorer_model_load_duration_seconds_sum'),
      loadAverage: load(),
    };
    console.log(`catch-up: ${JSON.stringify(result)}`);
    return { scorer, result };
  };
  /** Publish a new version; resolves once every user has its list on `topic`, with the refresh's figures. */
  const refresh = async (
    seen: Awaited<ReturnType<typeof watchRecommendations>>,
    seed: number,
    replicas: { scorer: ServiceProcess; result: { replica: string } }[],
  ) => {
    const loadBefore = load();
    const { version, at } = await publishModel(seed);
    await until(
      `every user's list of ${version}`,
      () => (seen.get(version)?.users.size ?? 0) >= ids.users.length,
      1_800_000,
    );
    const entry = seen.get(version)!;
    const result = {
      version,
      replicas: replicas.length,
      users: entry.users.size,
      publishers: [...entry.publishers].sort(),
      firstToLastSeconds: (entry.last - entry.first) / 1000,
      publishToLastSeconds: (entry.last - at) / 1000,
      usersPerSecond: entry.users.size / ((entry.last - entry.first) / 1000),
      usersPerSecondFromPublish: entry.users.size / ((entry.last - at) / 1000),
      perReplica: await Promise.all(
        replicas.map(async ({ scorer, result: { replica } }) => ({
          replica,
          refreshUsers: await metric(scorer, 'pncf_scorer_last_refresh_users'),
          refreshSeconds: await metric(scorer, 'pncf_scorer_last_refresh_duration_seconds'),
        })),
      ),
      loadAverageBefore: loadBefore,
      loadAverageAfter: load(),
    };
    console.log(`refresh: ${JSON.stringify(result)}`);
    return result;
  };

  await publishModel(1);
  // One replica: its catch-up, then a full refresh of every user.
  const oneTopic = `bench-scale-recs-1-${run}`;
  const oneSeen = await watchRecommendations(oneTopic);
  const single = await catchUp('replica-1', `bench-scale-one-${run}`, oneTopic);
  await until(
    'the first refresh of replica-1',
    () => (oneSeen.get('v000001')?.users.size ?? 0) >= ids.users.length,
    1_800_000,
  );
  const oneReplica = await refresh(oneSeen, 2, [single]);
  await stopService(single.scorer);

  // Two replicas of one group, started together (each catches up on its own directories), then a new version.
  const twoTopic = `bench-scale-recs-2-${run}`;
  const twoSeen = await watchRecommendations(twoTopic);
  const group = `bench-scale-two-${run}`;
  const pair = await Promise.all([catchUp('replica-2a', group, twoTopic), catchUp('replica-2b', group, twoTopic)]);
  await until(
    'the first refresh of both',
    () => (twoSeen.get('v000002')?.users.size ?? 0) >= ids.users.length,
    1_800_000,
  );
  const twoReplicas = await refresh(twoSeen, 3, pair);

  const summary = {
    benchmark: 'scale-out',
    date: new Date().toISOString(),
    machine: { cpus: os.cpus().length, cpu: os.cpus()[0]?.model, node: process.version },
    broker: broker
      ? 'local KRaft broker started by the benchmark (same machine)'
      : `KAFKA_BROKERS=${brokers.join(',')}`,
    data: { file: path.relative(repoRoot, file), replay: replayed, partitions: PARTITIONS, ...source },
    model: 'default preset tower (32-d, 128-64), random weights, on the data’s ids',
    note: 'Every process (broker, replicas, this script) shares the machine’s cores: two replicas on one host split the users but cannot score faster than one replica using both cores.',
    catchUp: { oneReplica: single.result, twoReplicasStartedTogether: pair.map((entry) => entry.result) },
    refresh: { oneReplica, twoReplicas },
  };
  const out = path.join(repoRoot, 'bench', 'results', 'scale-out.json');
  fs.writeFileSync(out, `${JSON.stringify(summary, null, 2)}\n`);
  console.log(`→ ${out}`);
  await producer.disconnect();
  await admin.disconnect();
} finally {
  for (const consumer of consumers) await consumer.disconnect();
  await Promise.all(scorers.map((scorer) => stopService(scorer)));
  await broker?.stop();
  fs.rmSync(scratch, { recursive: true, force: true });
}
