import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type ModelUpdatedEvent, parseModelUpdated, toKafkaMessage } from '@pncf/events';
import { listArtifactFiles, MANIFEST_FILE, ModelReceiver, ModelRegistry, sha256File } from '@pncf/registry';
import { createLogger } from '@pncf/runtime';
import { AuthorTagGenerator, type SyntheticStream, scaledOptions, streamEvents } from '@pncf/synthetic';
import type { Consumer, Kafka, Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testBrokers, testKafka, trainerDeployment, uniqueName } from './support/kafka.js';
import { type ServiceProcess, spawnService, stopService, waitForHttp, waitForOutput } from './support/services.js';

const EVENTS = 16_000;

describe('trainer service: online retraining from Kafka through the ingester', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'pncf-online-'));
  const stream: SyntheticStream = new AuthorTagGenerator(scaledOptions(EVENTS, 11)).generate();
  const env = {
    KAFKA_BROKERS: testBrokers().join(','),
    LOG_LEVEL: 'info',
    INTERACTIONS_TOPIC: uniqueName('online-events'),
    DEAD_LETTER_TOPIC: uniqueName('online-dlq'),
    CONSUMER_GROUP: uniqueName('online-group'),
    MODEL_UPDATES_TOPIC: uniqueName('online-models'),
    ...trainerDeployment('online'),
    KEEP_VERSIONS: '1',
    CHANGELOG_TOPIC: uniqueName('online-counts'),
    // Each service its own directory, as on separate hosts: the trainer builds its counts from the changelog.
    STORE_PATH: path.join(root, 'ingester-store'),
    VIEW_PATH: path.join(root, 'trainer-view'),
    MODEL_DIR: path.join(root, 'models'),
    // Runs start on request only, so the test controls what each version saw.
    TRAIN_INTERVAL_S: '0',
    TRAIN_MIN_NEW_INTERACTIONS: '0',
    TRAIN_AT_STARTUP: 'false',
    TRAIN_TOWER_EPOCHS: '3',
    TRAIN_W2V_EPOCHS: '2',
    TRAIN_REFIT_ALL: 'false',
    GATE_TOLERANCE: '0.05',
  };
  let kafka: Kafka;
  let producer: Producer;
  let consumer: Consumer;
  const updates: ModelUpdatedEvent[] = [];
  let ingester: ServiceProcess;
  let trainer: ServiceProcess;

  async function produce(from: number, to: number) {
    const messages = [...streamEvents(stream, from, to)].map(toKafkaMessage);
    for (let start = 0; start < messages.length; start += 4000) {
      await producer.send({ topic: env.INTERACTIONS_TOPIC, acks: -1, messages: messages.slice(start, start + 4000) });
    }
  }
  /** Until the trainer's own view (fed by the ingester through the changelog) holds `total` interactions. */
  async function waitStored(total: number) {
    const deadline = Date.now() + 90_000;
    let seen: unknown;
    while (Date.now() < deadline) {
      const response = await fetch(`${trainer.url}/readyz`).catch(() => undefined);
      seen = response && ((await response.json()) as { countsView?: { total: number } }).countsView;
      if ((seen as { total: number } | undefined)?.total === total) return;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    throw new Error(
      `the trainer's view did not reach ${total} interactions (${JSON.stringify(seen)}):\n${trainer.output()}`,
    );
  }
  async function nextUpdate(count: number, timeoutMs = 180_000) {
    const deadline = Date.now() + timeoutMs;
    while (updates.length < count && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 200));
    if (updates.length < count) throw new Error(`no model-updated event #${count}:\n${trainer.output()}`);
    return updates[count - 1]!;
  }

  beforeAll(async () => {
    kafka = testKafka();
    producer = kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    ingester = await spawnService('ingester', env);
    trainer = await spawnService('trainer', env);
    await waitForHttp(ingester, '/healthz');
    await waitForHttp(trainer, '/healthz');
    consumer = kafka.consumer({ groupId: uniqueName('online-watch') });
    await consumer.connect();
    await consumer.subscribe({ topic: env.MODEL_UPDATES_TOPIC, fromBeginning: true });
    await consumer.run({ eachMessage: async ({ message }) => void updates.push(parseModelUpdated(message.value)) });
  });
  afterAll(async () => {
    await consumer?.disconnect();
    await producer?.disconnect();
    await Promise.all([trainer && stopService(trainer), ingester && stopService(ingester)]);
    fs.rmSync(root, { recursive: true, force: true });
  });

  it('publishes v1 from the first half and v2 with the new users and items', { timeout: 400_000 }, async () => {
    await produce(0, EVENTS / 2);
    await waitStored(EVENTS / 2);
    expect((await fetch(`${trainer.url}/train`, { method: 'POST' })).status).toBe(202);
    const v1 = await nextUpdate(1);
    expect(v1.version).toBe('v000001');
    expect(v1.holdout.recall?.['10']).toBeGreaterThan(0);

    await produce(EVENTS / 2, EVENTS);
    await waitStored(EVENTS);
    await fetch(`${trainer.url}/train`, { method: 'POST' });
    const v2 = await nextUpdate(2);
    expect(v2.version).toBe('v000002');
    expect(v2.data.users).toBeGreaterThan(v1.data.users);
    expect(v2.data.items).toBeGreaterThan(v1.data.items);
    expect(v2.snapshotSequence).toBeGreaterThan(v1.snapshotSequence);
    for (const metric of ['precision', 'recall', 'ndcg']) expect(Object.keys(v2.holdout[metric] ?? {})).toContain('10');

    // The event names no path; the version travelled on the artifact topic before it was announced, and v1, pruned
    // (KEEP_VERSIONS=1), was tombstoned (until the log cleaner runs a reader still sees v1's records before the
    // tombstones): a receiver on another directory gets v2 as its current version, byte for byte.
    expect(Object.keys(v2)).not.toContain('location');
    const trainerRegistry = new ModelRegistry(env.MODEL_DIR);
    // Pruning follows the announcement (after v1's tombstones): wait for it rather than race it.
    const pruneDeadline = Date.now() + 30_000;
    while (trainerRegistry.list().length > 1 && Date.now() < pruneDeadline)
      await new Promise((r) => setTimeout(r, 100));
    expect(trainerRegistry.list()).toEqual(['v000002']);
    const v2Dir = path.join(trainerRegistry.versionsDir, 'v000002');
    expect(v2.manifestSha256).toBe(sha256File(path.join(v2Dir, MANIFEST_FILE)));
    const elsewhere = new ModelRegistry(path.join(root, 'elsewhere'));
    const installed: string[] = [];
    const receiver = new ModelReceiver({
      kafka,
      topic: env.MODEL_ARTIFACTS_TOPIC,
      registry: elsewhere,
      groupId: uniqueName('online-receiver'),
      logger: createLogger('test', 'warn'),
      keepVersions: 5,
      onInstalled: (version) => installed.push(version),
    });
    await receiver.start();
    await receiver.whenCaughtUp();
    await receiver.stop();
    expect(installed.at(-1)).toBe('v000002');
    expect(elsewhere.currentVersion()).toBe('v000002');
    for (const file of [...listArtifactFiles(v2Dir), MANIFEST_FILE]) {
      const copy = fs.readFileSync(path.join(elsewhere.versionsDir, 'v000002', file));
      expect(copy.equals(fs.readFileSync(path.join(v2Dir, file))), file).toBe(true);
    }

    const metrics = await (await fetch(`${trainer.url}/metrics`)).text();
    expect(metrics).toMatch(/pncf_trainer_runs_total\{outcome="published",service="trainer"\} 2/);
    expect(metrics).toMatch(/pncf_trainer_model_holdout_score\{metric="recall",k="10",service="trainer"\} 0\.\d+/);
    expect(metrics).toMatch(/pncf_trainer_model_info\{version="v000002",service="trainer"\} 1/);
    expect(metrics).toMatch(/pncf_trainer_model_announcements_total\{outcome="sent",service="trainer"\} 2/);
    expect(metrics).toMatch(/pncf_trainer_model_artifact_publications_total\{outcome="sent",service="trainer"\} 2/);
    expect(metrics).toMatch(/pncf_trainer_model_artifact_tombstoned_versions_total\{service="trainer"\} 1/);
    expect(metrics).toMatch(/pncf_trainer_model_artifact_sent_bytes_total\{service="trainer"\} [1-9]/);
  });

  it('a trainer killed mid-training leaves the current version serving', { timeout: 300_000 }, async () => {
    await fetch(`${trainer.url}/train`, { method: 'POST' });
    // The third run is past its snapshot and split (pre-training or training the tower) when it is killed.
    await waitForOutput(trainer, /(step prepare done[\s\S]*){3}/, 120_000);
    await stopService(trainer, 'SIGKILL');
    const modelRegistry = new ModelRegistry(env.MODEL_DIR);
    expect(modelRegistry.currentVersion()).toBe('v000002');
    expect(modelRegistry.current()?.version).toBe('v000002');
    expect(modelRegistry.list()).toEqual(['v000002']);

    trainer = await spawnService('trainer', env);
    const ready = (await (await waitForHttp(trainer, '/readyz')).json()) as { currentModel: string };
    expect(ready.currentModel).toBe('v000002');
  });
});
