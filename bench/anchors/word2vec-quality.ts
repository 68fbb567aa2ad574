/**
 * Does the wasm word2vec kernel train embeddings as good as the typed-array one? The PNCF tuning protocol
 * (bench/pncf-tuning.ts): fit on seed 1's protocol split minus its validation part, early stopping on validation
 * Recall@20, scored by the best validation Recall@20; here with each kernel, for CBOW and skip-gram pre-training,
 * over a few fit seeds so that the difference can be set against the seed-to-seed noise. Runs alternate kernels.
 *   npx tsx bench/anchors/word2vec-quality.ts [--datasets ml-100k] [--seeds 1,2] [--modes skipgram,cbow]
 * Writes bench/results/anchors-word2vec-quality.json (fits of earlier runs kept, a rerun fit replaced).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { protocolSplit } from '@pncf/data';
import { loadDataset, sharedDataRoot, tfRuntime } from '@pncf/evaluation';
import { defaultPreset, fitPncf, type PncfConfig } from '@pncf/pncf';
import { Command } from 'commander';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const opts = new Command('word2vec-quality')
  .option('--datasets <list>', 'data sets', 'ml-100k')
  .option('--seeds <list>', 'fit seeds (the split is always seed 1)', '1,2')
  .option('--modes <list>', 'word2vec modes', 'skipgram,cbow')
  .option('--validation-users <n>', 'validation users scored per epoch', '2000')
  .parse()
  .opts<{ datasets: string; seeds: string; modes: string; validationUsers: string }>();
const dataRoot = sharedDataRoot(ROOT);
if (!dataRoot) throw new Error('needs the shared data folder (../shared/data)');
const backend = (await tfRuntime()).backend;
const KERNELS = ['js', 'wasm'] as const;

const configFor = (mode: 'cbow' | 'skipgram'): PncfConfig => ({
  ...defaultPreset,
  userWord2Vec: { ...defaultPreset.userWord2Vec, mode },
  itemWord2Vec: { ...defaultPreset.itemWord2Vec, mode },
  tower: { ...defaultPreset.tower, validationUsers: Number(opts.validationUsers) },
});

interface Fit {
  dataset: string;
  mode: string;
  seed: number;
  kernel: string;
  validationRecall20: number;
  bestEpoch: number;
  pretrainSeconds: number;
  load: number[];
}
const OUT = fileURLToPath(new URL('../results/anchors-word2vec-quality.json', import.meta.url));
const keyOf = (f: Pick<Fit, 'dataset' | 'mode' | 'seed' | 'kernel'>): string =>
  `${f.dataset} ${f.mode} ${f.seed} ${f.kernel}`;
// Earlier fits are kept (a later run with other seeds adds to them; the same fit run again replaces it).
const fits: Fit[] = (() => {
  try {
    return (JSON.parse(readFileSync(OUT, 'utf8')) as { fits: Fit[] }).fits;
  } catch {
    return [];
  }
})();
const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

for (const dataset of opts.datasets.split(',')) {
  const split = protocolSplit(loadDataset(dataset, dataRoot).data, 1);
  for (const mode of opts.modes.split(',') as ('cbow' | 'skipgram')[]) {
    for (const [k, seed] of opts.seeds.split(',').map(Number).entries()) {
      // Alternate which kernel goes first, so neither always meets the machine in the same state.
      for (const kernel of k % 2 ? [...KERNELS].reverse() : KERNELS) {
        process.env.PNCF_W2V_KERNEL = kernel;
        const { report } = await fitPncf(split.fit, configFor(mode), { seed, validation: split.validation });
        const fit: Fit = {
          dataset,
          mode,
          seed,
          kernel,
          validationRecall20: Number(report.history[report.bestEpoch]!.validationRecall!.toFixed(4)),
          bestEpoch: report.bestEpoch,
          pretrainSeconds: Number(report.seconds.pretrain.toFixed(2)),
          load: loadavg().map((x) => Number(x.toFixed(2))),
        };
        const at = fits.findIndex((f) => keyOf(f) === keyOf(fit));
        if (at >= 0) fits.splice(at, 1);
        fits.push(fit);
        console.log(JSON.stringify(fit));
      }
    }
  }
}
delete process.env.PNCF_W2V_KERNEL;

const summary = [...new Set(fits.map((f) => `${f.dataset} ${f.mode}`))].map((key) => {
  const of = (kernel: string) => fits.filter((f) => `${f.dataset} ${f.mode}` === key && f.kernel === kernel);
  const recall = (kernel: string) => of(kernel).map((f) => f.validationRecall20);
  const js = recall('js');
  const wasm = recall('wasm');
  const all = [...js, ...wasm];
  return {
    key,
    fitsPerKernel: Math.min(js.length, wasm.length),
    jsMean: Number(mean(js).toFixed(4)),
    wasmMean: Number(mean(wasm).toFixed(4)),
    wasmMinusJs: Number((mean(wasm) - mean(js)).toFixed(4)),
    /** Spread of all fits of this configuration, either kernel: what seeds and thread scheduling alone move. */
    spread: Number((Math.max(...all) - Math.min(...all)).toFixed(4)),
    pretrainSeconds: {
      js: Number(mean(of('js').map((f) => f.pretrainSeconds)).toFixed(2)),
      wasm: Number(mean(of('wasm').map((f) => f.pretrainSeconds)).toFixed(2)),
    },
  };
});
console.table(summary);
writeFileSync(OUT, `${JSON.stringify({ backend, at: new Date().toISOString(), summary, fits }, null, 1)}\n`);
console.log(`wrote ${OUT}`);
