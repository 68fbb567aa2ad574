import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { artifactTopicSpec, ModelReceiver, ModelRegistry } from '@pncf/registry';
import { createLogger, ensureTopics, ProducerFencedError } from '@pncf/runtime';
import type { Kafka, Producer } from 'kafkajs';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { trainerMetrics } from '../services/trainer/src/metrics.js';
import {
  type ArtifactTopic,
  fenceOtherPublishers,
  inTransaction,
  publishToArtifactTopic,
} from '../services/trainer/src/model-topic.js';
import { testKafka, uniqueName } from './support/kafka.js';

const logger = createLogger('test', 'silent');
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'pncf-fence-'));

function publishLocal(registry: ModelRegistry, bytes: number): string {
  const staged = registry.createStaging();
  fs.writeFileSync(path.join(staged, 'weights.bin'), crypto.randomBytes(bytes));
  return registry.publish(staged, { note: 'test' }).version;
}

/** The versions whose manifests a fresh reader of the topic sees, and those it installs. */
async function readTopic(kafka: Kafka, topic: string) {
  const manifests: string[] = [];
  const registry = new ModelRegistry(fs.mkdtempSync(path.join(root, 'reader-')));
  const receiver = new ModelReceiver({
    kafka,
    topic,
    registry,
    groupId: uniqueName('fence-reader'),
    logger,
    keepVersions: 5,
    onManifest: (version, manifest) => void (manifest && manifests.push(version)),
  });
  await receiver.start();
  await receiver.whenCaughtUp();
  await receiver.stop();
  return { manifests, installed: registry.list() };
}

describe('the trainer publishes through a fenced transactional producer (real broker)', () => {
  const kafka = testKafka('fence-test');
  const topic = uniqueName('fence-artifacts');
  const transactionalId = uniqueName('fence-publisher');
  const producers: Producer[] = [];
  const transactional = async () => {
    const producer = kafka.producer({ transactionalId, idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    producers.push(producer);
    return producer;
  };
  const target = (producer: Producer, registry: ModelRegistry): ArtifactTopic => ({
    producer,
    topic,
    chunkBytes: 64 * 1024,
    registry,
    logger,
    metrics: trainerMetrics(new Registry(), () => undefined),
    signal: new AbortController().signal,
  });

  beforeAll(async () => {
    const admin = kafka.admin();
    await admin.connect();
    await ensureTopics(admin, [artifactTopicSpec(topic)]);
    await admin.disconnect();
  });
  afterAll(async () => {
    await Promise.all(producers.map((producer) => producer.disconnect()));
    fs.rmSync(root, { recursive: true, force: true });
  });

  it('a deposed leader can neither finish an open transaction nor publish once a new one has fenced it', async () => {
    const oldRegistry = new ModelRegistry(path.join(root, 'old'));
    const oldLeader = await transactional();
    await fenceOtherPublishers(oldLeader);
    const v1 = publishLocal(oldRegistry, 200_000);
    expect(await publishToArtifactTopic(target(oldLeader, oldRegistry), v1)).toMatchObject({ records: 6 });

    // The old leader is in the middle of a transaction (a chunk sent, not committed) when the new one takes over.
    let resume: () => void = () => undefined;
    const paused = new Promise<void>((resolve) => {
      resume = resolve;
    });
    const zombie = inTransaction(oldLeader, async (transaction) => {
      await transaction.send({ topic, acks: -1, messages: [{ key: 'v000002/chunk/0/weights.bin', value: 'zombie' }] });
      await paused;
    });
    const newLeader = await transactional();
    await fenceOtherPublishers(newLeader);
    resume();
    await expect(zombie).rejects.toBeInstanceOf(ProducerFencedError);

    const v2 = publishLocal(oldRegistry, 1000);
    await expect(publishToArtifactTopic(target(oldLeader, oldRegistry), v2)).rejects.toBeInstanceOf(
      ProducerFencedError,
    );
    await expect(inTransaction(oldLeader, async () => undefined)).rejects.toBeInstanceOf(ProducerFencedError);

    // Readers see v1 only: nothing of the zombie's aborted or refused writes.
    expect(await readTopic(kafka, topic)).toEqual({ manifests: [v1], installed: [v1] });

    // The new leader publishes its own v000002 (it caught up: same registry contents as the topic).
    const newRegistry = new ModelRegistry(path.join(root, 'new'));
    newRegistry.install(
      (() => {
        const staged = newRegistry.createStaging('copy');
        fs.cpSync(path.join(oldRegistry.versionsDir, v1), staged, { recursive: true });
        return staged;
      })(),
      v1,
    );
    const next = publishLocal(newRegistry, 1000);
    expect(next).toBe('v000002');
    await publishToArtifactTopic(target(newLeader, newRegistry), next);
    expect(await readTopic(kafka, topic)).toEqual({ manifests: [v1, next], installed: [v1, next] });
  });
});
