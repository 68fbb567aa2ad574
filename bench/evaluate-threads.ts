/**
 * Full-ranking evaluation time of a PNCF-shaped model on 1 thread and on every core (ParallelScorer), through
 * the harness's evaluateModel over all test users of seed 1's split. The tower has the default preset's shape
 * with random weights: the cost of scoring does not depend on the values.
 *   npx tsx bench/evaluate-threads.ts [ml-100k,author-tag]
 * Writes bench/results/evaluate-threads.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { numItems, numUsers, protocolSplit, Random } from '@pncf/data';
import { evaluateModel, loadDataset, type Recommender, sharedDataRoot, tfRuntime } from '@pncf/evaluation';
import { defaultPreset, initTower, ParallelScorer, type PncfModel, prepareTower } from '@pncf/pncf';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const dataRoot = sharedDataRoot(ROOT);
if (!dataRoot) throw new Error('needs the shared data folder (../shared/data)');
const names = (process.argv[2] ?? 'ml-100k,author-tag').split(',');
const backend = (await tfRuntime()).backend;
const cores = os.availableParallelism();
const results: Record<string, unknown> = {};

for (const name of names) {
  const { data } = loadDataset(name, dataRoot);
  const split = protocolSplit(data, 1);
  const rng = new Random(1);
  const dim = defaultPreset.userWord2Vec.dim;
  const model: PncfModel = {
    numUsers: numUsers(data),
    numItems: numItems(data),
    userVectors: Float32Array.from({ length: numUsers(data) * dim }, () => rng.next() - 0.5),
    itemVectors: Float32Array.from({ length: numItems(data) * dim }, () => rng.next() - 0.5),
    tower: initTower(dim, defaultPreset.tower.hidden, true, 1, 0.1),
  };
  const rows: Record<string, unknown>[] = [];
  for (const threads of [...new Set([1, cores])]) {
    const scorer = await ParallelScorer.create(prepareTower(model), threads);
    const recommender: Recommender = {
      name: `${threads} thread(s)`,
      fit: async () => {},
      scoreUsers: (users, out) => scorer.scoreUsers(users, out),
    };
    const started = performance.now();
    const evaluation = await evaluateModel(recommender, split.train, split.test, { ks: [10] });
    const seconds = (performance.now() - started) / 1000;
    await scorer.dispose();
    const pairs = evaluation.users * model.numItems;
    rows.push({
      threads,
      users: evaluation.users,
      seconds: Number(seconds.toFixed(2)),
      pairsPerSecond: Math.round(pairs / seconds),
    });
    console.log(
      `${name}: ${threads} thread(s): ${evaluation.users} users × ${model.numItems} items in ${seconds.toFixed(1)} s`,
    );
  }
  results[name] = { users: numUsers(data), items: numItems(data), hidden: defaultPreset.tower.hidden, runs: rows };
}

mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
const out = join(ROOT, 'bench', 'results', 'evaluate-threads.json');
writeFileSync(
  out,
  `${JSON.stringify({ backend, cpus: cores, loadAverage: os.loadavg(), at: new Date().toISOString(), results }, null, 1)}\n`,
);
console.log(`wrote ${out}`);
