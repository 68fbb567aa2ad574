import fs from 'node:fs';
import path from 'node:path';
import { parseRecommendation, type Recommendation, toKafkaMessage } from '@pncf/events';
import {
  artifactTopicSpec,
  describeVersion,
  ModelRegistry,
  publishVersion,
  sendRecords,
  versionRecords,
} from '@pncf/registry';
import { ensureTopics } from '@pncf/runtime';
import autocannon from 'autocannon';
import type { Consumer, Kafka, Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publishRandomHistoryModel, publishRandomModel, scratchDir, syntheticChangelog } from './scorer-support.js';
import { testBrokers, testKafka, uniqueName } from './support/kafka.js';
import { type ServiceProcess, spawnService, stopService, waitForHttp, waitForOutput } from './support/services.js';

interface Received {
  recommendation: Recommendation;
  at: number;
}

describe('scorer service on the real broker', () => {
  const root = scratchDir('scorer');
  const env = {
    KAFKA_BROKERS: testBrokers().join(','),
    LOG_LEVEL: 'info',
    INTERACTIONS_TOPIC: uniqueName('scorer-events'),
    RECOMMENDATIONS_TOPIC: uniqueName('scorer-recs'),
    MODEL_UPDATES_TOPIC: uniqueName('scorer-models'),
    MODEL_ARTIFACTS_TOPIC: uniqueName('scorer-artifacts'),
    CONSUMER_GROUP: uniqueName('scorer-group'),
    CHANGELOG_TOPIC: uniqueName('scorer-counts'),
    VIEW_PATH: path.join(root, 'scorer-view'),
    // The scorer's own copy; versions reach it only through the artifact topic.
    MODEL_DIR: path.join(root, 'scorer-models'),
    MODEL_POLL_MS: '1000',
    // The swap test's load comes from one address: the per-client rate limit (tested on its own) is not its subject.
    RATE_LIMIT_MAX: '0',
  };
  let ids: { users: string[]; items: string[] };
  /** The trainer's side: where versions are published from. */
  let modelRegistry: ModelRegistry;
  let kafka: Kafka;
  let producer: Producer;
  let consumer: Consumer;
  let scorer: ServiceProcess;
  const received = new Map<string, Received[]>();
  let messages = 0;

  const latest = (user: string) => received.get(user)?.at(-1);
  async function until<T>(what: string, probe: () => T | undefined, timeoutMs = 60_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = probe();
      if (value !== undefined) return value;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}:\n${scorer.output().slice(-5000)}`);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }
  const ready = async (service = scorer) =>
    (await (await fetch(`${service.url}/readyz`)).json()) as Record<string, unknown>;
  /** Publish to the trainer's registry and to the artifact topic, as the trainer does. */
  async function publishModel(publish: (registry: ModelRegistry) => string) {
    const version = publish(modelRegistry);
    return {
      version,
      ...(await publishVersion({ producer, topic: env.MODEL_ARTIFACTS_TOPIC, registry: modelRegistry, version })),
    };
  }

  beforeAll(async () => {
    // The scorer's counts arrive through the changelog, into its own view; no file is shared with the source.
    ids = await syntheticChangelog(testBrokers(), env.CHANGELOG_TOPIC, path.join(root, 'source-store'), 6000);
    modelRegistry = new ModelRegistry(path.join(root, 'trainer-models'));
    kafka = testKafka();
    // The ingester's topic: the scorer follows it once it exists and never creates it.
    const admin = kafka.admin();
    await admin.connect();
    await ensureTopics(admin, [
      artifactTopicSpec(env.MODEL_ARTIFACTS_TOPIC),
      { topic: env.INTERACTIONS_TOPIC, partitions: 4 },
    ]);
    await admin.disconnect();
    producer = kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    const first = await publishModel((registry) => publishRandomModel(registry, ids, 1));
    expect(first.version).toBe('v000001');
    // Larger than one Kafka message: it travels in several chunks.
    expect(first.records).toBeGreaterThan(3);
    scorer = await spawnService('scorer', env);
    await waitForHttp(scorer, '/readyz', 90_000);
    const deadline = Date.now() + 60_000;
    // Its group reads from the latest offset, so events are produced only once it has joined.
    while (!(await ready()).interactionsConsumer && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    consumer = kafka.consumer({ groupId: uniqueName('scorer-watch') });
    await consumer.connect();
    await consumer.subscribe({ topic: env.RECOMMENDATIONS_TOPIC, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        const recommendation = parseRecommendation(message.value);
        expect(message.key?.toString()).toBe(recommendation.user);
        const list = received.get(recommendation.user) ?? [];
        list.push({ recommendation, at: Date.now() });
        received.set(recommendation.user, list);
        messages++;
      },
    });
  }, 180_000);

  afterAll(async () => {
    await consumer?.disconnect();
    await producer?.disconnect();
    if (scorer) await stopService(scorer);
    fs.rmSync(root, { recursive: true, force: true });
  });

  it('publishes every user’s Top-K after loading the model, keyed by user, without their items', async () => {
    expect((await ready()).countsView).toMatchObject({ caughtUp: true, pairs: expect.any(Number) });
    await until('a list for every user', () => (ids.users.every((user) => received.has(user)) ? true : undefined));
    const first = latest(ids.users[0]!)!.recommendation;
    expect(first.modelVersion).toBe('v000001');
    expect(first.items).toHaveLength(10);
    expect(first.source).toBe('model');
    const response = await fetch(`${scorer.url}/recommendations/${encodeURIComponent(ids.users[0]!)}`);
    expect(response.status).toBe(200);
    const body = (await response.json()) as Recommendation;
    expect(body.items.map((x) => x.item)).toEqual(first.items.map((x) => x.item));
    // What it serves is its own copy, byte for byte the published one.
    for (const file of ['tensors.bin', 'version.json']) {
      const copy = fs.readFileSync(path.join(env.MODEL_DIR, 'versions', 'v000001', file));
      expect(copy.equals(fs.readFileSync(path.join(modelRegistry.versionsDir, 'v000001', file)))).toBe(true);
    }
  });

  it('republishes a user within a second of a new interaction, without the item just used', async () => {
    const user = ids.users[3]!;
    const before = latest(user)!;
    const used = before.recommendation.items[0]!.item;
    const sent = Date.now();
    await producer.send({
      topic: env.INTERACTIONS_TOPIC,
      acks: -1,
      messages: [toKafkaMessage({ user, item: used, count: 1 })],
    });
    const after = await until('a new message for the user', () => {
      const last = latest(user);
      return last && last.at > before.at && last.at >= sent ? last : undefined;
    });
    const seconds = (after.at - sent) / 1000;
    console.log(`interaction → republished recommendation: ${(seconds * 1000).toFixed(0)} ms`);
    expect(seconds).toBeLessThan(1);
    const items = after.recommendation.items.map((x) => x.item);
    expect(items).not.toContain(used);
    expect(items).toHaveLength(10);
    // The API agrees (the store does not have the event: no ingester runs; the scorer remembers it).
    const body = (await (
      await fetch(`${scorer.url}/recommendations/${encodeURIComponent(user)}?k=50`)
    ).json()) as Recommendation;
    expect(body.items.map((x) => x.item)).not.toContain(used);
  });

  it('answers bad input with a 400 and a clear message, unknown users with popular items, and serves its OpenAPI', async () => {
    const user = encodeURIComponent(ids.users[0]!);
    for (const query of ['k=0', 'k=101', 'k=abc', 'k=2.5']) {
      const response = await fetch(`${scorer.url}/recommendations/${user}?${query}`);
      expect(response.status, query).toBe(400);
      const body = (await response.json()) as { message: string };
      expect(body.message.length).toBeGreaterThan(5);
    }
    expect(
      ((await (await fetch(`${scorer.url}/recommendations/${user}?k=101`)).json()) as { message: string }).message,
    ).toMatch(/k must be <= 100/);
    // Nobody knows this user (no vector, no interactions): the most popular items, best first.
    const unknown = await fetch(`${scorer.url}/recommendations/nobody-at-all?k=5`);
    expect(unknown.status).toBe(200);
    const popular = (await unknown.json()) as Recommendation;
    expect(popular.source).toBe('popular');
    expect(popular.items).toHaveLength(5);
    expect(popular.items[0]!.score).toBe(1);
    const scores = popular.items.map((x) => x.score);
    expect(scores).toEqual([...scores].sort((a, b) => b - a));
    const openapi = (await (await fetch(`${scorer.url}/openapi.json`)).json()) as {
      openapi: string;
      paths: Record<string, unknown>;
    };
    expect(openapi.openapi).toMatch(/^3\./);
    expect(Object.keys(openapi.paths)).toContain('/recommendations/{user}');
  });

  it('a user unknown to the model but with a new interaction gets a cold-start list', async () => {
    const known = latest(ids.users[0]!)!.recommendation.items[0]!.item;
    await producer.send({
      topic: env.INTERACTIONS_TOPIC,
      acks: -1,
      messages: [toKafkaMessage({ user: 'newcomer', item: known, count: 2 })],
    });
    const message = await until('a list for the newcomer', () => latest('newcomer'));
    expect(message.recommendation.source).toBe('cold-start');
    expect(message.recommendation.items.map((x) => x.item)).not.toContain(known);
  });

  it('swaps to a new model under HTTP load without failing a request', { timeout: 120_000 }, async () => {
    const paths = ids.users
      .slice(0, 200)
      .map((user) => ({ method: 'GET' as const, path: `/recommendations/${encodeURIComponent(user)}` }));
    const load = autocannon({ url: scorer.url, connections: 8, duration: 6, requests: paths });
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const { version, manifestSha256 } = await publishModel((registry) => publishRandomModel(registry, ids, 2));
    await producer.send({
      topic: env.MODEL_UPDATES_TOPIC,
      messages: [
        {
          key: 'model',
          value: JSON.stringify({
            version,
            manifestSha256,
            createdAt: new Date().toISOString(),
            snapshotSequence: 1,
            data: { users: ids.users.length, items: ids.items.length, pairs: 1 },
            holdout: {},
          }),
        },
      ],
    });
    const result = await load;
    console.log(
      `during the swap: ${result.requests.total} requests, p50 ${result.latency.p50} ms, p99 ${result.latency.p99} ms, non-2xx ${result.non2xx}, errors ${result.errors}`,
    );
    expect(result.requests.total).toBeGreaterThan(100);
    expect(result.errors).toBe(0);
    expect(result.timeouts).toBe(0);
    expect(result.non2xx).toBe(0);
    expect((await ready()).model).toBe(version);
    const body = (await (
      await fetch(`${scorer.url}/recommendations/${encodeURIComponent(ids.users[0]!)}`)
    ).json()) as Recommendation;
    expect(body.modelVersion).toBe(version);
    await until('the refresh with the new model', () =>
      latest(ids.users.at(-1)!)?.recommendation.modelVersion === version ? true : undefined,
    );
  });

  it('refuses a version corrupted on its way and keeps serving the old one', async () => {
    const serving = (await ready()).model as string;
    const broken = publishRandomModel(modelRegistry, ids, 3);
    // One byte of one chunk changes on the way: the file's sha256 no longer matches the manifest's.
    const records = [
      ...versionRecords(path.join(modelRegistry.versionsDir, broken), describeVersion(modelRegistry, broken)),
    ];
    const chunk = records.find((record) => String(record.key) === `${broken}/chunk/0/tensors.bin`)!;
    const bytes = Buffer.from(chunk.value as Buffer);
    bytes[100] = (bytes[100]! + 1) % 256;
    chunk.value = bytes;
    await sendRecords(producer, env.MODEL_ARTIFACTS_TOPIC, records);
    await waitForOutput(
      scorer,
      new RegExp(`"version":"${broken}","reason":"corrupt"[^\\n]*model version rejected`),
      30_000,
    );
    expect(fs.existsSync(path.join(env.MODEL_DIR, 'versions', broken))).toBe(false);
    expect((await ready()).model).toBe(serving);
    const response = await fetch(`${scorer.url}/recommendations/${encodeURIComponent(ids.users[1]!)}`);
    expect(response.status).toBe(200);
    expect(((await response.json()) as Recommendation).modelVersion).toBe(serving);
    const metrics = await (await fetch(`${scorer.url}/metrics`)).text();
    expect(metrics).toMatch(
      /pncf_scorer_model_artifact_versions_received_total\{outcome="corrupt",service="scorer"\} 1/,
    );
    expect(metrics).toMatch(
      /pncf_scorer_model_artifact_versions_received_total\{outcome="installed",service="scorer"\} 2/,
    );
    expect(metrics).toMatch(/pncf_scorer_model_loads_total\{outcome="failed",service="scorer"\} 0/);
    expect(metrics).toMatch(/pncf_scorer_model_info\{version="v000002",service="scorer"\} 1/);
    expect(metrics).toMatch(
      /pncf_scorer_http_requests_total\{route="\/recommendations\/:user",method="GET",status="200",service="scorer"\} \d+/,
    );
    expect(metrics).toMatch(
      /pncf_scorer_recommendations_published_total\{reason="interaction",service="scorer"\} [1-9]/,
    );
    expect(metrics).toMatch(/pncf_scorer_model_created_timestamp_seconds\{service="scorer"\} \d/);
    expect(messages).toBeGreaterThan(ids.users.length);
  });

  it('serves a history model (PNCF+) published to the registry: known users, newcomers and strangers', async () => {
    const { version } = await publishModel((registry) => publishRandomHistoryModel(registry, ids, 4));
    // No model-updated event: the receiver installs it and the scorer loads it.
    const deadline = Date.now() + 30_000;
    while ((await ready()).model !== version) {
      if (Date.now() > deadline) throw new Error(`the history model was not served:\n${scorer.output().slice(-5000)}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await waitForOutput(
      scorer,
      new RegExp(`"version":"${version}","kind":"history"[^\\n]*model loaded and swapped in`),
      10_000,
    );
    const user = ids.users[5]!;
    const response = await fetch(`${scorer.url}/recommendations/${encodeURIComponent(user)}?k=10`);
    expect(response.status).toBe(200);
    const body = (await response.json()) as Recommendation;
    expect(body).toMatchObject({ user, modelVersion: version, source: 'model' });
    expect(body.items).toHaveLength(10);
    const scores = body.items.map((x) => x.score);
    expect(scores).toEqual([...scores].sort((a, b) => b - a));
    // The newcomer (unknown to every model, one interaction the scorer remembers): their history alone.
    const newcomer = (await (await fetch(`${scorer.url}/recommendations/newcomer`)).json()) as Recommendation;
    expect(newcomer).toMatchObject({ modelVersion: version, source: 'cold-start' });
    expect(newcomer.items).toHaveLength(10);
    const stranger = (await (await fetch(`${scorer.url}/recommendations/nobody-at-all?k=5`)).json()) as Recommendation;
    expect(stranger.source).toBe('popular');
    // The swap's full refresh publishes every user's list from the history model.
    await until('the refresh with the history model', () =>
      latest(ids.users.at(-1)!)?.recommendation.modelVersion === version ? true : undefined,
    );
    expect(latest(ids.users.at(-1)!)!.recommendation.items).toHaveLength(10);
  });

  it('a scorer started later, on an empty model directory, gets the current version from the topic alone', {
    timeout: 180_000,
  }, async () => {
    const served = (await ready()).model as string;
    const lateDir = path.join(root, 'late-scorer-models');
    const late = await spawnService('scorer', {
      ...env,
      MODEL_DIR: lateDir,
      CONSUMER_GROUP: uniqueName('late-scorer-group'),
      REFRESH_ON_SWAP: 'false',
    });
    try {
      await waitForHttp(late, '/readyz', 120_000);
      const state = await ready(late);
      expect(state.model).toBe(served);
      expect(state.modelArtifactsRead).toBe(true);
      // v000003 was corrupted on its way: the late scorer refuses it too.
      expect(fs.existsSync(path.join(lateDir, 'versions', 'v000003'))).toBe(false);
      const user = encodeURIComponent(ids.users[7]!);
      const [a, b] = (await Promise.all(
        [scorer, late].map(
          async (service) => (await (await fetch(`${service.url}/recommendations/${user}`)).json()) as Recommendation,
        ),
      )) as [Recommendation, Recommendation];
      expect(b.modelVersion).toBe(served);
      expect(b.items).toEqual(a.items);
    } finally {
      await stopService(late);
    }
  });
});
