/**
 * PNCF training throughput and end-to-end fit times.
 *   npx tsx bench/train.ts [--datasets ml-100k,author-tag] [--no-e2e] [--preset default]
 * Measures, per data set: bag sampling time; word2vec pre-training pairs/s (CBOW and skip-gram, 1 and 2
 * threads, on the item bags); tower training samples/s (forward + backward + Adam, per batch size and tower
 * shape); scoring pairs/s (all items for blocks of users); and, unless --no-e2e, one full fit of the preset
 * (pre-training + tower with early stopping, seed 1 protocol split). Writes bench/results/train.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Interactions, numItems, numPairs, numUsers, protocolSplit, Random } from '@pncf/data';
import { loadDataset, sharedDataRoot, tfRuntime } from '@pncf/evaluation';
import {
  fitPncf,
  initTower,
  type PresetName,
  pncfUsesValidation,
  presets,
  sampleBags,
  sampleEpoch,
  TowerInference,
  TowerTrainer,
  trainWord2Vec,
} from '@pncf/pncf';
import { Command } from 'commander';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const program = new Command('bench-train')
  .option('--datasets <list>', 'data sets', 'ml-100k,author-tag')
  .option('--preset <name>', 'preset for the end-to-end fit', 'default')
  .option('--no-e2e', 'skip the end-to-end fits')
  .parse();
const opts = program.opts<{ datasets: string; preset: PresetName; e2e: boolean }>();
const dataRoot = sharedDataRoot(ROOT);
if (!dataRoot) throw new Error('needs the shared data folder (../shared/data)');
const backend = (await tfRuntime()).backend;
const round = (x: number, d = 0) => Number(x.toFixed(d));

async function pretrainThroughput(data: Interactions) {
  const config = presets[opts.preset];
  const started = performance.now();
  const bags = sampleBags(data.byUser, config.bags, 1);
  const bagSeconds = (performance.now() - started) / 1000;
  const rows: Record<string, unknown>[] = [];
  for (const mode of ['cbow', 'skipgram'] as const) {
    for (const threads of [1, 2]) {
      // One epoch: pairs/s does not depend on the epoch count, and the machine is shared.
      const r = await trainWord2Vec(bags, { ...config.itemWord2Vec, mode, threads, epochs: 1 }, 1);
      rows.push({
        mode,
        threads,
        pairs: r.pairs,
        seconds: round(r.seconds, 2),
        pairsPerSecond: round(r.pairs / r.seconds),
      });
      console.log(
        `  word2vec ${mode} ${threads} thread(s): ${round(r.pairs / r.seconds / 1e6, 2)} M pairs/s (${round(r.seconds, 2)} s)`,
      );
    }
  }
  return { itemBags: bags.tokens.length / bags.bagSize, bagSeconds: round(bagSeconds, 3), word2vec: rows };
}

function towerThroughput(data: Interactions) {
  const rows: Record<string, unknown>[] = [];
  const rng = new Random(1);
  const dim = presets[opts.preset].userWord2Vec.dim;
  const users = new Float32Array(numUsers(data) * dim).map(() => rng.next() - 0.5);
  const items = new Float32Array(numItems(data) * dim).map(() => rng.next() - 0.5);
  const samples = sampleEpoch(data.byUser, 5, 'user', 1);
  for (const hidden of [
    [256, 128, 64],
    [128, 64],
  ]) {
    for (const batch of [1024, 4096]) {
      const trainer = new TowerTrainer(
        initTower(dim, hidden, true, 1),
        users,
        items,
        { dropout: 0.5, loss: 'mse', learningRate: 0.001, fineTuneEmbeddings: true },
        1,
      );
      const steps = Math.max(4, Math.floor(40_000 / batch));
      trainer.step(
        samples.users.subarray(0, batch),
        samples.items.subarray(0, batch),
        samples.labels.subarray(0, batch),
      );
      const t = performance.now();
      for (let s = 1; s <= steps; s++) {
        const a = s * batch;
        trainer.step(
          samples.users.subarray(a, a + batch),
          samples.items.subarray(a, a + batch),
          samples.labels.subarray(a, a + batch),
        );
      }
      const seconds = (performance.now() - t) / 1000;
      trainer.dispose();
      rows.push({
        hidden,
        batch,
        steps,
        samplesPerSecond: round((steps * batch) / seconds),
        msPerStep: round((seconds * 1000) / steps, 1),
      });
      console.log(`  tower ${hidden.join('-')} batch ${batch}: ${round((steps * batch) / seconds)} samples/s`);
    }
  }
  return rows;
}

function scoringThroughput(data: Interactions) {
  const rows: Record<string, unknown>[] = [];
  const rng = new Random(2);
  const dim = presets[opts.preset].userWord2Vec.dim;
  for (const hidden of [
    [256, 128, 64],
    [128, 64],
  ]) {
    const model = {
      numUsers: numUsers(data),
      numItems: numItems(data),
      userVectors: new Float32Array(numUsers(data) * dim).map(() => rng.next() - 0.5),
      itemVectors: new Float32Array(numItems(data) * dim).map(() => rng.next() - 0.5),
      tower: initTower(dim, hidden, true, 1, 0.1),
    };
    const inference = TowerInference.fromModel(model);
    const users = Uint32Array.from({ length: Math.min(numUsers(data), 64) }, (_, k) => k);
    const t = performance.now();
    const top = inference.recommend(users, 20, data.byUser);
    const seconds = (performance.now() - t) / 1000;
    inference.dispose();
    const pairs = users.length * model.numItems;
    rows.push({
      hidden,
      users: users.length,
      items: model.numItems,
      pairsPerSecond: round(pairs / seconds),
      usersPerSecond: round(users.length / seconds, 1),
      found: top.counts[0],
    });
    console.log(
      `  scoring ${hidden.join('-')}: ${round(pairs / seconds / 1e6, 2)} M pairs/s, ${round(users.length / seconds, 1)} users/s`,
    );
  }
  return rows;
}

async function endToEnd(data: Interactions) {
  const split = protocolSplit(data, 1);
  const config = presets[opts.preset];
  const t = performance.now();
  const fit = await fitPncf(pncfUsesValidation(config) ? split.fit : split.train, config, {
    seed: 1,
    validation: split.validation,
  });
  const seconds = (performance.now() - t) / 1000;
  const r = fit.report;
  console.log(
    `  end-to-end fit: ${round(seconds, 1)} s (pre-train ${round(r.seconds.pretrain, 1)} s, tower ${round(r.seconds.tower, 1)} s, ${r.history.length} epochs)`,
  );
  return {
    preset: opts.preset,
    seconds: round(seconds, 1),
    parts: r.seconds,
    epochs: r.history.length,
    bestEpoch: r.bestEpoch,
    pretrainPairsPerSecond: round(r.pretrainPairsPerSecond),
    towerSamplesPerSecond: round(r.towerSamplesPerSecond),
    history: r.history,
  };
}

const results: Record<string, unknown> = {};
const out = join(ROOT, 'bench', 'results', 'train.json');
const os = await import('node:os');
/** Written after every data set, with the load average: the machine is shared, so figures vary with it. */
const write = () =>
  writeFileSync(
    out,
    `${JSON.stringify({ backend, node: process.version, cpus: os.cpus().length, loadAverage: os.loadavg(), at: new Date().toISOString(), argv: process.argv.slice(2), results }, null, 2)}\n`,
  );
mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
for (const name of opts.datasets.split(',')) {
  const { spec, data } = loadDataset(name, dataRoot);
  console.log(`${name}: ${numPairs(data)} pairs, ${numUsers(data)} users, ${numItems(data)} items`);
  results[name] = {
    data: { pairs: numPairs(data), users: numUsers(data), items: numItems(data), core: spec.core },
    pretrain: await pretrainThroughput(data),
    tower: towerThroughput(data),
    scoring: scoringThroughput(data),
    endToEnd: opts.e2e ? await endToEnd(data) : null,
  };
  write();
}
console.log(`wrote ${out}`);
