/**
 * PNCF hyper-parameters chosen on validation: each variant of a base configuration is fitted on seed 1's protocol
 * split minus its validation part, with early stopping on validation Recall@20, and scored by its best validation
 * Recall@20 (over `--validation-users` users). The test part is never looked at. The base is the default preset
 * with CBOW pre-training, i.e. the default before this sweep found skip-gram better (the `skipgram` variant is
 * today's default), so the recorded results stay reproducible.
 *   npx tsx bench/pncf-tuning.ts [--datasets ml-100k,author-tag] [--variants base,dropout-0.5,...]
 * Writes bench/results/pncf-tuning.json (merged with earlier runs, one entry per data set and variant).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { protocolSplit } from '@pncf/data';
import { loadDataset, sharedDataRoot, tfRuntime } from '@pncf/evaluation';
import { defaultPreset, fitPncf, type PncfConfig } from '@pncf/pncf';
import { Command } from 'commander';

type Tower = PncfConfig['tower'];
const tower =
  (overrides: Partial<Tower>) =>
  (c: PncfConfig): PncfConfig => ({
    ...c,
    tower: { ...c.tower, ...overrides },
  });
/** The same word2vec change for the user and the item tables. */
const word2vec =
  (overrides: Partial<PncfConfig['userWord2Vec']>) =>
  (c: PncfConfig): PncfConfig => ({
    ...c,
    userWord2Vec: { ...c.userWord2Vec, ...overrides },
    itemWord2Vec: { ...c.itemWord2Vec, ...overrides },
  });
const BASE = word2vec({ mode: 'cbow' })(defaultPreset);
const VARIANTS: Record<string, (c: PncfConfig) => PncfConfig> = {
  base: (c) => c,
  'dropout-0.5': tower({ dropout: 0.5 }),
  'frozen-embeddings': tower({ fineTuneEmbeddings: false }),
  'lr-0.001': tower({ learningRate: 0.001 }),
  'negatives-8': tower({ negatives: 8 }),
  'tower-256-128': tower({ hidden: [256, 128] }),
  'frozen-dropout-0.5': tower({ fineTuneEmbeddings: false, dropout: 0.5 }),
  'uniform-bags': (c) => ({ ...c, bags: { ...c.bags, weightExponent: 0 } }),
  'dim-64': word2vec({ dim: 64 }),
  skipgram: word2vec({ mode: 'skipgram' }),
  'w2v-epochs-20': word2vec({ epochs: 20 }),
  'window-10': word2vec({ window: 10 }),
};

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const opts = new Command('pncf-tuning')
  .option('--datasets <list>', 'data sets', 'ml-100k,author-tag')
  .option('--variants <list>', `variants (${Object.keys(VARIANTS).join(', ')})`, Object.keys(VARIANTS).join(','))
  .option('--validation-users <n>', 'validation users scored per epoch', '2000')
  .parse()
  .opts<{ datasets: string; variants: string; validationUsers: string }>();
const dataRoot = sharedDataRoot(ROOT);
if (!dataRoot) throw new Error('needs the shared data folder (../shared/data)');
const outPath = join(ROOT, 'bench', 'results', 'pncf-tuning.json');
const results: Record<string, Record<string, unknown>> = (() => {
  try {
    return JSON.parse(readFileSync(outPath, 'utf8')).results;
  } catch {
    return {};
  }
})();
const backend = (await tfRuntime()).backend;

for (const name of opts.datasets.split(',')) {
  const { data } = loadDataset(name, dataRoot);
  const split = protocolSplit(data, 1);
  results[name] ??= {};
  for (const variant of opts.variants.split(',')) {
    const make = VARIANTS[variant];
    if (!make) throw new Error(`unknown variant ${variant}`);
    const config = make(BASE);
    const { report } = await fitPncf(
      split.fit,
      { ...config, tower: { ...config.tower, validationUsers: Number(opts.validationUsers) } },
      { seed: 1, validation: split.validation },
    );
    const best = report.history[report.bestEpoch]!;
    results[name][variant] = {
      validationRecall20: Number(best.validationRecall!.toFixed(4)),
      bestEpoch: report.bestEpoch,
      epochs: report.history.length,
      seconds: Number(report.seconds.total.toFixed(1)),
    };
    console.log(
      `${name} ${variant}: validation recall@20 ${best.validationRecall!.toFixed(4)} (epoch ${report.bestEpoch})`,
    );
  }
}

mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
writeFileSync(outPath, `${JSON.stringify({ backend, at: new Date().toISOString(), results }, null, 1)}\n`);
console.log(`wrote ${outPath}`);
