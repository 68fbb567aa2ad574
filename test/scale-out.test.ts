import fs from 'node:fs';
import path from 'node:path';
import { type ModelUpdatedEvent, parseModelUpdated, parseRecommendation, toKafkaMessage } from '@pncf/events';
import { AuthorTagGenerator, scaledOptions, streamEvents } from '@pncf/synthetic';
import type { Consumer, Kafka, Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { partitionOfUser } from '../services/scorer/src/partition-ownership.js';
import { PUBLISHER_HEADER } from '../services/scorer/src/publisher.js';
import { until } from './changelog-support.js';
import { scratchDir } from './scorer-support.js';
import { testBrokers, testKafka, trainerDeployment, uniqueName } from './support/kafka.js';
import { type ServiceProcess, spawnService, stopService, waitForHttp } from './support/services.js';

const EVENTS = 8000;
const PARTITIONS = 4;
const SESSION_TIMEOUT_MS = 6000;

interface Published {
  user: string;
  publisher: string;
  modelVersion: string;
  at: number;
}

interface ScorerReady {
  ok: boolean;
  model: string | null;
  instance: string;
  partitions: number[];
  countsView: { caughtUp: boolean; total: number };
}

/**
 * The Done-when of issue 16: an ingester, a trainer and scorer replicas, each its own process on its own
 * directory (no path in common), talking through the real broker only.
 */
describe('scale-out: one ingester, a trainer and scorer replicas sharing nothing but Kafka', () => {
  const root = scratchDir('scale-out');
  const topics = {
    // The trainer's leadership group and publisher id of its own (the changelog and artifact topics are set below).
    ...trainerDeployment('scale'),
    KAFKA_BROKERS: testBrokers().join(','),
    LOG_LEVEL: 'info',
    INTERACTIONS_TOPIC: uniqueName('scale-events'),
    CHANGELOG_TOPIC: uniqueName('scale-counts'),
    MODEL_UPDATES_TOPIC: uniqueName('scale-models'),
    MODEL_ARTIFACTS_TOPIC: uniqueName('scale-artifacts'),
  };
  const ingesterEnv = {
    ...topics,
    INTERACTIONS_PARTITIONS: String(PARTITIONS),
    DEAD_LETTER_TOPIC: uniqueName('scale-dlq'),
    CONSUMER_GROUP: uniqueName('scale-ingester'),
    STORE_PATH: path.join(root, 'ingester', 'store'),
  };
  const trainerEnv = {
    ...topics,
    VIEW_PATH: path.join(root, 'trainer', 'view'),
    MODEL_DIR: path.join(root, 'trainer', 'models'),
    TRAIN_INTERVAL_S: '0',
    TRAIN_MIN_NEW_INTERACTIONS: '0',
    TRAIN_AT_STARTUP: 'false',
    TRAIN_TOWER_EPOCHS: '2',
    TRAIN_W2V_EPOCHS: '2',
  };
  const scorerGroup = uniqueName('scale-scorers');
  const recommendationsTopic = uniqueName('scale-recs');
  const scorerEnv = (name: string) => ({
    ...topics,
    INSTANCE_ID: name,
    RECOMMENDATIONS_TOPIC: recommendationsTopic,
    CONSUMER_GROUP: scorerGroup,
    SESSION_TIMEOUT_MS: String(SESSION_TIMEOUT_MS),
    HEARTBEAT_INTERVAL_MS: '1000',
    VIEW_PATH: path.join(root, name, 'view'),
    MODEL_DIR: path.join(root, name, 'models'),
    MODEL_POLL_MS: '1000',
    RATE_LIMIT_MAX: '0',
  });
  const stream = new AuthorTagGenerator(scaledOptions(EVENTS, 16)).generate();
  const events = [...streamEvents(stream, 0, EVENTS)];
  const users = [...new Set(events.map((event) => event.user))];

  let kafka: Kafka;
  let producer: Producer;
  const watchers: Consumer[] = [];
  const published: Published[] = [];
  const updates: ModelUpdatedEvent[] = [];
  const placed: { user: string; partition: number }[] = [];
  const services: ServiceProcess[] = [];
  let ingester: ServiceProcess;
  let trainer: ServiceProcess;
  let scorerA: ServiceProcess;
  let scorerB: ServiceProcess;

  const readyOf = async (service: ServiceProcess) =>
    (await (await fetch(`${service.url}/readyz`)).json()) as ScorerReady;
  const viewTotal = async (service: ServiceProcess) =>
    ((await (await fetch(`${service.url}/readyz`)).json()) as { countsView?: { total: number } }).countsView?.total;
  /** A user's answer without its generatedAt: what must be identical across replicas. */
  const answer = async (service: ServiceProcess, user: string) => {
    const response = await fetch(`${service.url}/recommendations/${encodeURIComponent(user)}`);
    expect(response.status).toBe(200);
    const { generatedAt: _, ...rest } = parseRecommendation(await response.text());
    return rest;
  };
  const start = async (name: string, env: Record<string, string>) => {
    const service = await spawnService(name, env);
    services.push(service);
    return service;
  };
  async function watch(topic: string, onMessage: Parameters<Consumer['run']>[0]) {
    const consumer = kafka.consumer({ groupId: uniqueName('scale-watch'), maxWaitTimeInMs: 100 });
    watchers.push(consumer);
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run(onMessage);
  }
  const latestOf = (user: string) => published.findLast((record) => record.user === user);

  beforeAll(async () => {
    for (const dir of ['ingester', 'trainer', 'scorer-a', 'scorer-b', 'scorer-c']) {
      fs.mkdirSync(path.join(root, dir), { recursive: true });
    }
    kafka = testKafka();
    producer = kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    ingester = await start('ingester', ingesterEnv);
    await waitForHttp(ingester, '/readyz', 90_000);
    trainer = await start('trainer', trainerEnv);
    scorerA = await start('scorer', scorerEnv('scorer-a'));
    scorerB = await start('scorer', scorerEnv('scorer-b'));
    await Promise.all([waitForHttp(trainer, '/healthz', 90_000), waitForHttp(scorerA, '/healthz', 90_000)]);
    await waitForHttp(scorerB, '/healthz', 90_000);
    await watch(topics.MODEL_UPDATES_TOPIC, {
      eachMessage: async ({ message }) => void updates.push(parseModelUpdated(message.value)),
    });
    await watch(topics.INTERACTIONS_TOPIC, {
      eachMessage: async ({ message, partition }) => void placed.push({ user: String(message.key), partition }),
    });
  }, 240_000);

  afterAll(async () => {
    for (const consumer of watchers) await consumer.disconnect();
    await producer?.disconnect();
    await Promise.all(services.map((service) => stopService(service)));
    fs.rmSync(root, { recursive: true, force: true });
  });

  it('serves identical answers from both replicas, survives a SIGKILL, and a later replica catches up', {
    timeout: 600_000,
  }, async () => {
    for (let from = 0; from < events.length; from += 2000) {
      await producer.send({
        topic: topics.INTERACTIONS_TOPIC,
        acks: -1,
        messages: events.slice(from, from + 2000).map(toKafkaMessage),
      });
    }
    // Every view (the trainer's and both scorers') holds every event before the model is trained and loaded, so
    // both replicas load it on the same counts.
    await until(
      'every view holds every event',
      async () => (await Promise.all([trainer, scorerA, scorerB].map(viewTotal))).every((total) => total === EVENTS),
      180_000,
    );
    // The interactions sit where kafkajs's default partitioner put them: the partition the scorers own users by.
    await until('the test saw every interaction', () => placed.length === EVENTS);
    for (const { user, partition } of placed) expect(partition).toBe(partitionOfUser(user, PARTITIONS));

    // The trainer started on an empty directory: it trains from the changelog alone.
    expect((await fetch(`${trainer.url}/train`, { method: 'POST' })).status).toBe(202);
    await until('model-updated v000001', () => updates.length > 0, 300_000);
    expect(updates[0]!.version).toBe('v000001');
    expect(updates[0]!.data.users).toBeGreaterThan(0);

    await watch(recommendationsTopic, {
      eachMessage: async ({ message }) => {
        const recommendation = parseRecommendation(message.value);
        published.push({
          user: recommendation.user,
          publisher: String(message.headers?.[PUBLISHER_HEADER]),
          modelVersion: recommendation.modelVersion,
          at: Date.now(),
        });
      },
    });
    await until(
      'both scorers ready on v000001',
      async () => (await Promise.all([scorerA, scorerB].map(readyOf))).every((r) => r.ok && r.model === 'v000001'),
      120_000,
    );
    const [readyA, readyB] = await Promise.all([scorerA, scorerB].map(readyOf));
    // The group split the partitions between them.
    expect([...readyA!.partitions, ...readyB!.partitions].sort()).toEqual([0, 1, 2, 3]);
    expect(readyA!.partitions.length).toBeGreaterThan(0);
    expect(readyB!.partitions.length).toBeGreaterThan(0);
    const ownerOf = (user: string) =>
      readyA!.partitions.includes(partitionOfUser(user, PARTITIONS)) ? 'scorer-a' : 'scorer-b';

    // Each user's refresh came from the replica owning their partition, and from that one only.
    await until('every user refreshed with v000001', () => users.every((u) => latestOf(u)?.modelVersion === 'v000001'));
    for (const user of users) {
      const publishers = new Set(published.filter((r) => r.user === user).map((r) => r.publisher));
      expect([...publishers], user).toEqual([ownerOf(user)]);
    }

    // Any replica answers for any user, identically for the same model version.
    const sample = [...users.filter((_, u) => u % 4 === 0), 'nobody-knows-me'];
    for (const user of sample) expect(await answer(scorerB, user), user).toEqual(await answer(scorerA, user));

    const usersOfB = users.filter((user) => ownerOf(user) === 'scorer-b');
    const killedAt = Date.now();
    scorerB.child.kill('SIGKILL');
    await scorerB.exited;
    await until(
      'scorer-a republished every user of scorer-b',
      () =>
        usersOfB.every((user) =>
          published.some((r) => r.user === user && r.publisher === 'scorer-a' && r.at > killedAt),
        ),
      SESSION_TIMEOUT_MS + 60_000,
    );
    const tookOver = Math.max(
      ...usersOfB.map(
        (user) => published.find((r) => r.user === user && r.publisher === 'scorer-a' && r.at > killedAt)!.at,
      ),
    );
    console.log(
      `scale-out: ${usersOfB.length} users of the killed replica republished by the survivor ${tookOver - killedAt} ms after the SIGKILL (session timeout ${SESSION_TIMEOUT_MS} ms)`,
    );
    // The broker notices the death only when the session times out; the refresh follows at once.
    expect(tookOver - killedAt).toBeLessThan(SESSION_TIMEOUT_MS + 20_000);
    // Every user's latest list (what the compacted topic keeps) is now the survivor's.
    for (const user of users) expect(latestOf(user)?.publisher, user).toBe('scorer-a');
    expect((await readyOf(scorerA)).partitions).toEqual([0, 1, 2, 3]);

    // A third replica on an empty directory catches up from the topics alone, then answers as the survivor does.
    const scorerC = await start('scorer', scorerEnv('scorer-c'));
    await until(
      'scorer-c ready on v000001',
      async () => {
        const ready = await readyOf(scorerC).catch(() => undefined);
        return ready?.ok === true && ready.model === 'v000001';
      },
      180_000,
    );
    const readyC = await readyOf(scorerC);
    expect(readyC.countsView).toMatchObject({ caughtUp: true, total: EVENTS });
    for (const user of sample) expect(await answer(scorerC, user), user).toEqual(await answer(scorerA, user));
  });
});
