/**
 * Prequential (test-then-train) quality over time: the product's own quality figure.
 *   npm run bench:online -- --dataset ml-100k
 *   npm run bench:online -- --dataset generated [--events 100000] [--seed 1]
 *
 * A time-ordered log is replayed through the real LMDB store (a temporary one, events applied in batches with
 * their offsets, as the ingester does) and the real trainer pipeline (`trainOnce` with a temporary model registry;
 * each run warm-starts from the version the previous run published, as in production). The protocol
 * (packages/evaluation/src/prequential.ts): log sorted by timestamp, ties in file order; the first 50 % is the
 * warm-up, then 5 chunks of 10 %; before chunk t every model has been trained on every event before it, and chunk t
 * is scored before it is ingested: its distinct pairs whose user and item were seen before and which are new for the
 * user, ranking every item seen before with the user's earlier items excluded; standard Recall and NDCG at 10 and 20
 * averaged over the evaluated users, per chunk and as the mean of the 5 chunks. No k-core (TRAIN_KCORE=0 is forced,
 * so the trainer fits exactly the prefix the baselines fit and the evaluation ranks).
 *
 * Rows: PNCF as served (the registry's CURRENT after each run: a candidate the gate rejects leaves the previous
 * version serving, recorded per step), the same PNCF frozen after the warm-up (version 1 for every chunk), EASE
 * (λ = 500) and MostPop refit on each prefix, and on the generated stream an oracle that knows the generator's
 * latent topics. Each store snapshot is checked to equal the prefix built in memory from the log.
 *
 * Writes bench/results/online-<dataset>.{json,md,svg,png} and prints the tables.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Interactions, indexOfIds, mapIds, numItems, numPairs, numUsers } from '@pncf/data';
import {
  type ChunkStats,
  chunkBoundaries,
  chunkTestSet,
  DATASETS,
  Ease,
  type EventLog,
  evaluateModel,
  lineChartSvg,
  loadTimedLog,
  MostPop,
  PREQUENTIAL_KS,
  PREQUENTIAL_PROTOCOL,
  prefixInteractions,
  type Recommender,
  sameInteractions,
  sharedDataRoot,
  sortByTime,
  svgToPng,
  tfRuntime,
} from '@pncf/evaluation';
import { ArtifactRecommender, loadArtifact, type ModelArtifact } from '@pncf/pncf';
import { ModelRegistry } from '@pncf/registry';
import { loadConfig } from '@pncf/runtime';
import { InteractionStore, type StoredEvent } from '@pncf/store';
import { AuthorTagGenerator, scaledOptions } from '@pncf/synthetic';
import { trainerConfigSchema } from '@pncf/trainer/config';
import { type ModelMetadata, type RunOutcome, trainOnce } from '@pncf/trainer/pipeline';
import { Command } from 'commander';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const opts = new Command('bench-online')
  .option('--dataset <name>', 'ml-100k or generated', 'ml-100k')
  .option('--events <n>', 'events of the generated stream', '100000')
  .option('--seed <n>', 'seed of the generated stream', '1')
  .option('--batch <n>', 'events per store write transaction (one ingester batch)', '1000')
  .option('--name <suffix>', 'results as online-<dataset>-<suffix>.* (e.g. a run with other TRAIN_* variables)')
  .parse()
  .opts<{ dataset: string; events: string; seed: string; batch: string; name?: string }>();
const BATCH = Number(opts.batch);
const KS = PREQUENTIAL_KS;
const round = (x: number, d = 4) => Number(x.toFixed(d));
const load = () => os.loadavg().map((x) => round(x, 2));

// ---- the log -------------------------------------------------------------------------------------------------
let log: EventLog;
let source: Record<string, unknown>;
let oracle: Recommender | undefined;
if (opts.dataset === 'ml-100k') {
  const dataRoot = sharedDataRoot(ROOT);
  if (!dataRoot) throw new Error('needs the shared data folder (../shared/data)');
  const file = path.join(dataRoot, DATASETS['ml-100k']!.file);
  log = sortByTime(loadTimedLog(file, 'ml-100k'));
  source = { file: path.relative(ROOT, file), events: log.users.length };
} else if (opts.dataset === 'generated') {
  const options = scaledOptions(Number(opts.events), Number(opts.seed));
  const generator = new AuthorTagGenerator(options);
  const stream = generator.generate();
  log = sortByTime({
    users: Array.from(stream.authors, (a) => stream.authorIds[a]!),
    items: Array.from(stream.tags, (t) => stream.tagIds[t]!),
    counts: new Uint32Array(stream.authors.length).fill(1),
    timestamps: stream.timestamps,
  });
  source = { generator: '@pncf/synthetic scaledOptions(events, seed)', options };
  oracle = topicOracle(generator, stream.authorIds, stream.tagIds);
} else {
  throw new Error(`unknown --dataset ${opts.dataset} (ml-100k or generated)`);
}

/**
 * Ranks each author's tags by the generator's own distribution of their next fresh (not re-used) tag: the oracle
 * that knows the latent topics. Only meaningful on the generated stream.
 */
function topicOracle(generator: AuthorTagGenerator, authorIds: string[], tagIds: string[]): Recommender {
  const authorOf = indexOfIds(authorIds);
  const tagOf = indexOfIds(tagIds);
  let users: Int32Array = new Int32Array(0);
  let items: Int32Array = new Int32Array(0);
  return {
    name: 'Oracle (latent topics)',
    async fit(data: Interactions) {
      users = mapIds(data.userIds, authorOf);
      items = mapIds(data.itemIds, tagOf);
    },
    scoreUsers(block: Uint32Array, out: Float32Array) {
      const m = items.length;
      block.forEach((u, b) => {
        const p = generator.freshTagProbabilities(users[u]!);
        for (let i = 0; i < m; i++) out[b * m + i] = p[items[i]!]!;
      });
    },
  };
}

// ---- store, registry, trainer --------------------------------------------------------------------------------
const bounds = chunkBoundaries(log.users.length, PREQUENTIAL_PROTOCOL);
const runtime = await tfRuntime();
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), `pncf-bench-online-${opts.dataset}-`));
const store = InteractionStore.open({ path: path.join(scratch, 'store') });
// The trainer's configuration from the environment (TRAIN_PRESET etc. apply), with the temporary store and
// registry, and no k-core: the trainer must see exactly the prefix the baselines see and the evaluation ranks.
const config = loadConfig('trainer', trainerConfigSchema, {
  ...process.env,
  MODEL_DIR: path.join(scratch, 'models'),
  TRAIN_KCORE: '0',
});
const modelRegistry = new ModelRegistry<ModelMetadata>(config.MODEL_DIR);
const started = performance.now();
const startLoad = load();

/** Events [from, to) into the store in ingester-sized batches, offsets = positions in the log. */
function ingest(from: number, to: number): number {
  let transactions = 0;
  for (let start = from; start < to; start += BATCH) {
    const end = Math.min(to, start + BATCH);
    const events: StoredEvent[] = [];
    for (let k = start; k < end; k++)
      events.push({ offset: BigInt(k), user: log.users[k]!, item: log.items[k]!, count: log.counts[k]! });
    const result = store.applyBatch({ topic: 'interactions', partition: 0, events, nextOffset: BigInt(end) });
    if (result.applied !== events.length) throw new Error(`store skipped ${result.duplicates} events`);
    transactions++;
  }
  return transactions;
}

interface TrainingRecord {
  /** Events the run was trained on (the prefix). */
  trainedOn: number;
  outcome: RunOutcome['outcome'];
  reason?: string;
  version: string | null;
  servingAfter: string | null;
  seconds: number;
  steps?: Partial<Record<string, number>>;
  gate?: unknown;
  data?: ModelMetadata['data'];
  loadAverage: number[];
}

async function train(prefixEnd: number): Promise<TrainingRecord> {
  const t0 = performance.now();
  const outcome = await trainOnce({ store, modelRegistry, config });
  const seconds = (performance.now() - t0) / 1000;
  const record: TrainingRecord = {
    trainedOn: prefixEnd,
    outcome: outcome.outcome,
    version: outcome.outcome === 'published' ? outcome.version.version : null,
    servingAfter: modelRegistry.currentVersion() ?? null,
    seconds: round(seconds, 1),
    loadAverage: load(),
  };
  // Why it was published or rejected (the gate's reason; e.g. a window too small for a decision).
  record.reason = outcome.outcome === 'skipped' ? outcome.reason : outcome.metadata.gate.reason;
  if (outcome.outcome !== 'skipped') {
    record.steps = Object.fromEntries(Object.entries(outcome.metadata.seconds).map(([k, v]) => [k, round(v ?? 0, 2)]));
    record.gate = outcome.metadata.gate;
    record.data = outcome.metadata.data;
  }
  console.log(
    `  trainer on ${prefixEnd} events: ${record.outcome}${record.version ? ` ${record.version}` : ''}` +
      `${record.reason ? ` (${record.reason})` : ''}, serving ${record.servingAfter}, ${record.seconds} s, load ${record.loadAverage[0]}`,
  );
  return record;
}

function currentArtifact(): { version: string; artifact: ModelArtifact } {
  const current = modelRegistry.current();
  if (!current) throw new Error('no model is serving');
  return { version: current.version, artifact: loadArtifact(current.dir) };
}

// ---- the replay ----------------------------------------------------------------------------------------------
const ROWS = ['PNCF (retrained)', 'PNCF (frozen after warm-up)', 'EASE (λ = 500)', 'MostPop'];
if (oracle) ROWS.push(oracle.name);
interface RowChunk {
  recall: number[];
  ndcg: number[];
  users: number;
  seconds: number;
  version?: string;
}
const results: Record<string, RowChunk[]> = Object.fromEntries(ROWS.map((r) => [r, []]));
interface ChunkRecord extends ChunkStats {
  chunk: number;
  range: [number, number];
  prefix: { users: number; items: number; pairs: number; sequence: number };
  servedVersion: string;
  loadAverage: number[];
  transactions?: number;
}
const chunks: ChunkRecord[] = [];
const trainings: TrainingRecord[] = [];

try {
  console.log(
    `${opts.dataset}: ${log.users.length} events; warm-up ${bounds.warmupEnd}, chunks ${bounds.chunks
      .map((c) => `[${c.start}, ${c.end})`)
      .join(' ')}; ${runtime.backend}, load ${startLoad.join(' ')}`,
  );
  ingest(0, bounds.warmupEnd);
  trainings.push(await train(bounds.warmupEnd));
  const frozen = currentArtifact();

  for (const [j, { start, end }] of bounds.chunks.entries()) {
    const snapshot = store.snapshot();
    const prefix = snapshot.interactions;
    // The store holds exactly the events before the chunk (and numbers ids as the in-memory reference does).
    if (!sameInteractions(prefix, prefixInteractions(log, start)))
      throw new Error(`chunk ${j + 1}: the store snapshot differs from the log's prefix`);
    const { test, stats } = chunkTestSet(prefix, log, start, end);
    const served = currentArtifact();
    const models: [string, Recommender, string?][] = [
      [ROWS[0]!, new ArtifactRecommender(served.artifact, 'served'), served.version],
      [ROWS[1]!, new ArtifactRecommender(frozen.artifact, 'frozen'), frozen.version],
      [ROWS[2]!, new Ease({ lambda: 500 })],
      [ROWS[3]!, new MostPop()],
    ];
    if (oracle) models.push([oracle.name, oracle]);
    const line: string[] = [];
    for (const [row, model, version] of models) {
      const t0 = performance.now();
      await model.fit(prefix);
      const evaluation = await evaluateModel(model, prefix, test, { ks: KS });
      model.dispose?.();
      results[row]!.push({
        recall: evaluation.metrics.recall.map((v) => round(v)),
        ndcg: evaluation.metrics.ndcg.map((v) => round(v)),
        users: evaluation.users,
        seconds: round((performance.now() - t0) / 1000, 2),
        ...(version ? { version } : {}),
      });
      line.push(`${row} R@10 ${evaluation.metrics.recall[0]!.toFixed(4)}`);
    }
    chunks.push({
      chunk: j + 1,
      range: [start, end],
      prefix: {
        users: numUsers(prefix),
        items: numItems(prefix),
        pairs: numPairs(prefix),
        sequence: snapshot.sequence,
      },
      ...stats,
      servedVersion: served.version,
      loadAverage: load(),
    });
    console.log(
      `chunk ${j + 1} [${start}, ${end}): ${stats.evaluatedPairs} pairs of ${stats.evaluatedUsers} users | ${line.join(' | ')}`,
    );
    const transactions = ingest(start, end);
    if (j + 1 < bounds.chunks.length) {
      const record = await train(end);
      trainings.push(record);
    }
    chunks.at(-1)!.transactions = transactions;
  }
} finally {
  await store.close();
  fs.rmSync(scratch, { recursive: true, force: true });
}

// ---- results -------------------------------------------------------------------------------------------------
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const summary = Object.fromEntries(
  ROWS.map((row) => {
    const per = results[row]!;
    return [
      row,
      {
        recall: KS.map((_, k) => round(mean(per.map((c) => c.recall[k]!)))),
        ndcg: KS.map((_, k) => round(mean(per.map((c) => c.ndcg[k]!)))),
      },
    ];
  }),
);
const git = (args: string[]) => {
  try {
    return execFileSync('git', args, { cwd: ROOT, encoding: 'utf8' }).trim();
  } catch {
    return null;
  }
};
const totalSeconds = (performance.now() - started) / 1000;
const output = {
  benchmark: 'online',
  dataset: opts.dataset,
  date: new Date().toISOString(),
  command: `npm run bench:online -- --dataset ${opts.dataset}${opts.dataset === 'generated' ? ` --events ${opts.events} --seed ${opts.seed}` : ''}`,
  git: { commit: git(['rev-parse', 'HEAD']), dirty: (git(['status', '--porcelain']) ?? '') !== '' },
  backend: runtime.backend,
  cpus: os.cpus().length,
  loadAverage: { start: startLoad, end: load() },
  seconds: round(totalSeconds, 1),
  source,
  protocol: {
    ...PREQUENTIAL_PROTOCOL,
    ks: KS,
    order: 'sorted by timestamp, ties in file order',
    boundaries: 'events [0, ⌊0.5n⌋) warm-up; chunk t = [⌊n(0.5 + 0.1(t−1))⌋, ⌊n(0.5 + 0.1t)⌋)',
    training: 'before chunk t every model is trained on every event before it (test-then-train); no k-core',
    evaluated:
      "chunk t's distinct (user, item) pairs whose user and item occur before it and that the user did not have before it",
    ranking:
      "every item seen before chunk t, the user's earlier items excluded; ties to the item seen first (the store's lower index)",
    metrics: 'standard Recall@K = hits/|test|, NDCG@K with ideal DCG over min(K, |test|); mean over evaluated users',
    summary: 'mean of the 5 chunk values',
    store: `a temporary LMDB store, ${BATCH} events per write transaction, offsets = positions in the sorted log`,
    // Every TRAIN_* and GATE_* setting of the runs (the environment applies; TRAIN_KCORE is forced to 0).
    trainer: Object.fromEntries(Object.entries(config).filter(([key]) => /^(TRAIN|GATE)_/.test(key))),
    rows: {
      [ROWS[0]!]:
        "the registry's CURRENT version after the trainer run on the prefix (a rejected candidate leaves the previous version serving)",
      [ROWS[1]!]: 'the version published after the warm-up, for every chunk',
      [ROWS[2]!]: 'refit on each prefix (binary interactions)',
      [ROWS[3]!]: 'refit on each prefix: distinct earlier users per item',
      ...(oracle
        ? {
            [oracle.name]:
              "the generator's probability of each tag as the author's next fresh (not re-used) tag (freshTagProbabilities)",
          }
        : {}),
    },
  },
  chunks,
  trainings,
  rows: ROWS.map((row) => ({ model: row, chunks: results[row], mean: summary[row] })),
};

const base = path.join(ROOT, 'bench', 'results', `online-${opts.dataset}${opts.name ? `-${opts.name}` : ''}`);
fs.writeFileSync(`${base}.json`, `${JSON.stringify(output, null, 2)}\n`);
const markdown = tables();
fs.writeFileSync(`${base}.md`, `${markdown}\n`);
const svg = lineChartSvg({
  title: `${opts.dataset}: prequential quality per chunk (trained on every earlier event)`,
  xTicks: bounds.chunks.map((_, j) => `${50 + 10 * j}–${60 + 10 * j} %`),
  xLabel: 'chunk (share of the time-ordered log)',
  columns: 5,
  panels: (['recall', 'ndcg'] as const).flatMap((metric) =>
    KS.map((k, ki) => ({
      title: `${metric === 'recall' ? 'Recall' : 'NDCG'}@${k}`,
      series: ROWS.map((row) => ({ name: row, values: results[row]!.map((c) => c[metric][ki]!) })),
    })),
  ),
});
fs.writeFileSync(`${base}.svg`, svg);
fs.writeFileSync(`${base}.png`, svgToPng(svg));
console.log(`\n${markdown}`);
console.log(`\n→ ${base}.{json,md,svg,png} (${round(totalSeconds, 0)} s)`);

function tables(): string {
  const lines: string[] = [];
  const f = (x: number) => x.toFixed(4);
  lines.push(`${output.command}`);
  lines.push('');
  lines.push('| model | Recall@10 | Recall@20 | NDCG@10 | NDCG@20 |');
  lines.push('|---|---:|---:|---:|---:|');
  for (const row of ROWS) {
    const s = summary[row]!;
    lines.push(`| ${row} | ${f(s.recall[0]!)} | ${f(s.recall[1]!)} | ${f(s.ndcg[0]!)} | ${f(s.ndcg[1]!)} |`);
  }
  for (const metric of ['recall', 'ndcg'] as const) {
    for (const [ki, k] of KS.entries()) {
      lines.push('');
      lines.push(
        `| ${metric === 'recall' ? 'Recall' : 'NDCG'}@${k} | ${bounds.chunks.map((_, j) => `chunk ${j + 1}`).join(' | ')} | mean |`,
      );
      lines.push(`|---|${bounds.chunks.map(() => '---:').join('|')}|---:|`);
      for (const row of ROWS) {
        const values = results[row]!.map((c) => c[metric][ki]!);
        lines.push(`| ${row} | ${values.map(f).join(' | ')} | ${f(summary[row]![metric][ki]!)} |`);
      }
    }
  }
  lines.push('');
  lines.push(
    `| chunk | events | evaluated users | evaluated pairs | pairs dropped: new user / new item / repeat | model serving (trainer outcome) | load average |`,
  );
  lines.push('|---|---|---:|---:|---|---|---|');
  for (const [j, c] of chunks.entries()) {
    const run = trainings[j]!;
    const [from, to] = c.range;
    lines.push(
      `| ${j + 1} | [${from}, ${to}) | ${c.evaluatedUsers} | ${c.evaluatedPairs} | ${c.newUser} / ${c.newItem} / ${c.repeat} | ` +
        `${c.servedVersion} (run on ${run.trainedOn} events: ${run.outcome}${run.reason ? `, ${run.reason}` : ''}, ${run.seconds} s) | ` +
        `${c.loadAverage.join(' ')} |`,
    );
  }
  return lines.join('\n');
}
