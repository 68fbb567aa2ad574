import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type ModelUpdatedEvent, parseModelUpdated, toKafkaMessage } from '@pncf/events';
import { MANIFEST_FILE, ModelReceiver, ModelRegistry, sha256File } from '@pncf/registry';
import { createLogger } from '@pncf/runtime';
import { InteractionStore } from '@pncf/store';
import { AuthorTagGenerator, scaledOptions, streamEvents } from '@pncf/synthetic';
import type { Consumer, Kafka, Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ModelMetadata } from '../services/trainer/src/pipeline.js';
import { testBrokers, testKafka, trainerDeployment, uniqueName } from './support/kafka.js';
import { type ServiceProcess, spawnService, stopService, waitForHttp, waitForOutput } from './support/services.js';

const EVENTS = 8000;
const SESSION_TIMEOUT_MS = 6000;

interface Readiness {
  role: 'leader' | 'standby';
  currentModel: string | null;
}

describe('trainer leadership: two trainers, one leads and publishes, the other takes over', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'pncf-leader-'));
  const shared = {
    KAFKA_BROKERS: testBrokers().join(','),
    LOG_LEVEL: 'info',
    INTERACTIONS_TOPIC: uniqueName('leader-events'),
    DEAD_LETTER_TOPIC: uniqueName('leader-dlq'),
    CONSUMER_GROUP: uniqueName('leader-ingest'),
    MODEL_UPDATES_TOPIC: uniqueName('leader-models'),
    // Both trainers are one deployment: the same leadership group, transactional id and artifact topic.
    ...trainerDeployment('leader'),
    LEADERSHIP_SESSION_TIMEOUT_MS: String(SESSION_TIMEOUT_MS),
    LEADERSHIP_HEARTBEAT_INTERVAL_MS: '1000',
    // The ingester's store; each trainer builds its own view of the counts from the changelog.
    STORE_PATH: path.join(root, 'store'),
    // Runs start on request only, so the test knows which trainer was asked to train.
    TRAIN_INTERVAL_S: '0',
    TRAIN_MIN_NEW_INTERACTIONS: '0',
    TRAIN_AT_STARTUP: 'false',
    TRAIN_TOWER_EPOCHS: '2',
    TRAIN_W2V_EPOCHS: '1',
    TRAIN_REFIT_ALL: 'false',
    GATE_TOLERANCE: '0.5',
  };
  const trainerEnv = (name: string) => ({
    ...shared,
    MODEL_DIR: path.join(root, name, 'models'),
    VIEW_PATH: path.join(root, name, 'view'),
  });
  let kafka: Kafka;
  let producer: Producer;
  let watcher: Consumer;
  const updates: ModelUpdatedEvent[] = [];
  let ingester: ServiceProcess;
  let first: ServiceProcess;
  let second: ServiceProcess;

  const readiness = async (trainer: ServiceProcess) =>
    (await (await fetch(`${trainer.url}/readyz`)).json()) as Readiness;
  async function nextUpdate(count: number, trainer: ServiceProcess, timeoutMs = 240_000) {
    const deadline = Date.now() + timeoutMs;
    while (updates.length < count && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 200));
    if (updates.length < count) throw new Error(`no model-updated event #${count}:\n${trainer.output()}`);
    return updates[count - 1]!;
  }
  async function waitStored(total: number) {
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      if (fs.existsSync(path.join(shared.STORE_PATH, 'data.mdb'))) {
        const store = InteractionStore.open({ path: shared.STORE_PATH, readOnly: true });
        const stored = store.stats().total;
        await store.close();
        if (stored === total) return;
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    throw new Error(`store did not reach ${total} interactions:\n${ingester.output()}`);
  }

  beforeAll(async () => {
    kafka = testKafka();
    producer = kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    ingester = await spawnService('ingester', shared);
    await waitForHttp(ingester, '/readyz');
    const stream = new AuthorTagGenerator(scaledOptions(EVENTS, 5)).generate();
    await producer.send({
      topic: shared.INTERACTIONS_TOPIC,
      acks: -1,
      messages: [...streamEvents(stream, 0, EVENTS)].map(toKafkaMessage),
    });
    await waitStored(EVENTS);
  });
  /** Every model-updated event, from the topic's start (a trainer creates the topic). */
  async function watchUpdates() {
    watcher = kafka.consumer({ groupId: uniqueName('leader-watch') });
    await watcher.connect();
    await watcher.subscribe({ topic: shared.MODEL_UPDATES_TOPIC, fromBeginning: true });
    await watcher.run({ eachMessage: async ({ message }) => void updates.push(parseModelUpdated(message.value)) });
  }
  afterAll(async () => {
    await watcher?.disconnect();
    await producer?.disconnect();
    await Promise.all([first, second, ingester].filter(Boolean).map((service) => stopService(service)));
    fs.rmSync(root, { recursive: true, force: true });
  });

  it('the leader alone trains and publishes; after SIGKILL the standby leads, catches up and publishes the next version', {
    timeout: 600_000,
  }, async () => {
    first = await spawnService('trainer', trainerEnv('first'));
    await waitForOutput(first, /leader caught up with the model artifact topic/, 90_000);
    await watchUpdates();
    second = await spawnService('trainer', trainerEnv('second'));
    await waitForOutput(second, /"msg":"trainer standing by"/, 90_000);
    expect(await readiness(first)).toMatchObject({ role: 'leader' });
    expect(await readiness(second)).toMatchObject({ role: 'standby' });
    expect((await (await fetch(`${first.url}/healthz`)).json()) as Readiness).toMatchObject({ role: 'leader' });
    expect(await (await fetch(`${second.url}/metrics`)).text()).toMatch(/pncf_trainer_leader\{service="trainer"\} 0/);
    expect(await (await fetch(`${first.url}/metrics`)).text()).toMatch(/pncf_trainer_leader\{service="trainer"\} 1/);

    // The standby refuses to train on request; the leader trains and publishes v000001.
    const refused = await fetch(`${second.url}/train`, { method: 'POST' });
    expect(refused.status).toBe(409);
    expect(await refused.json()).toMatchObject({ accepted: false, role: 'standby' });
    expect((await fetch(`${first.url}/train`, { method: 'POST' })).status).toBe(202);
    const v1 = await nextUpdate(1, first);
    expect(v1.version).toBe('v000001');
    expect(second.output()).not.toMatch(/training run started/);
    expect(new ModelRegistry(trainerEnv('second').MODEL_DIR).list()).toEqual([]);

    // SIGKILL: no LeaveGroup, so the group notices only when the session times out.
    const killedAt = Date.now();
    await stopService(first, 'SIGKILL');
    await waitForOutput(second, /leader caught up with the model artifact topic/, 60_000);
    const takeoverMs = Date.now() - killedAt;
    console.info(`[trainer-leadership] SIGKILL of the leader → the standby leads and has caught up: ${takeoverMs} ms`);
    // The session timeout, plus the broker's expiry check and the catch-up read, on a shared 2-core machine.
    expect(takeoverMs).toBeLessThan(SESSION_TIMEOUT_MS + 15_000);
    expect(second.output()).toMatch(/"msg":"trainer leadership acquired"/);
    const ready = await readiness(second);
    expect(ready).toMatchObject({ role: 'leader', currentModel: 'v000001' });
    expect(await (await fetch(`${second.url}/metrics`)).text()).toMatch(/pncf_trainer_leader\{service="trainer"\} 1/);
    // The copy it caught up is the published one, byte for byte (version.json lists every other file's sha256).
    const secondRegistry = new ModelRegistry<ModelMetadata>(trainerEnv('second').MODEL_DIR);
    expect(sha256File(path.join(secondRegistry.versionsDir, 'v000001', MANIFEST_FILE))).toBe(v1.manifestSha256);

    // Its next version follows the last published one, warm-started from it.
    expect((await fetch(`${second.url}/train`, { method: 'POST' })).status).toBe(202);
    const v2 = await nextUpdate(2, second);
    expect(v2.version).toBe('v000002');
    expect(secondRegistry.currentVersion()).toBe('v000002');
    const v2Metadata = secondRegistry.open('v000002').manifest.metadata;
    expect(v2Metadata.gate.baseline).toBe('v000001');
    expect(v2Metadata.warmStart.embeddings).toBe(true);

    expect(await publishedManifests()).toEqual({ v000001: v1.manifestSha256, v000002: v2.manifestSha256 });
    expect(updates.map((update) => update.version)).toEqual(['v000001', 'v000002']);
  });

  it('a leader frozen mid-run (SIGSTOP) is replaced; woken up, it publishes nothing and stands by', {
    timeout: 600_000,
  }, async () => {
    // The first trainer comes back on its old directory (v000001 only) and stands by behind the second.
    first = await spawnService('trainer', trainerEnv('first'));
    await waitForOutput(first, /"msg":"trainer standing by"/, 90_000);
    expect((await fetch(`${second.url}/train`, { method: 'POST' })).status).toBe(202);
    await waitForOutput(second, /(step prepare done[\s\S]*){2}/, 120_000);
    second.child.kill('SIGSTOP');
    try {
      // Its session expires; the first trainer leads, catches up v000002 and publishes v000003 after it.
      await waitForOutput(first, /leader caught up with the model artifact topic/, SESSION_TIMEOUT_MS + 30_000);
      expect(await readiness(first)).toMatchObject({ role: 'leader', currentModel: 'v000002' });
      expect((await fetch(`${first.url}/train`, { method: 'POST' })).status).toBe(202);
      const v3 = await nextUpdate(3, first);
      expect(v3.version).toBe('v000003');
    } finally {
      second.child.kill('SIGCONT');
    }
    // Awake, the second trainer learns it lost the group at its next heartbeat: its run is aborted or its version
    // discarded (not confirmed, or its producer fenced), and it stands by.
    await waitForOutput(second, /"msg":"trainer leadership lost: standing by"/, 60_000);
    expect((await readiness(second)).role).toBe('standby');
    const published = await publishedManifests();
    expect(Object.keys(published)).toEqual(['v000001', 'v000002', 'v000003']);
    expect(updates.map((update) => update.version)).toEqual(['v000001', 'v000002', 'v000003']);
    // Whatever the second trainer holds is what was published under that number.
    const secondRegistry = new ModelRegistry(trainerEnv('second').MODEL_DIR);
    await new Promise((resolve) => setTimeout(resolve, 2000));
    for (const version of secondRegistry.list()) {
      expect(sha256File(path.join(secondRegistry.versionsDir, version, MANIFEST_FILE)), version).toBe(
        published[version],
      );
    }
  });

  /** version → sha256 of its version.json, for every manifest on the artifact topic; a number seen twice fails. */
  async function publishedManifests(): Promise<Record<string, string>> {
    const manifests: Record<string, string> = {};
    const seen: string[] = [];
    const reader = new ModelReceiver({
      kafka,
      topic: shared.MODEL_ARTIFACTS_TOPIC,
      registry: new ModelRegistry(fs.mkdtempSync(path.join(root, 'reader-'))),
      groupId: uniqueName('leader-reader'),
      logger: createLogger('test', 'warn'),
      keepVersions: 5,
      onManifest: (version, manifest) => {
        if (!manifest) return;
        seen.push(version);
        manifests[version] = manifest.files.find((file) => file.path === MANIFEST_FILE)?.sha256 ?? '';
      },
    });
    await reader.start();
    await reader.whenCaughtUp();
    await reader.stop();
    expect(seen, 'a version number published twice').toEqual([...new Set(seen)]);
    return manifests;
  }
});
