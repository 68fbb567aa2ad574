import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import {
  artifactTopicSpec,
  describeVersion,
  listArtifactFiles,
  MANIFEST_FILE,
  ModelReceiver,
  ModelRegistry,
  publishTombstones,
  publishVersion,
  sendRecords,
  versionRecords,
} from '@pncf/registry';
import { ensureTopics } from '@pncf/runtime';
import { type Admin, ConfigResourceTypes, type Kafka, type Producer } from 'kafkajs';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testKafka, uniqueName } from './support/kafka.js';

const roots: string[] = [];
function registry(label: string): ModelRegistry {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), `pncf-transfer-${label}-`));
  roots.push(root);
  return new ModelRegistry(root);
}

/** A version with a file larger than the broker's 1 MB message limit and a nested one. */
function publishLocal(reg: ModelRegistry, weightsBytes: number): string {
  const staged = reg.createStaging();
  fs.writeFileSync(path.join(staged, 'weights.bin'), randomBytes(weightsBytes));
  fs.mkdirSync(path.join(staged, 'ids'));
  fs.writeFileSync(path.join(staged, 'ids', 'users.json'), JSON.stringify(['a', 'b', 'c']));
  fs.writeFileSync(path.join(staged, 'empty.bin'), '');
  return reg.publish(staged, { note: 'test' }).version;
}

function expectIdentical(from: ModelRegistry, to: ModelRegistry, version: string) {
  const a = path.join(from.versionsDir, version);
  const b = path.join(to.versionsDir, version);
  const files = [...listArtifactFiles(a), MANIFEST_FILE];
  expect([...listArtifactFiles(b), MANIFEST_FILE]).toEqual(files);
  for (const file of files)
    expect(fs.readFileSync(path.join(b, file)).equals(fs.readFileSync(path.join(a, file)))).toBe(true);
}

/** A receiver whose log lines and outcomes the test can read. */
function receiverInto(kafka: Kafka, topic: string, reg: ModelRegistry, keepVersions = 5) {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line));
      done();
    },
  });
  const installed: string[] = [];
  const rejected: { version: string; reason: string }[] = [];
  const receiver = new ModelReceiver({
    kafka,
    topic,
    registry: reg,
    groupId: uniqueName('transfer-receiver'),
    logger: pino({ level: 'info' }, sink),
    keepVersions,
    onInstalled: (version) => installed.push(version),
    onRejected: (version, reason) => rejected.push({ version, reason }),
  });
  return { receiver, lines, installed, rejected };
}

async function until(what: string, probe: () => boolean, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Every record on the topic, read from its start up to its end, as [key, value is null]. */
async function readTopic(kafka: Kafka, admin: Admin, topic: string): Promise<[string, boolean][]> {
  const [{ high } = { high: '0' }] = await admin.fetchTopicOffsets(topic);
  const records: [string, boolean][] = [];
  if (Number(high) === 0) return records;
  const consumer = kafka.consumer({ groupId: uniqueName('transfer-read') });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  let last = -1;
  await consumer.run({
    eachMessage: async ({ message }) => {
      records.push([message.key?.toString() ?? '', message.value === null]);
      last = Number(message.offset);
    },
  });
  await until('the end of the topic', () => last >= Number(high) - 1);
  await consumer.disconnect();
  return records;
}

describe('models travel through Kafka (real broker)', () => {
  let kafka: Kafka;
  let admin: Admin;
  let producer: Producer;
  const receivers: ModelReceiver[] = [];

  beforeAll(async () => {
    kafka = testKafka('pncf-transfer-test');
    admin = kafka.admin();
    await admin.connect();
    producer = kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
  });
  afterAll(async () => {
    for (const receiver of receivers) await receiver.stop();
    await producer?.disconnect();
    await admin?.disconnect();
    for (const root of roots.splice(0)) fs.rmSync(root, { recursive: true, force: true });
  });

  it('a version larger than one message arrives byte-identical in another registry, in chunks', async () => {
    const topic = uniqueName('artifacts');
    await ensureTopics(admin, [artifactTopicSpec(topic)]);
    const [described] = (
      await admin.describeConfigs({
        resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configNames: ['cleanup.policy'] }],
        includeSynonyms: false,
      })
    ).resources;
    expect(described?.configEntries[0]?.configValue).toBe('compact');

    const source = registry('source');
    const version = publishLocal(source, 2_500_000);
    const published = await publishVersion({ producer, topic, registry: source, version });
    // 2.5 MB in 256 KiB chunks: 10 records for weights.bin, one per small file, and the manifest.
    expect(published.records).toBe(10 + 3 + 1);
    expect(published.manifest.files.find((f) => f.path === 'weights.bin')?.chunks).toBe(10);

    const target = registry('target');
    const { receiver, installed, lines } = receiverInto(kafka, topic, target);
    receivers.push(receiver);
    await receiver.start();
    await receiver.whenCaughtUp();
    expect(installed).toEqual([version]);
    expect(target.currentVersion()).toBe(version);
    expectIdentical(source, target, version);
    expect(fs.readdirSync(target.stagingDir)).toEqual([]);
    expect(lines.some((line) => line.msg === 'model version received and installed' && line.version === version)).toBe(
      true,
    );
    expect(published.manifestSha256).toBe(
      describeVersion(target, version).files.find((f) => f.path === MANIFEST_FILE)?.sha256,
    );

    // A version published while the receiver runs is installed and becomes current.
    const next = publishLocal(source, 300_000);
    await publishVersion({ producer, topic, registry: source, version: next, chunkBytes: 64 * 1024 });
    await until('the second version', () => installed.includes(next));
    expect(target.currentVersion()).toBe(next);
    expectIdentical(source, target, next);
  });

  it('rejects a version with a corrupted chunk or a missing chunk, with a log line and a count, and installs none of it', async () => {
    const topic = uniqueName('artifacts-bad');
    await ensureTopics(admin, [artifactTopicSpec(topic)]);
    const source = registry('source-bad');
    const [corrupt, incomplete, good] = [
      publishLocal(source, 600_000),
      publishLocal(source, 600_000),
      publishLocal(source, 600_000),
    ];
    const chunkBytes = 128 * 1024;
    const records = (version: string) => [
      ...versionRecords(path.join(source.versionsDir, version), describeVersion(source, version, chunkBytes)),
    ];

    const flipped = records(corrupt);
    const victim = flipped.find((record) => String(record.key).includes('/chunk/2/weights.bin'))!;
    const bytes = Buffer.from(victim.value as Buffer);
    bytes[17] = (bytes[17]! + 1) % 256;
    victim.value = bytes;
    await sendRecords(producer, topic, flipped);
    await sendRecords(
      producer,
      topic,
      records(incomplete).filter((record) => !String(record.key).includes('/chunk/3/weights.bin')),
    );
    await sendRecords(producer, topic, records(good));

    const target = registry('target-bad');
    const { receiver, installed, rejected, lines } = receiverInto(kafka, topic, target);
    receivers.push(receiver);
    await receiver.start();
    await receiver.whenCaughtUp();
    await until('both rejections', () => rejected.length === 2);
    expect(rejected).toEqual([
      { version: corrupt, reason: 'corrupt' },
      { version: incomplete, reason: 'incomplete' },
    ]);
    expect(installed).toEqual([good]);
    expect(target.list()).toEqual([good]);
    expect(target.currentVersion()).toBe(good);
    expect(fs.readdirSync(target.stagingDir)).toEqual([]);
    const errors = lines.filter((line) => line.level === 50).map((line) => String(line.msg));
    expect(errors).toEqual([
      expect.stringMatching(/model version rejected \(corrupt\): weights\.bin: sha256 differs/),
      expect.stringMatching(/model version rejected \(incomplete\): weights\.bin: chunks 3 of 5 missing/),
    ]);
  });

  it('a receiver started later gets the latest version from the compacted topic alone; pruned versions are tombstoned and compacted away', {
    timeout: 180_000,
  }, async () => {
    const topic = uniqueName('artifacts-late');
    // Settings that let the log cleaner act within the test (segments roll after 1 s, any dirt is cleanable,
    // tombstones go at once); the shipped topic has the broker defaults.
    await ensureTopics(admin, [
      artifactTopicSpec(topic, {
        'segment.ms': '1000',
        'min.cleanable.dirty.ratio': '0.001',
        'delete.retention.ms': '0',
        'min.compaction.lag.ms': '0',
      }),
    ]);
    const source = registry('source-late');
    const keep = 2;
    const published: string[] = [];
    for (let n = 0; n < 3; n++) {
      const version = publishLocal(source, 400_000);
      await publishVersion({ producer, topic, registry: source, version });
      published.push(version);
      for (const doomed of source.prunable(keep)) {
        await publishTombstones(producer, topic, describeVersion(source, doomed));
        source.remove(doomed);
      }
    }
    expect(source.list()).toEqual(published.slice(1));

    // The cleaner only compacts closed segments: keep appending (a version re-sent: the same keys and bytes)
    // until the first version's records are gone (its tombstones may stay a while).
    const deadline = Date.now() + 120_000;
    for (;;) {
      await new Promise((resolve) => setTimeout(resolve, 2000));
      await publishVersion({ producer, topic, registry: source, version: published[2]! });
      const keys = await readTopic(kafka, admin, topic);
      if (!keys.some(([key, tombstone]) => key.startsWith(`${published[0]}/`) && !tombstone)) break;
      if (Date.now() > deadline) throw new Error(`the first version is still on the topic: ${keys.length} records`);
    }

    const late = registry('late');
    const { receiver, installed, rejected } = receiverInto(kafka, topic, late, keep);
    receivers.push(receiver);
    await receiver.start();
    await receiver.whenCaughtUp();
    expect(rejected).toEqual([]);
    expect(installed).toEqual(published.slice(1));
    expect(late.list()).toEqual(published.slice(1));
    expect(late.currentVersion()).toBe(published[2]);
    for (const version of published.slice(1)) expectIdentical(source, late, version);
  });
});
