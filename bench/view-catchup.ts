/**
 * Catch-up time of a fresh counts view at author-tag scale. Run: npm run bench:view-catchup
 *
 * `pncf replay` puts the author-tag file (../shared/data/bilibili/bt_test_set.csv: 236,979 rows, 36,693 authors,
 * 16,715 tags) into an interactions topic; an ingester (in this process, wired as main.ts wires it, changelog on)
 * counts it and publishes every pair's total to the compacted interaction-counts topic. Then, REPEATS times, a
 * view starts on an empty directory (as a new scorer or trainer would) and is timed from its start to
 * caughtUp(); its pairs and total are checked against the ingester's store. Finally a caught-up view is restarted
 * on its own directory (nothing new to read) and timed the same way.
 *
 * Uses KAFKA_BROKERS when set, else starts a fresh local broker. Writes bench/results/view-catchup.json.
 * VIEW_NO_SYNC=true measures the view without fsync per commit (the services sync).
 */

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ingesterConfigSchema, ingesterTopics, startIngester } from '@pncf/ingester';
import { kafkaForRun, type StartedBroker } from '@pncf/kafka-local';
import { connectKafkaAdmin, createLogger } from '@pncf/runtime';
import { startCountsView } from '@pncf/store';
import { Registry } from 'prom-client';
import { replayFile } from './replay-file.js';

const REPEATS = Number(process.env.REPEATS ?? 3);
const PARTITIONS = Number(process.env.PARTITIONS ?? 4);
const VIEW_NO_SYNC = process.env.VIEW_NO_SYNC === 'true';
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const file = process.env.DATA_FILE ?? path.resolve(repoRoot, '..', 'shared', 'data', 'bilibili', 'bt_test_set.csv');
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'pncf-bench-view-'));
const logger = createLogger('bench-view-catchup', 'warn');

async function until(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

let broker: StartedBroker | undefined;
try {
  const kafka = await kafkaForRun(path.join(scratch, 'kafka'));
  broker = kafka.local;
  const brokers = kafka.brokers;
  const run = Date.now().toString(36);
  const config = ingesterConfigSchema.parse({
    KAFKA_BROKERS: brokers.join(','),
    LOG_LEVEL: 'warn',
    INTERACTIONS_TOPIC: `bench-view-events-${run}`,
    INTERACTIONS_PARTITIONS: String(PARTITIONS),
    DEAD_LETTER_TOPIC: `bench-view-dlq-${run}`,
    CHANGELOG_TOPIC: `bench-view-counts-${run}`,
    CHANGELOG_PARTITIONS: String(PARTITIONS),
    CONSUMER_GROUP: `bench-view-${run}`,
    STORE_PATH: path.join(scratch, 'ingester-store'),
  });
  const admin = await connectKafkaAdmin({
    createTopics: true,
    brokers,
    clientId: 'bench-view',
    logger,
    topics: ingesterTopics(config),
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
    () =>
      ends.every((end) => (stored().get(end.partition) ?? 0n) >= BigInt(end.high)) && ingester.store.outboxSize() === 0,
    600_000,
    'the ingester to count and publish the file',
  );
  const source = ingester.store.stats();
  await ingester.stop();
  const changelogEnds = await admin.fetchTopicOffsets(config.CHANGELOG_TOPIC);
  const records = changelogEnds.reduce((sum, end) => sum + Number(end.high) - Number(end.low), 0);
  console.log(`ingested: ${source.pairs} pairs, total ${source.total}; changelog holds ${records} records`);

  const timeView = async (dir: string, label: string) => {
    const started = performance.now();
    const view = await startCountsView({
      brokers,
      topic: config.CHANGELOG_TOPIC,
      path: dir,
      noSync: VIEW_NO_SYNC,
      groupPrefix: `bench-view-${label}`,
      clientId: 'bench-view',
      logger,
      admin,
    });
    await view.whenCaughtUp();
    const seconds = (performance.now() - started) / 1000;
    const stats = view.store.stats();
    await view.stop();
    if (stats.pairs !== source.pairs || stats.total !== source.total) {
      throw new Error(
        `view ${label}: ${stats.pairs} pairs, total ${stats.total}; the ingester has ${source.pairs}, ${source.total}`,
      );
    }
    console.log(
      `${label}: caught up in ${seconds.toFixed(2)} s (${stats.pairs} pairs); load ${os
        .loadavg()
        .map((x) => x.toFixed(1))
        .join(' ')}`,
    );
    return { label, seconds, pairs: stats.pairs, loadavg: os.loadavg() };
  };
  const fresh = [];
  for (let k = 1; k <= REPEATS; k++) {
    const dir = path.join(scratch, `view-${k}`);
    fresh.push(await timeView(dir, `fresh view ${k}`));
    if (k < REPEATS) fs.rmSync(dir, { recursive: true, force: true });
  }
  const restart = await timeView(path.join(scratch, `view-${REPEATS}`), 'restart of a caught-up view');
  await admin.disconnect();

  const sorted = fresh.map((entry) => entry.seconds).sort((a, b) => a - b);
  const summary = {
    benchmark: 'view-catchup',
    date: new Date().toISOString(),
    machine: { cpus: os.cpus().length, cpu: os.cpus()[0]?.model, node: process.version, loadavgAtEnd: os.loadavg() },
    broker: broker
      ? 'local KRaft broker started by the benchmark (same machine)'
      : `KAFKA_BROKERS=${brokers.join(',')}`,
    data: { file: path.relative(repoRoot, file), replay: replayed, partitions: PARTITIONS },
    source: { pairs: source.pairs, users: source.users, items: source.items, total: source.total },
    changelogRecords: records,
    viewNoSync: VIEW_NO_SYNC,
    freshViewSecondsMedian: sorted[Math.floor(sorted.length / 2)],
    fresh,
    restart,
  };
  const out = path.join(repoRoot, 'bench', 'results', 'view-catchup.json');
  fs.writeFileSync(out, `${JSON.stringify(summary, null, 2)}\n`);
  console.log(`→ ${out}`);
} finally {
  await broker?.stop();
  fs.rmSync(scratch, { recursive: true, force: true });
}
