/**
 * Trainer runs on a real LMDB store filled from a data set, timed per step, with the trainer's configuration
 * (environment variables of services/trainer apply). Run: npm run bench:trainer
 *   DATASETS=ml-100k,author-tag (default both; needs ../shared/data)   WARM_SHARE=0.1 (share of pairs held back)
 * Per data set, the raw events in a seeded random order (as a stream would deliver them):
 *   cold  — the store holds all but the last WARM_SHARE of them; the first run (full recipe) publishes v1.
 *   warm  — the rest arrives; the second run continues from v1 with the warm recipe (TRAIN_WARM_* epochs). Timed
 *           from the trigger to "served": published, then loaded as the scorer loads a version (checksums,
 *           artifact, store snapshot, serving arrays).
 *   warm-full — the same second run from a copy of the same registry, with the full recipe (TRAIN_WARM_*=0):
 *           its figures on the same gate window are what the warm recipe's quality is compared with.
 * Writes bench/results/trainer-run.json, or trainer-run-<NAME>.json with NAME set (e.g. a run with other TRAIN_*
 * variables); rows of data sets not run this time are kept.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Random } from '@pncf/data';
import { DATASETS, loadInteractions, sharedDataRoot, tfRuntime } from '@pncf/evaluation';
import { loadArtifact } from '@pncf/pncf';
import { ModelRegistry } from '@pncf/registry';
import { loadConfig } from '@pncf/runtime';
import { scorerConfigSchema } from '@pncf/scorer/config';
import { prepareModel } from '@pncf/scorer/serving';
import { InteractionStore, type StoredEvent } from '@pncf/store';
import { type TrainerConfig, trainerConfigSchema } from '@pncf/trainer/config';
import { type ModelMetadata, trainOnce } from '@pncf/trainer/pipeline';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dataRoot = sharedDataRoot(repoRoot);
if (!dataRoot) throw new Error('no ../shared/data next to the repository');
const names = (process.env.DATASETS ?? 'ml-100k,author-tag').split(',');
const warmShare = Number(process.env.WARM_SHARE ?? 0.1);
const runtime = await tfRuntime();
const results: Record<string, unknown>[] = [];
const scorerConfig = loadConfig('scorer', scorerConfigSchema, process.env);

/** The data set's raw events, each (user, item) occurrence once, in a seeded random order. */
function streamOf(name: string): StoredEvent[] {
  const spec = DATASETS[name];
  if (!spec) throw new Error(`unknown data set ${name}`);
  const data = loadInteractions(path.join(dataRoot!, spec.file), spec.format);
  const events: StoredEvent[] = [];
  const { indptr, indices, counts } = data.byUser;
  for (let u = 0; u < data.byUser.rows; u++) {
    for (let p = indptr[u]!; p < indptr[u + 1]!; p++) {
      for (let c = 0; c < counts[p]!; c++)
        events.push({ offset: 0n, user: data.userIds[u]!, item: data.itemIds[indices[p]!]!, count: 1 });
    }
  }
  const rng = new Random(7);
  for (let k = events.length - 1; k > 0; k--) {
    const j = rng.int(k + 1);
    [events[k], events[j]] = [events[j]!, events[k]!];
  }
  events.forEach((event, k) => {
    event.offset = BigInt(k);
  });
  return events;
}

/** As the ingester writes: batches of 10k events, one transaction each. */
function ingest(store: InteractionStore, events: StoredEvent[]): void {
  for (let start = 0; start < events.length; start += 10_000) {
    const slice = events.slice(start, start + 10_000);
    store.applyBatch({ topic: 'bench', partition: 0, events: slice, nextOffset: slice.at(-1)!.offset + 1n });
  }
}

/** What the scorer does with a new version (load-worker.ts), timed. */
function loadAsScorer(modelDir: string, version: string, store: InteractionStore): number {
  const started = performance.now();
  const opened = new ModelRegistry(modelDir).open(version);
  const artifact = loadArtifact(opened.dir);
  const snapshot = store.snapshot();
  prepareModel({
    artifact,
    data: snapshot.interactions,
    version,
    createdAt: opened.manifest.createdAt,
    candidates: { nearest: scorerConfig.CANDIDATES_NEAREST, popular: scorerConfig.CANDIDATES_POPULAR },
  });
  return (performance.now() - started) / 1000;
}

async function run(name: string, scenario: string, store: InteractionStore, config: TrainerConfig) {
  const modelRegistry = new ModelRegistry<ModelMetadata>(config.MODEL_DIR);
  const loadBefore = os.loadavg();
  const started = performance.now();
  const outcome = await trainOnce({
    store,
    modelRegistry,
    config,
    onStep: (step, seconds) => console.log(`${name} ${scenario}: ${step.padEnd(9)} ${seconds.toFixed(2)} s`),
  });
  const trainSeconds = (performance.now() - started) / 1000;
  if (outcome.outcome !== 'published') throw new Error(`${scenario}: ${outcome.outcome}: ${outcome.reason}`);
  const loadSeconds = loadAsScorer(config.MODEL_DIR, outcome.version.version, store);
  const meta = outcome.metadata;
  const at10 = meta.holdout.ks.indexOf(10);
  const result = {
    dataset: name,
    scenario,
    outcome: outcome.outcome,
    data: meta.data,
    preset: config.TRAIN_PRESET,
    evaluation: meta.evaluation,
    epochs: {
      word2vec: meta.config.userWord2Vec.epochs,
      tower: meta.config.tower.epochs,
      patience: meta.config.tower.patience,
    },
    warmStart: meta.warmStart,
    refitOnAll: config.TRAIN_REFIT_ALL,
    seconds: { ...meta.seconds, train: trainSeconds, load: loadSeconds, triggerToServed: trainSeconds + loadSeconds },
    loadAverage: { before: loadBefore, after: os.loadavg() },
    holdout: {
      users: meta.holdout.users,
      recall10: meta.holdout.metrics.recall?.[at10],
      ndcg10: meta.holdout.metrics.ndcg?.[at10],
    },
    gate: {
      decision: meta.gate.decision,
      candidate: meta.gate.candidate,
      current: meta.gate.current,
      comparison: meta.gate.comparison,
    },
  };
  console.log(
    `${name} ${scenario}: trigger → served ${(trainSeconds + loadSeconds).toFixed(1)} s, ` +
      `recall@10 ${result.holdout.recall10?.toFixed(4)}, ndcg@10 ${result.holdout.ndcg10?.toFixed(4)} (${meta.evaluation})`,
  );
  results.push(result);
}

for (const name of names) {
  const events = streamOf(name);
  const cut = Math.round(events.length * (1 - warmShare));
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), `pncf-bench-trainer-${name}-`));
  try {
    const store = InteractionStore.open({ path: path.join(scratch, 'store') });
    const configFor = (models: string, env: Record<string, string> = {}) =>
      loadConfig('trainer', trainerConfigSchema, {
        ...process.env,
        ...env,
        MODEL_DIR: path.join(scratch, models),
      });
    ingest(store, events.slice(0, cut));
    await run(name, 'cold', store, configFor('models'));
    fs.cpSync(path.join(scratch, 'models'), path.join(scratch, 'models-full'), { recursive: true });
    ingest(store, events.slice(cut));
    await run(name, 'warm', store, configFor('models'));
    await run(
      name,
      'warm-full',
      store,
      configFor('models-full', { TRAIN_WARM_W2V_EPOCHS: '0', TRAIN_WARM_SCORER_EPOCHS: '0' }),
    );
    await store.close();
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}

const out = path.join(
  repoRoot,
  'bench',
  'results',
  `trainer-run${process.env.NAME ? `-${process.env.NAME}` : ''}.json`,
);
const previous = fs.existsSync(out) ? (JSON.parse(fs.readFileSync(out, 'utf8')).results as { dataset: string }[]) : [];
const merged = [...previous.filter((old) => !names.includes(old.dataset)), ...results];
fs.writeFileSync(
  out,
  `${JSON.stringify({ benchmark: 'trainer-run', date: new Date().toISOString(), backend: runtime.backend, cpus: os.cpus().length, warmShare, results: merged }, null, 2)}\n`,
);
console.log(`→ ${out}`);
