/**
 * Scorer benchmark on the author-tag data (../shared/data/bilibili/bt_test_set.csv, 36,693 users × 16,715
 * items). Run: npm run bench:score (tsx bench/score.ts). Three parts, written to bench/results/score.json:
 *
 * 1. Quality cost of candidate generation: Recall@10 / NDCG@10 on the holdout (per-user 80/20 split, seed 1) of
 *    the tower on candidates vs the tower on every item (full ranking, train items excluded, as
 *    evaluateModel does), on the same sample of test users, for several candidate sizes.
 * 2. Full refresh computed in process: Top-10 of every user (no Kafka), to separate scoring from publishing.
 * 3. The real service: a store filled with the data, the model published in a registry, a Kafka broker
 *    (KAFKA_BROKERS, or a fresh local one), the scorer process; the full refresh it publishes after loading is
 *    timed from its own metrics, then autocannon measures GET /recommendations/:user (5,000 random users, k=10)
 *    at each SCORE_CONNECTIONS twice: the hit path (`http`: the scorer as configured, whose refresh cached every
 *    user's Top-10) and the miss path (`httpMiss`: a second scorer with TOPK_CACHE_SIZE=0, every request
 *    computed). Each row has the scorer's cache hits and misses during it and os.loadavg() at its end.
 *
 * A fourth part, `latency` (SCORE_PARTS), times single requests to the in-process ServingModel.recommend
 * (Top-10 of one user, the API's path without HTTP).
 *
 * The model is PNCF with the default preset fitted by bench/score-model.ts (cached in the OS temp folder).
 * Environment: SCORE_QUALITY_USERS (1000), SCORE_HTTP_SECONDS (15), SCORE_CONNECTIONS (1,4,16),
 * SCORE_LATENCY_REQUESTS (2000), SCORE_PARTS (quality,refresh,service; a partial run writes
 * score-<parts>.json instead of score.json).
 *
 * With another preset (`npm run bench:score -- --preset plus [--epochs N] [--dataset author-tag]`), the model of
 * that preset (e.g. PNCF+'s history model) is measured next to the default tower model, by default with the
 * parts latency and service (SCORE_PARTS), and written to bench/results/score-<preset>.json. --epochs bounds
 * the preset model's fit (its learned scorer's epochs, recorded as scorerEpochs; serving cost does not depend
 * on them, only on the model's shape).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Random } from '@pncf/data';
import { MetricAccumulator, testUsers, tfRuntime } from '@pncf/evaluation';
import { publishOutbox } from '@pncf/ingester';
import { freePort, kafkaForRun, type StartedBroker } from '@pncf/kafka-local';
import { isHistoryModel } from '@pncf/pncf';
import { ModelRegistry } from '@pncf/registry';
import { createKafka, ensureTopics, loadConfig } from '@pncf/runtime';
import { scorerConfigSchema } from '@pncf/scorer/config';
import { type CandidateSettings, historyOfRow, type RecommendRequest, ServingModel } from '@pncf/scorer/serving';
import { InteractionStore, type StoredEvent } from '@pncf/store';
import autocannon from 'autocannon';
import { benchModelArgs, type ScoreBenchModel, scoreBenchModel } from './score-model.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const QUALITY_USERS = Number(process.env.SCORE_QUALITY_USERS ?? 1000);
const HTTP_SECONDS = Number(process.env.SCORE_HTTP_SECONDS ?? 15);
const CONNECTIONS = (process.env.SCORE_CONNECTIONS ?? '1,4,16').split(',').map(Number);
const LATENCY_REQUESTS = Number(process.env.SCORE_LATENCY_REQUESTS ?? 2000);
const K = 10;
const args = benchModelArgs(process.argv.slice(2));
/** Another preset than the default: its model is compared with the default's (score-<preset>.json). */
const comparing = args.preset !== 'default' || args.epochs !== undefined;
// What the service runs with (the config schema's defaults), plus a sweep around it.
const defaults = loadConfig('scorer', scorerConfigSchema, {});
const DEFAULT_CANDIDATES: CandidateSettings = {
  nearest: defaults.CANDIDATES_NEAREST,
  popular: defaults.CANDIDATES_POPULAR,
};
const SWEEP: CandidateSettings[] = [
  { nearest: 0, popular: 200 },
  { nearest: 0, popular: 500 },
  { nearest: 100, popular: 400 },
  { nearest: 400, popular: 100 },
  { nearest: 1000, popular: 200 },
  { nearest: 0, popular: 1500 },
].filter((s) => s.nearest !== DEFAULT_CANDIDATES.nearest || s.popular !== DEFAULT_CANDIDATES.popular);
SWEEP.unshift(DEFAULT_CANDIDATES);
/** quality, refresh, service, latency: which parts to run (results of skipped parts are left out). */
const PARTS = new Set(
  (process.env.SCORE_PARTS ?? (comparing ? 'latency,service' : 'quality,refresh,service')).split(','),
);

const runtime = await tfRuntime();
const loadAverageAtStart = os.loadavg();
console.log(
  `tfjs backend: ${runtime.backend}; load average ${os
    .loadavg()
    .map((x) => x.toFixed(1))
    .join(' ')}`,
);
const bench = await scoreBenchModel(comparing ? {} : { force: args.force });
const compared = comparing ? await scoreBenchModel(args) : undefined;
const { artifact, train, test } = bench;
const createdAt = new Date().toISOString();

// 1. Quality: the same users through full ranking and through each candidate setting.
const rng = new Random(7);
const all = [...testUsers(test)];
for (let j = all.length - 1; j > 0; j--) {
  const r = rng.int(j + 1);
  [all[j], all[r]] = [all[r]!, all[j]!];
}
const sample = all.slice(0, Math.min(QUALITY_USERS, all.length));
const testSets = sample.map((u) => new Set(historyOfRow(test, u).items));
const requests: RecommendRequest[] = sample.map((u) => ({ user: train.userIds[u]!, history: historyOfRow(train, u) }));

function evaluate(candidates: CandidateSettings, block: number) {
  const model = new ServingModel({ version: 'v000001', createdAt, artifact, data: train, candidates });
  const acc = new MetricAccumulator([K]);
  const lists: string[][] = [];
  const hits = new Uint8Array(K);
  let scored = 0;
  const started = performance.now();
  for (let start = 0; start < requests.length; start += block) {
    const out = model.recommend(requests.slice(start, start + block), K);
    scored += out.scored;
    out.results.forEach((result, b) => {
      const items = result.items.map((x) => x.item);
      const truth = testSets[start + b]!;
      for (let j = 0; j < items.length; j++) hits[j] = truth.has(items[j]!) ? 1 : 0;
      acc.add(hits, items.length, truth.size);
      lists.push(items);
    });
  }
  const seconds = (performance.now() - started) / 1000;
  model.dispose();
  const metrics = acc.means();
  return { recall: metrics.recall[0]!, ndcg: metrics.ndcg[0]!, seconds, pairsPerUser: scored / requests.length, lists };
}

const data = bench.data;

function runQuality() {
  console.log(`quality on ${sample.length} test users (full ranking first)…`);
  const full = evaluate({ nearest: 0, popular: 0, fullRanking: true }, 4);
  console.log(
    `  full ranking: recall@10 ${full.recall.toFixed(4)} ndcg@10 ${full.ndcg.toFixed(4)} (${full.seconds.toFixed(1)} s, ${full.pairsPerUser.toFixed(0)} items/user)`,
  );
  const quality = [];
  for (const setting of SWEEP) {
    const result = evaluate(setting, 256);
    let same = 0;
    result.lists.forEach((list, i) => {
      const exact = new Set(full.lists[i]);
      for (const item of list) if (exact.has(item)) same++;
    });
    const overlap = same / (result.lists.length * K);
    const row = {
      nearest: setting.nearest,
      popular: setting.popular,
      itemsScoredPerUser: Math.round(result.pairsPerUser),
      recallAt10: result.recall,
      ndcgAt10: result.ndcg,
      recallCost: full.recall - result.recall,
      ndcgCost: full.ndcg - result.ndcg,
      top10OverlapWithFullRanking: overlap,
      seconds: result.seconds,
    };
    quality.push(row);
    console.log(
      `  candidates ${setting.nearest}+${setting.popular}: recall@10 ${row.recallAt10.toFixed(4)} (${row.recallCost >= 0 ? '−' : '+'}${Math.abs(row.recallCost).toFixed(4)}) ndcg@10 ${row.ndcgAt10.toFixed(4)} (${row.ndcgCost >= 0 ? '−' : '+'}${Math.abs(row.ndcgCost).toFixed(4)}), top-10 overlap ${(overlap * 100).toFixed(1)}%, ${result.seconds.toFixed(2)} s`,
    );
  }

  return {
    users: sample.length,
    split: 'per-user 80/20, seed 1 (protocolSplit); model fitted on train minus a 10% validation part',
    fullRanking: {
      recallAt10: full.recall,
      ndcgAt10: full.ndcg,
      seconds: full.seconds,
      itemsScoredPerUser: Math.round(full.pairsPerUser),
    },
    candidates: quality,
  };
}

function runRefresh() {
  // 2. Full refresh in process: every user of the data, blocks of BLOCK_USERS, k=10, messages encoded as JSON.
  const everyone: RecommendRequest[] = data.userIds.map((user, u) => ({ user, history: historyOfRow(data, u) }));
  const refreshModel = new ServingModel({
    version: 'v000001',
    createdAt,
    artifact,
    data,
    candidates: DEFAULT_CANDIDATES,
  });
  let bytes = 0;
  let refreshScored = 0;
  const refreshStarted = performance.now();
  for (let start = 0; start < everyone.length; start += defaults.BLOCK_USERS) {
    const block = everyone.slice(start, start + defaults.BLOCK_USERS);
    const out = refreshModel.recommend(block, K);
    refreshScored += out.scored;
    const generatedAt = new Date().toISOString();
    out.results.forEach((result, b) => {
      bytes += JSON.stringify({
        user: block[b]!.user,
        items: result.items,
        modelVersion: 'v000001',
        generatedAt,
      }).length;
    });
  }
  const refreshSeconds = (performance.now() - refreshStarted) / 1000;
  refreshModel.dispose();
  console.log(
    `in-process full refresh: ${everyone.length} users in ${refreshSeconds.toFixed(1)} s (${Math.round(refreshScored / refreshSeconds)} items scored/s, ${(bytes / 1e6).toFixed(1)} MB of JSON)`,
  );

  return {
    users: everyone.length,
    seconds: refreshSeconds,
    itemsScoredPerSecond: refreshScored / refreshSeconds,
    candidates: DEFAULT_CANDIDATES,
  };
}

/** 4. Single requests to the in-process ServingModel: Top-K of one random test user each, as the API asks. */
function runLatency(model: ScoreBenchModel) {
  const serving = new ServingModel({
    version: 'v000001',
    createdAt,
    artifact: model.artifact,
    data,
    candidates: DEFAULT_CANDIDATES,
  });
  const users = all.slice(0, Math.min(5000, all.length));
  const request = (j: number): RecommendRequest => {
    const u = users[j % users.length]!;
    return { user: data.userIds[u]!, history: historyOfRow(data, u) };
  };
  // Warm-up: tfjs creates its tensors and the JIT settles on the first calls.
  for (let j = 0; j < 200; j++) serving.recommend([request(j)], K);
  const ms = new Float64Array(LATENCY_REQUESTS);
  let scored = 0;
  for (let j = 0; j < LATENCY_REQUESTS; j++) {
    const req = request(j + 200);
    const started = performance.now();
    scored += serving.recommend([req], K).scored;
    ms[j] = performance.now() - started;
  }
  serving.dispose();
  ms.sort();
  const at = (q: number) => ms[Math.min(ms.length - 1, Math.floor(q * ms.length))]!;
  const latency = {
    requests: LATENCY_REQUESTS,
    k: K,
    itemsScoredPerRequest: scored / LATENCY_REQUESTS,
    ms: {
      p50: at(0.5),
      p90: at(0.9),
      p99: at(0.99),
      max: ms[ms.length - 1]!,
      mean: ms.reduce((a, b) => a + b, 0) / ms.length,
    },
  };
  console.log(
    `in-process ServingModel.recommend (${model.preset}, ${serving.kind}), top-${K} of one user: p50 ${latency.ms.p50.toFixed(2)} ms, p99 ${latency.ms.p99.toFixed(2)} ms, max ${latency.ms.max.toFixed(2)} ms (${Math.round(latency.itemsScoredPerRequest)} items scored per request)`,
  );
  return latency;
}

/** A scorer process of the service part, and what the bench reads from it. */
interface ScorerProcess {
  url: string;
  /** The value of the first series of a metric (whose labels contain `labels`, e.g. 'outcome="hit"'). */
  metric(name: string, labels?: string): Promise<number | undefined>;
  output(): string;
  exited(): boolean;
  stop(): Promise<void>;
}

/** Start the scorer (services/scorer/src/main.ts) with the bench's environment plus `env`. */
async function spawnScorer(env: Record<string, string>): Promise<ScorerProcess> {
  const port = await freePort();
  const child: ChildProcess = spawn(
    process.execPath,
    ['--import', 'tsx', path.join(repoRoot, 'services', 'scorer', 'src', 'main.ts')],
    {
      cwd: repoRoot,
      // The load generator is one client address: the per-client rate limit would measure itself, not the scorer.
      env: { ...process.env, HTTP_PORT: String(port), LOG_LEVEL: 'info', RATE_LIMIT_MAX: '0', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-100_000)));
  child.stderr?.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-100_000)));
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    async metric(name, labels = '') {
      const text = await (await fetch(`${url}/metrics`)).text();
      const line = text
        .split('\n')
        .find((l) => (l.startsWith(`${name}{`) && l.includes(labels)) || (labels === '' && l.startsWith(`${name} `)));
      return line ? Number(line.split(' ').at(-1)) : undefined;
    },
    output: () => output,
    exited: () => child.exitCode !== null,
    async stop() {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
    },
  };
}

/** Wait until `probe` answers true (polling every 500 ms), or fail with the scorer's last lines. */
async function waitFor(scorer: ScorerProcess, what: string, probe: () => Promise<boolean>, minutes: number) {
  const deadline = Date.now() + minutes * 60_000;
  for (;;) {
    if (scorer.exited()) throw new Error(`scorer exited:\n${scorer.output()}`);
    if (Date.now() > deadline)
      throw new Error(`no ${what} within ${minutes} minutes:\n${scorer.output().slice(-4000)}`);
    if (await probe().catch(() => false)) return;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

type HttpPath = 'hit' | 'miss';

/**
 * autocannon at each of CONNECTIONS against the scorer, after one warm-up pass over `paths`; with the scorer's
 * cache lookups during each run (a hit-path row must be all hits, a miss-path row all misses) and the load average.
 */
async function measureHttp(
  scorer: ScorerProcess,
  paths: { method: 'GET'; path: string }[],
  expected: HttpPath,
  preset: string,
) {
  const lookups = async () => ({
    hit: (await scorer.metric('pncf_scorer_topk_cache_lookups_total', 'outcome="hit"')) ?? 0,
    miss: (await scorer.metric('pncf_scorer_topk_cache_lookups_total', 'outcome="miss"')) ?? 0,
  });
  // Warm-up: the JIT settles; on the hit path every list is cached after it (the full refresh already did that).
  await autocannon({ url: scorer.url, connections: 4, amount: paths.length, requests: paths });
  const rows: Record<string, unknown>[] = [];
  for (const connections of CONNECTIONS) {
    const before = await lookups();
    const result = await autocannon({ url: scorer.url, connections, duration: HTTP_SECONDS, requests: paths });
    const after = await lookups();
    const hits = after.hit - before.hit;
    const misses = after.miss - before.miss;
    const row = {
      connections,
      path: expected,
      seconds: HTTP_SECONDS,
      requests: result.requests.total,
      throughputPerSecond: result.requests.average,
      latencyMs: {
        p50: result.latency.p50,
        p90: result.latency.p90,
        p99: result.latency.p99,
        max: result.latency.max,
        mean: result.latency.average,
      },
      non2xx: result.non2xx,
      errors: result.errors,
      cacheHits: hits,
      cacheMisses: misses,
      cacheHitRatio: hits + misses > 0 ? hits / (hits + misses) : null,
      loadAverage: os.loadavg(),
    };
    rows.push(row);
    console.log(
      `HTTP ${expected} path (${preset}), ${connections} connection(s): ${row.throughputPerSecond} req/s, p50 ${row.latencyMs.p50} ms, p99 ${row.latencyMs.p99} ms, max ${row.latencyMs.max} ms, hit ratio ${row.cacheHitRatio?.toFixed(3)}, non-2xx ${row.non2xx}, errors ${row.errors}, load average ${row.loadAverage.map((x) => x.toFixed(1)).join(' ')}`,
    );
  }
  return rows;
}

/**
 * 3. The service end to end. First the scorer as configured by default (Top-K cache on): its full refresh, then
 * the hit path (the refresh cached every user's Top-10), then a swap under load. Then a second scorer with the
 * cache disabled (TOPK_CACHE_SIZE=0, no refresh): the miss path, every request computed.
 */
async function runService(model: ScoreBenchModel = bench, options: { swap: boolean } = { swap: true }) {
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'pncf-bench-score-run-'));
  let broker: StartedBroker | undefined;
  const scorers: ScorerProcess[] = [];
  const service: Record<string, unknown> = {};
  try {
    // The source of the counts, as an ingester's store: the scorer builds its own view from the changelog below.
    const store = InteractionStore.open({ path: path.join(scratch, 'store'), noSync: true, changelogOutbox: true });
    const events: StoredEvent[] = [];
    let offset = 0n;
    for (let u = 0; u < data.byUser.rows; u++) {
      for (let p = data.byUser.indptr[u]!; p < data.byUser.indptr[u + 1]!; p++) {
        events.push({
          offset: offset++,
          user: data.userIds[u]!,
          item: data.itemIds[data.byUser.indices[p]!]!,
          count: data.byUser.counts[p]!,
        });
      }
    }
    for (let start = 0; start < events.length; start += 20_000) {
      const slice = events.slice(start, start + 20_000);
      store.applyBatch({ topic: 'bench', partition: 0, events: slice, nextOffset: slice.at(-1)!.offset + 1n });
    }
    const modelRegistry = new ModelRegistry(path.join(scratch, 'models'));
    const staged = modelRegistry.createStaging();
    for (const file of fs.readdirSync(model.artifactDir))
      fs.copyFileSync(path.join(model.artifactDir, file), path.join(staged, file));
    const version = modelRegistry.publish(staged, { bench: true }).version;
    const artifactDir = model.artifactDir;

    const kafka = await kafkaForRun(path.join(scratch, 'kafka'), {
      ...process.env,
      // The figures are the local broker's unless asked otherwise: a container's would not compare with them.
      PNCF_TEST_KAFKA: process.env.PNCF_TEST_KAFKA ?? 'local',
    });
    broker = kafka.local;
    const changelog = `bench-counts-${Date.now().toString(36)}`;
    await publishOutbox(createKafka({ brokers: kafka.brokers, clientId: 'bench-score-changelog' }), changelog, store);
    await store.close();
    // The ingester's topic, which the scorer never creates: until it exists a scorer holds no partition of it, and
    // so publishes no refresh (each replica refreshes the users of its partitions).
    const eventsTopic = `bench-events-${Date.now().toString(36)}`;
    const admin = createKafka({ brokers: kafka.brokers, clientId: 'bench-score-events' }).admin();
    await admin.connect();
    await ensureTopics(admin, [{ topic: eventsTopic, partitions: 4 }]);
    await admin.disconnect();
    const scorerEnv = (run: string) => ({
      KAFKA_BROKERS: kafka.brokers.join(','),
      CHANGELOG_TOPIC: changelog,
      // One view for every scorer of the run: the first catches up from the changelog, later ones resume.
      VIEW_PATH: path.join(scratch, 'scorer-view'),
      MODEL_DIR: path.join(scratch, 'models'),
      RECOMMENDATIONS_TOPIC: `bench-recs-${run}`,
      INTERACTIONS_TOPIC: eventsTopic,
      MODEL_UPDATES_TOPIC: `bench-models-${run}`,
      CONSUMER_GROUP: `bench-scorer-${run}`,
    });
    const paths = all.slice(0, 5000).map((u) => ({
      method: 'GET' as const,
      path: `/recommendations/${encodeURIComponent(data.userIds[u]!)}?k=${K}`,
    }));

    const loadStarted = performance.now();
    const scorer = await spawnScorer(scorerEnv(Date.now().toString(36)));
    scorers.push(scorer);
    await waitFor(
      scorer,
      'full refresh',
      async () => ((await scorer.metric('pncf_scorer_last_refresh_users')) ?? 0) > 0,
      15,
    );
    const firstListSeconds = (performance.now() - loadStarted) / 1000;
    service.model = version;
    service.modelLoadSeconds = await scorer.metric('pncf_scorer_model_load_duration_seconds_sum');
    const refreshSeconds = await scorer.metric('pncf_scorer_last_refresh_duration_seconds');
    const refreshItems = await scorer.metric('pncf_scorer_last_refresh_items_scored');
    service.fullRefresh = {
      users: await scorer.metric('pncf_scorer_last_refresh_users'),
      seconds: refreshSeconds,
      itemsScoredPerSecond:
        refreshSeconds === undefined || refreshItems === undefined ? undefined : refreshItems / refreshSeconds,
      secondsFromProcessStartToRefreshDone: firstListSeconds,
    };
    console.log(`service: full refresh published ${JSON.stringify(service.fullRefresh)}`);
    service.cache = {
      size: defaults.TOPK_CACHE_SIZE,
      entriesAfterRefresh: await scorer.metric('pncf_scorer_topk_cache_entries'),
    };

    // The hit path: the service as it runs, every requested list cached (by the refresh, or the warm-up pass).
    service.http = await measureHttp(scorer, paths, 'hit', model.preset);

    if (options.swap) {
      // A swap under load: the same artifact published again as the next version; the pointer poll (5 s) finds
      // it, the worker loads it, the swap happens (dropping the cache) and the full refresh starts, all while
      // requests keep coming.
      const swapLoad = autocannon({ url: scorer.url, connections: 1, duration: HTTP_SECONDS, requests: paths });
      await new Promise((resolve) => setTimeout(resolve, 1000));
      const again = modelRegistry.createStaging();
      for (const file of fs.readdirSync(artifactDir))
        fs.copyFileSync(path.join(artifactDir, file), path.join(again, file));
      const next = modelRegistry.publish(again, { bench: true }).version;
      const during = await swapLoad;
      const swapped = (await (await fetch(`${scorer.url}/readyz`)).json()) as { model: string };
      const probe = await fetch(`${scorer.url}${paths[0]!.path}`);
      if (!probe.ok)
        console.log(`after the swap: ${probe.status} ${await probe.text()}\n${scorer.output().slice(-3000)}`);
      service.httpDuringSwap = {
        connections: 1,
        seconds: HTTP_SECONDS,
        swappedTo: swapped.model === next ? next : null,
        requests: during.requests.total,
        throughputPerSecond: during.requests.average,
        latencyMs: {
          p50: during.latency.p50,
          p90: during.latency.p90,
          p99: during.latency.p99,
          max: during.latency.max,
        },
        non2xx: during.non2xx,
        errors: during.errors,
        statusCodes: during.statusCodeStats,
        loadAverage: os.loadavg(),
      };
      console.log(`HTTP during a swap and the refresh it starts: ${JSON.stringify(service.httpDuringSwap)}`);
    }
    await scorer.stop();

    // The miss path: the same requests, each computed (the cache disabled; no refresh competes for the CPU).
    const computing = await spawnScorer({
      ...scorerEnv(`${Date.now().toString(36)}-miss`),
      TOPK_CACHE_SIZE: '0',
      REFRESH_ON_SWAP: 'false',
    });
    scorers.push(computing);
    await waitFor(computing, 'model loaded', async () => (await fetch(`${computing.url}/readyz`)).ok, 5);
    service.httpMiss = await measureHttp(computing, paths, 'miss', model.preset);
  } finally {
    for (const scorer of scorers) await scorer.stop();
    await broker?.stop();
    fs.rmSync(scratch, { recursive: true, force: true });
  }

  return service;
}

/** What the results say about a model: its preset, kind, shape and fit. */
function describeModel(model: ScoreBenchModel) {
  const m = model.artifact.model;
  return {
    preset: model.preset,
    kind: isHistoryModel(m) ? 'history' : 'tower',
    dim: isHistoryModel(m) ? m.dim : m.tower.dim,
    ...(isHistoryModel(m) ? {} : { hidden: model.config.tower.hidden }),
    scorerEpochs: isHistoryModel(m) ? model.config.history.epochs : model.config.tower.epochs,
    users: m.numUsers,
    items: m.numItems,
    fitSeconds: model.fitSeconds,
  };
}

const machine = () => ({
  cpus: os.cpus().length,
  loadAverageAtStart,
  loadAverageAtEnd: os.loadavg(),
  node: process.version,
  tfBackend: runtime.backend,
});
const dataSummary = {
  file: 'bilibili/bt_test_set.csv',
  users: data.userIds.length,
  items: data.itemIds.length,
  pairs: data.byUser.indices.length,
};
fs.mkdirSync(path.join(repoRoot, 'bench', 'results'), { recursive: true });

if (compared) {
  // The preset's model next to the default tower model: in-process and HTTP latency of Top-10 requests.
  const models = [];
  for (const model of [bench, compared]) {
    const row: Record<string, unknown> = describeModel(model);
    if (PARTS.has('latency')) row.inProcess = runLatency(model);
    if (PARTS.has('service')) row.service = await runService(model, { swap: false });
    models.push(row);
  }
  const result = {
    generatedAt: new Date().toISOString(),
    command: `npm run bench:score -- ${process.argv.slice(2).join(' ')}`.trim(),
    target: 'Top-10 p99 ≤ 10 ms on the author-tag model (issue 15)',
    notes:
      'inProcess: ServingModel.recommend for one user (k=10) in this process, after 200 warm-up requests; ' +
      'service.http: GET /recommendations/:user?k=10 against the scorer process (autocannon), after its full refresh ' +
      '(the hit path: served from the Top-K cache); service.httpMiss: the same with TOPK_CACHE_SIZE=0 (computed). ' +
      'A history model ranks every unseen item; the tower its candidates (CANDIDATES_NEAREST + CANDIDATES_POPULAR).',
    machine: machine(),
    data: dataSummary,
    candidatesOfTheService: DEFAULT_CANDIDATES,
    models,
  };
  const name = `score-${args.preset}.json`;
  fs.writeFileSync(path.join(repoRoot, 'bench', 'results', name), `${JSON.stringify(result, null, 2)}\n`);
  console.log(`wrote bench/results/${name}`);
} else {
  const quality = PARTS.has('quality') ? runQuality() : undefined;
  const inProcessFullRefresh = PARTS.has('refresh') ? runRefresh() : undefined;
  const service = PARTS.has('service') ? await runService() : undefined;
  const inProcessLatency = PARTS.has('latency') ? runLatency(bench) : undefined;
  const result = {
    generatedAt: new Date().toISOString(),
    command: 'npm run bench:score',
    target: 'GET /recommendations on the hit path: ≥ 5,000 requests/s at p99 ≤ 10 ms with 16 connections (issue 14)',
    notes:
      'service.http: the scorer as configured (its full refresh caches every user’s Top-10: the hit path); ' +
      'service.httpMiss: a scorer with TOPK_CACHE_SIZE=0, every request computed (the miss path). ' +
      'autocannon runs in the bench process, on the same cores as the scorer.',
    machine: machine(),
    data: dataSummary,
    model: {
      preset: 'default',
      hidden: artifact.config.tower.hidden,
      dim: describeModel(bench).dim,
      fitSeconds: bench.fitSeconds,
    },
    candidatesOfTheService: DEFAULT_CANDIDATES,
    quality,
    inProcessFullRefresh,
    service,
    ...(inProcessLatency ? { inProcessLatency } : {}),
  };
  // A partial run gets a file of its own, so score.json always holds one complete run.
  const full = ['quality', 'refresh', 'service'].every((part) => PARTS.has(part)) && PARTS.size === 3;
  const name = full ? 'score.json' : `score-${[...PARTS].sort().join('-')}.json`;
  fs.writeFileSync(path.join(repoRoot, 'bench', 'results', name), `${JSON.stringify(result, null, 2)}\n`);
  console.log(`wrote bench/results/${name}`);
}
