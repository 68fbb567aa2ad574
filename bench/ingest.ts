/**
 * Kafka → LMDB ingest benchmark. Run: npm run bench:ingest (tsx bench/ingest.ts)
 *
 * 1. Throughput: `pncf replay` (a child process) puts EVENTS events into a PARTITIONS-partition topic, then the
 *    ingester (in this process, wired as main.ts wires it) drains the backlog into a fresh store; reports events/s.
 *    Then times a snapshot of the resulting store. Done twice over the same backlog, each time into a fresh store:
 *    with the counts changelog off (CHANGELOG_ENABLED=false, the ingester before issue 16) and on (the default:
 *    every changed pair's total published through the store's outbox, the run ending when the outbox is empty).
 *    CHANGELOG_ORDER (default "off,on") sets the order of the runs. BASELINE_REF=<git ref> adds a third run between
 *    them ("off,baseline,on"): that commit's own bench, with the changelog on, on the same broker and data
 *    (bench/ingest-baseline.ts), for a before/after under the same load.
 * 2. Delay: for each rate in RATES, a fresh topic and store; the ingester runs first, `pncf replay --rate` feeds
 *    LATENCY_EVENTS events; reports p50/p99/max of (commit of the count − Kafka produce timestamp).
 *
 * Uses KAFKA_BROKERS when set, else starts a fresh local broker. Figures are printed and written to
 * bench/results/ingest.json. STORE_NO_SYNC=true measures without fsync per commit. The delays run with the changelog
 * on (the default configuration).
 */

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Random } from '@pncf/data';
import { ingesterConfigSchema, ingesterTopics, type StoredBatch, startIngester } from '@pncf/ingester';
import { kafkaForRun, type StartedBroker } from '@pncf/kafka-local';
import { connectKafkaAdmin, createLogger } from '@pncf/runtime';
import { Registry } from 'prom-client';
import { checkoutBaseline, runBaselineThroughput } from './ingest-baseline.js';
import { replayFile } from './replay-file.js';

const EVENTS = Number(process.env.EVENTS ?? 1_000_000);
const PARTITIONS = Number(process.env.PARTITIONS ?? 4);
const RATES = (process.env.RATES ?? '20000,50000').split(',').filter(Boolean).map(Number);
const LATENCY_EVENTS = Number(process.env.LATENCY_EVENTS ?? 300_000);
const NO_SYNC = process.env.STORE_NO_SYNC ?? 'false';
const BASELINE_REF = process.env.BASELINE_REF;
type Run = 'off' | 'on' | 'baseline';
const CHANGELOG_ORDER = (process.env.CHANGELOG_ORDER ?? (BASELINE_REF ? 'off,baseline,on' : 'off,on'))
  .split(',')
  .map((mode): Run => {
    if (mode !== 'off' && mode !== 'on' && mode !== 'baseline') throw new Error(`CHANGELOG_ORDER: unknown run ${mode}`);
    if (mode === 'baseline' && !BASELINE_REF) throw new Error('CHANGELOG_ORDER: a baseline run needs BASELINE_REF');
    return mode;
  });

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'pncf-bench-ingest-'));
const logger = createLogger('bench-ingest', 'warn');

/** Synthetic CSV `user,item,count`: skewed users and items (@pncf/data's Random), close to one distinct pair per event. */
function writeEvents(file: string, n: number): void {
  // The seed gives mulberry32 the initial state 0x1234abcd, the stream the committed figures were made with.
  const rng = new Random((0x1234abcd ^ 0x9e3779b9) >>> 0);
  const next = () => rng.next();
  const out = fs.openSync(file, 'w');
  let chunk: string[] = [];
  for (let k = 0; k < n; k++) {
    chunk.push(
      `user-${Math.floor(next() ** 1.3 * 100_000)},item-${Math.floor(next() ** 2 * 20_000)},${1 + Math.floor(next() * 3)}`,
    );
    if (chunk.length === 50_000 || k === n - 1) {
      fs.writeSync(out, `${chunk.join('\n')}\n`);
      chunk = [];
    }
  }
  fs.closeSync(out);
}

function replay(brokers: string[], topic: string, file: string, rate: number, limit?: number): Promise<string> {
  return replayFile({
    file,
    format: 'generic',
    topic,
    brokers,
    partitions: PARTITIONS,
    rate,
    ...(limit ? { limit } : {}),
  });
}

function config(brokers: string[], name: string, store: string, changelog: boolean) {
  return ingesterConfigSchema.parse({
    KAFKA_BROKERS: brokers.join(','),
    LOG_LEVEL: 'warn',
    INTERACTIONS_TOPIC: name,
    INTERACTIONS_PARTITIONS: String(PARTITIONS),
    DEAD_LETTER_TOPIC: `${name}.dead-letter`,
    CONSUMER_GROUP: `${store}-group`,
    STORE_PATH: path.join(scratch, `${store}-store`),
    CHANGELOG_TOPIC: `${store}.counts`,
    CHANGELOG_ENABLED: String(changelog),
    STORE_NO_SYNC: NO_SYNC,
    // Some other ingester settings can be tried from the environment, e.g. FETCH_MAX_WAIT_MS=10, CHANGELOG_BATCH_PAIRS.
    ...Object.fromEntries(
      Object.keys(ingesterConfigSchema.shape)
        .filter(
          (key) =>
            key.startsWith('FETCH_') ||
            key.startsWith('PARTITIONS_') ||
            key === 'KAFKA_COMMIT_INTERVAL_MS' ||
            key === 'CHANGELOG_BATCH_PAIRS' ||
            key === 'CHANGELOG_READ_PAIRS',
        )
        .flatMap((key) => (process.env[key] ? [[key, process.env[key]]] : [])),
    ),
  });
}

async function ingest(
  brokers: string[],
  name: string,
  onBatch: (batch: StoredBatch) => void,
  changelog = true,
  store = name,
) {
  const cfg = config(brokers, name, store, changelog);
  const admin = await connectKafkaAdmin({
    createTopics: true,
    brokers,
    clientId: 'bench-ingest',
    logger,
    topics: ingesterTopics(cfg),
  });
  const ingester = await startIngester({
    config: cfg,
    logger,
    metricsRegistry: new Registry(),
    admin,
    onBatchStored: onBatch,
  });
  return {
    ingester,
    async stop() {
      await ingester.stop();
      await admin.disconnect();
    },
  };
}

function waitFor(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const deadline = Date.now() + timeoutMs;
    const timer = setInterval(() => {
      if (condition()) {
        clearInterval(timer);
        resolve();
      } else if (Date.now() > deadline) {
        clearInterval(timer);
        reject(new Error(`timed out waiting for ${what}`));
      }
    }, 20);
  });
}

/** The backlog of `topic` drained into a fresh store; with the changelog, until its outbox is empty too. */
async function measureThroughput(brokers: string[], topic: string, changelog: boolean, store: string) {
  let applied = 0;
  let firstAt = 0;
  let lastAt = 0;
  let batches = 0;
  const started = Date.now();
  // CPU time of this process (the ingester) is a figure that other load on the machine hardly changes.
  const cpuAtStart = process.cpuUsage();
  const throughputRun = await ingest(
    brokers,
    topic,
    (batch) => {
      if (firstAt === 0) firstAt = batch.storedAt - 1; // the first batch's own work counts too
      applied += batch.applied;
      lastAt = batch.storedAt;
      batches++;
    },
    changelog,
    store,
  );
  const { store: ingested } = throughputRun.ingester;
  await waitFor(() => applied >= EVENTS && ingested.outboxSize() === 0, 600_000, `${EVENTS} events stored`);
  // With the changelog, a batch's callback comes after its flush: the last one marks the outbox's last send.
  const doneAt = changelog ? Date.now() : lastAt;
  const cpu = process.cpuUsage(cpuAtStart);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  const fromStart = (doneAt - started) / 1000;
  const fromFirst = (doneAt - firstAt) / 1000;
  const snapshotStart = performance.now();
  const snapshot = ingested.snapshot();
  const snapshotSeconds = (performance.now() - snapshotStart) / 1000;
  const stats = ingested.stats();
  await throughputRun.stop();
  const throughput = {
    changelog,
    events: EVENTS,
    partitions: PARTITIONS,
    batches,
    secondsFromStart: fromStart,
    secondsFromFirstBatch: fromFirst,
    eventsPerSecondFromStart: Math.round(EVENTS / fromStart),
    eventsPerSecondSustained: Math.round(EVENTS / fromFirst),
    ingesterCpuSeconds: cpuSeconds,
    eventsPerIngesterCpuSecond: Math.round(EVENTS / cpuSeconds),
    loadavgAtEnd: os.loadavg(),
    store: stats,
    snapshot: {
      pairs: snapshot.interactions.byUser.indices.length,
      users: snapshot.interactions.userIds.length,
      items: snapshot.interactions.itemIds.length,
      seconds: snapshotSeconds,
    },
  };
  console.log(
    `throughput, changelog ${changelog ? 'on' : 'off'}: ${EVENTS} events in ${fromFirst.toFixed(2)} s from the first batch ` +
      `(${throughput.eventsPerSecondSustained} events/s; ${throughput.eventsPerSecondFromStart} events/s including ` +
      `group join), ${batches} batches; store ${(stats.bytes / 2 ** 20).toFixed(0)} MiB; ingester CPU ` +
      `${cpuSeconds.toFixed(2)} s = ${throughput.eventsPerIngesterCpuSecond} events per CPU second; load ${os
        .loadavg()
        .map((load) => load.toFixed(1))
        .join(' ')}`,
  );
  console.log(
    `snapshot: ${throughput.snapshot.pairs} pairs, ${throughput.snapshot.users} users, ${throughput.snapshot.items} items ` +
      `in ${snapshotSeconds.toFixed(2)} s`,
  );
  return throughput;
}

const quantile = (sorted: Float64Array, q: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;

let broker: StartedBroker | undefined;
try {
  const kafka = await kafkaForRun(path.join(scratch, 'kafka'), {
    ...process.env,
    // The figures are the local broker's unless asked otherwise: a container's would not compare with them.
    PNCF_TEST_KAFKA: process.env.PNCF_TEST_KAFKA ?? 'local',
  });
  broker = kafka.local;
  const brokers = kafka.brokers;
  const file = path.join(scratch, 'events.csv');
  writeEvents(file, Math.max(EVENTS, LATENCY_EVENTS));
  const run = Date.now().toString(36);

  // 1. Throughput over a backlog, with the changelog off and on.
  const topic = `bench-ingest-${run}`;
  const produced = await replay(brokers, topic, file, 0, EVENTS);
  console.log(`backlog: ${produced}`);
  const throughputs: Record<'changelogOff' | 'changelogOn' | 'changelogOnBaseline', unknown> = {
    changelogOff: undefined,
    changelogOn: undefined,
    changelogOnBaseline: undefined,
  };
  const baselineDir = path.join(scratch, 'baseline');
  const baselineCommit = BASELINE_REF ? checkoutBaseline(repoRoot, BASELINE_REF, baselineDir) : undefined;
  for (const run of CHANGELOG_ORDER) {
    if (run === 'baseline') {
      const result = await runBaselineThroughput(baselineDir, brokers, EVENTS);
      throughputs.changelogOnBaseline = { ref: BASELINE_REF, commit: baselineCommit, ...(result as object) };
      continue;
    }
    const label = run === 'on' ? 'changelogOn' : 'changelogOff';
    throughputs[label] = await measureThroughput(brokers, topic, run === 'on', `${topic}-${label}`);
  }

  // 2. Produce-to-stored delay at fixed rates.
  const delays = [];
  for (const rate of RATES) {
    const name = `bench-ingest-delay-${rate}-${run}`;
    const samples = new Float64Array(LATENCY_EVENTS * 2);
    let n = 0;
    const delayRun = await ingest(brokers, name, (batch) => {
      for (let k = 0; k < batch.timestamps.length && n < samples.length; k++) {
        samples[n++] = batch.storedAt - batch.timestamps[k]!;
      }
    });
    await waitFor(() => delayRun.ingester.joined(), 60_000, 'group join');
    const line = await replay(brokers, name, file, rate, LATENCY_EVENTS);
    await waitFor(() => n >= LATENCY_EVENTS, 120_000, `${LATENCY_EVENTS} delays`);
    await delayRun.stop();
    const sorted = samples.slice(0, n).sort();
    const result = {
      rate,
      events: n,
      replay: line,
      p50Ms: quantile(sorted, 0.5),
      p99Ms: quantile(sorted, 0.99),
      maxMs: sorted[n - 1]!,
    };
    console.log(
      `delay at ${rate} events/s (${line}): p50 ${result.p50Ms} ms, p99 ${result.p99Ms} ms, max ${result.maxMs} ms`,
    );
    delays.push(result);
  }

  const summary = {
    benchmark: 'ingest',
    date: new Date().toISOString(),
    machine: { cpus: os.cpus().length, cpu: os.cpus()[0]?.model, node: process.version, loadavgAtEnd: os.loadavg() },
    broker: broker
      ? 'local KRaft broker started by the benchmark (same machine)'
      : `KAFKA_BROKERS=${brokers.join(',')}`,
    storeNoSync: NO_SYNC === 'true',
    changelogOrder: CHANGELOG_ORDER,
    throughput: throughputs,
    delays,
  };
  const out = path.join(repoRoot, 'bench', 'results', NO_SYNC === 'true' ? 'ingest-nosync.json' : 'ingest.json');
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, `${JSON.stringify(summary, null, 2)}\n`);
  console.log(`→ ${out}`);
} finally {
  await broker?.stop();
  fs.rmSync(scratch, { recursive: true, force: true });
}
