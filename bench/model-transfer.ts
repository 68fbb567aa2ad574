/**
 * How long a model version takes to travel through Kafka: publish (chunks + manifest, acks from all replicas) and
 * receive (a fresh receiver into an empty registry: read, write, verify every sha256, install), on the local broker.
 * The model has the author-tag file's shape with random weights (sizes are what matters here): 36,693 users and
 * 16,715 items, the default preset's dimension and tower, and the word2vec tables the trainer saves for warm starts.
 * Three rounds, each on a topic of its own; median. Run: npm run bench:model-transfer (writes
 * bench/results/model-transfer.json).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Random } from '@pncf/data';
import { kafkaForRun } from '@pncf/kafka-local';
import { initTower, presets, saveArtifact } from '@pncf/pncf';
import { artifactTopicSpec, DEFAULT_CHUNK_BYTES, ModelReceiver, ModelRegistry, publishVersion } from '@pncf/registry';
import { createKafka, createLogger, ensureTopics } from '@pncf/runtime';

const USERS = 36_693;
const ITEMS = 16_715;
const ROUNDS = 3;
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'pncf-bench-transfer-'));
const out = path.join(path.dirname(fileURLToPath(import.meta.url)), 'results', 'model-transfer.json');

function authorTagShapedVersion(registry: ModelRegistry): string {
  const config = presets.default;
  const dim = config.userWord2Vec.dim;
  const rng = new Random(1);
  const table = (rows: number) => Float32Array.from({ length: rows * dim }, () => rng.next() * 2 - 1);
  const embeddings = (rows: number) => ({ vocabSize: rows, dim, vectors: table(rows), context: table(rows) });
  const staged = registry.createStaging();
  saveArtifact(staged, {
    model: {
      numUsers: USERS,
      numItems: ITEMS,
      userVectors: table(USERS),
      itemVectors: table(ITEMS),
      tower: initTower(dim, config.tower.hidden, config.tower.batchNorm, 1),
    },
    userIds: Array.from({ length: USERS }, (_, i) => `author-${String(i).padStart(6, '0')}`),
    itemIds: Array.from({ length: ITEMS }, (_, i) => `tag-${String(i).padStart(5, '0')}`),
    config,
    metrics: {},
    pretrained: { users: embeddings(USERS), items: embeddings(ITEMS) },
  });
  return registry.publish(staged, { bench: true }).version;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

const broker = await kafkaForRun(path.join(scratch, 'kafka'));
try {
  const kafka = createKafka({ brokers: broker.brokers, clientId: 'pncf-bench-transfer' });
  const admin = kafka.admin();
  await admin.connect();
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  const source = new ModelRegistry(path.join(scratch, 'source'));
  const version = authorTagShapedVersion(source);
  const rounds = [];
  for (let round = 1; round <= ROUNDS; round++) {
    const topic = `bench-model-artifacts-${round}`;
    await ensureTopics(admin, [artifactTopicSpec(topic)]);
    const loadBefore = os.loadavg()[0]!;
    const publishStarted = performance.now();
    const published = await publishVersion({ producer, topic, registry: source, version });
    const publishSeconds = (performance.now() - publishStarted) / 1000;

    const target = new ModelRegistry(path.join(scratch, `target-${round}`));
    const receiver = new ModelReceiver({
      kafka,
      topic,
      registry: target,
      groupId: `bench-receiver-${round}`,
      logger: createLogger('bench', 'warn'),
      keepVersions: 5,
    });
    const receiveStarted = performance.now();
    await receiver.start();
    await receiver.whenCaughtUp();
    const receiveSeconds = (performance.now() - receiveStarted) / 1000;
    await receiver.stop();
    if (target.currentVersion() !== version) throw new Error(`round ${round}: ${version} was not installed`);
    rounds.push({
      round,
      bytes: published.bytes,
      records: published.records,
      publishSeconds,
      receiveSeconds,
      loadAverage1m: [loadBefore, os.loadavg()[0]!],
    });
    console.log(JSON.stringify(rounds.at(-1)));
  }
  await producer.disconnect();
  await admin.disconnect();
  const result = {
    what: 'one model version of the author-tag shape through the model-artifacts topic on the local broker',
    users: USERS,
    items: ITEMS,
    files: Object.fromEntries(
      fs
        .readdirSync(path.join(source.versionsDir, version))
        .map((file) => [file, fs.statSync(path.join(source.versionsDir, version, file)).size]),
    ),
    chunkBytes: DEFAULT_CHUNK_BYTES,
    medianPublishSeconds: median(rounds.map((r) => r.publishSeconds)),
    medianReceiveSeconds: median(rounds.map((r) => r.receiveSeconds)),
    rounds,
    node: process.version,
    cpus: os.cpus().length,
    date: new Date().toISOString(),
  };
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
  console.log(`written ${out}`);
} finally {
  await broker.local?.stop();
  fs.rmSync(scratch, { recursive: true, force: true });
}
