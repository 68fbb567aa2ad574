/**
 * One full trainer run (snapshot → split → bags → word2vec → tower → holdout evaluation → gate → refit on all
 * → publish) on a real LMDB store filled from a data set, timed per step, with the trainer's default
 * configuration (environment variables of services/trainer apply). Run: npm run bench:trainer
 * DATASETS=ml-100k,author-tag (default both; needs ../shared/data).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DATASETS, loadInteractions, sharedDataRoot, tfRuntime } from '@pncf/evaluation';
import { ModelRegistry } from '@pncf/registry';
import { loadConfig } from '@pncf/runtime';
import { InteractionStore, type StoredEvent } from '@pncf/store';
import { trainerConfigSchema } from '@pncf/trainer/config';
import { type ModelMetadata, trainOnce } from '@pncf/trainer/pipeline';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dataRoot = sharedDataRoot(repoRoot);
if (!dataRoot) throw new Error('no ../shared/data next to the repository');
const names = (process.env.DATASETS ?? 'ml-100k,author-tag').split(',');
const runtime = await tfRuntime();
const results = [];

for (const name of names) {
  const spec = DATASETS[name];
  if (!spec) throw new Error(`unknown data set ${name}`);
  const data = loadInteractions(path.join(dataRoot, spec.file), spec.format);
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), `pncf-bench-trainer-${name}-`));
  try {
    const store = InteractionStore.open({ path: path.join(scratch, 'store') });
    // Fill the store as the ingester would, in batches of 10k pairs.
    const events: StoredEvent[] = [];
    let offset = 0n;
    const { indptr, indices, counts } = data.byUser;
    for (let u = 0; u < data.byUser.rows; u++) {
      for (let p = indptr[u]!; p < indptr[u + 1]!; p++) {
        events.push({ offset: offset++, user: data.userIds[u]!, item: data.itemIds[indices[p]!]!, count: counts[p]! });
      }
    }
    for (let start = 0; start < events.length; start += 10_000) {
      const slice = events.slice(start, start + 10_000);
      store.applyBatch({ topic: 'bench', partition: 0, events: slice, nextOffset: slice.at(-1)!.offset + 1n });
    }
    const config = loadConfig('trainer', trainerConfigSchema, {
      ...process.env,
      STORE_PATH: path.join(scratch, 'store'),
      MODEL_DIR: path.join(scratch, 'models'),
    });
    const modelRegistry = new ModelRegistry<ModelMetadata>(config.MODEL_DIR);
    const started = performance.now();
    const outcome = await trainOnce({
      store,
      modelRegistry,
      config,
      onStep: (step, seconds) => console.log(`${name}: ${step.padEnd(9)} ${seconds.toFixed(2)} s`),
    });
    const totalSeconds = (performance.now() - started) / 1000;
    if (outcome.outcome === 'skipped') throw new Error(outcome.reason);
    const meta = outcome.metadata;
    const at10 = meta.holdout.ks.indexOf(10);
    const result = {
      dataset: name,
      outcome: outcome.outcome,
      data: meta.data,
      preset: config.TRAIN_PRESET,
      refitOnAll: config.TRAIN_REFIT_ALL,
      seconds: { ...meta.seconds, total: totalSeconds },
      loadAverage: os.loadavg(),
      holdout: { recall10: meta.holdout.metrics.recall?.[at10], ndcg10: meta.holdout.metrics.ndcg?.[at10] },
    };
    console.log(`${name}: total ${totalSeconds.toFixed(1)} s, recall@10 ${result.holdout.recall10?.toFixed(4)}`);
    results.push(result);
    await store.close();
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}

// Results of data sets not run this time are kept, so DATASETS=x updates one row.
const out = path.join(repoRoot, 'bench', 'results', 'trainer-run.json');
const previous = fs.existsSync(out) ? (JSON.parse(fs.readFileSync(out, 'utf8')).results as { dataset: string }[]) : [];
const merged = [...previous.filter((old) => !names.includes(old.dataset)), ...results];
fs.writeFileSync(
  out,
  `${JSON.stringify({ benchmark: 'trainer-run', date: new Date().toISOString(), backend: runtime.backend, cpus: os.cpus().length, loadAverage: os.loadavg(), results: merged }, null, 2)}\n`,
);
console.log(`→ ${out}`);
