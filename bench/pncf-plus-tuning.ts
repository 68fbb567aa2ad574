/**
 * PNCF+ chosen on validation only: each variant of the `plus` preset is fitted on seed 1's protocol split minus
 * its validation part (`fit`), and scored on the validation part every `--every` epochs (standard NDCG@10 and
 * Recall@20, every validation user, the harness's evaluateModel). The test part is never looked at. Variants
 * with the same pre-training share it (one word2vec run per pre-training config). The chosen epoch count is the
 * best validation NDCG@10's.
 *   npx tsx bench/pncf-plus-tuning.ts --dataset ml-100k [--variants base,no-history,...] [--every 5]
 * Writes bench/results/pncf-plus-tuning.json (merged with earlier runs: one entry per data set and variant).
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Interactions, protocolSplit, Random, selectRows } from '@pncf/data';
import { evaluateModel, loadDataset, type Recommender, sharedDataRoot, tfRuntime } from '@pncf/evaluation';
import {
  HistoryInference,
  type HistoryModel,
  initHistoryModel,
  type PncfConfig,
  type PncfConfigOverrides,
  pretrainEmbeddings,
  resolvePncfConfig,
  trainHistoryModel,
} from '@pncf/pncf';
import { Command } from 'commander';

/** Each variant as overrides of the `plus` preset (and of the data set's base, see BASE). */
const VARIANTS: Record<string, PncfConfigOverrides> = {
  base: {},
  /** The user's own pre-trained vector only: what the history adds. */
  'no-history': { history: { userSide: 'own' } },
  /** The pooled history only: what the user's own vector adds. */
  'no-own-vector': { history: { userSide: 'history' } },
  'frozen-tables': { history: { fineTuneEmbeddings: false } },
  /** Random tables instead of word2vec (NPNCF's ablation for PNCF+): what pre-training adds. */
  'no-pretrain': { pretrain: false, randomInitRange: 0.1 },
  'targets-dropped': { history: { targets: 'dropped' } },
  'targets-all': { history: { targets: 'all' } },
  'no-dropout': { history: { dropout: 0 } },
  'no-weight-decay': { history: { weightDecay: 0 } },
  'weight-decay-2': { history: { weightDecay: 2 } },
  'drop-0.25': { history: { historyDrop: 0.25 } },
  'batch-256': { history: { batchSize: 256 } },
  'lr-0.003': { history: { learningRate: 0.003 } },
  'uniform-bags': { bags: { weightExponent: 0 } },
  cbow: { word2vec: { mode: 'cbow' } },
  'dim-32': { word2vec: { dim: 32 } },
  'window-20': { word2vec: { window: 20 } },
  'subsample-1e-3': { word2vec: { sample: 1e-3 } },
  'dim-128': { word2vec: { dim: 128 } },
  'dropout-0.5': { history: { dropout: 0.5 } },
  'count-weights': { history: { countExponent: 0.75 } },
  'count-weights-1': { history: { countExponent: 1 } },
  'window-20-dropout-0.5': { word2vec: { window: 20 }, history: { dropout: 0.5 } },
  'window-20-count-weights': { word2vec: { window: 20 }, history: { countExponent: 0.75 } },
  'pool-sqrt': { history: { poolNormExponent: 0.5 } },
  'pool-sqrt-dropout-0.5': { history: { poolNormExponent: 0.5, dropout: 0.5 } },
};

/** Per data set, laid under the variants: the larger author-tag set is trained in larger batches. */
const BASE: Record<string, PncfConfigOverrides> = {
  'author-tag': { history: { batchSize: 256 } },
};

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const opts = new Command('pncf-plus-tuning')
  .requiredOption('--dataset <name>', 'ml-100k or author-tag')
  .option('--variants <list>', `variants (${Object.keys(VARIANTS).join(', ')})`, 'base')
  .option('--epochs <n>', 'epochs per variant (scored every --every)', '60')
  .option('--every <n>', 'validation every n epochs', '5')
  .option('--set <json>', 'overrides laid over the preset for every variant (JSON PncfConfigOverrides)', '{}')
  .parse()
  .opts<{ dataset: string; variants: string; epochs: string; every: string; set: string }>();
const dataRoot = sharedDataRoot(ROOT);
if (!dataRoot) throw new Error('needs the shared data folder (../shared/data)');
const outPath = join(ROOT, 'bench', 'results', 'pncf-plus-tuning.json');
/** Read at every write, so runs on different data sets may go on side by side. */
const earlierResults = (): Record<string, Record<string, unknown>> => {
  try {
    return JSON.parse(readFileSync(outPath, 'utf8')).results;
  } catch {
    return {};
  }
};
const backend = (await tfRuntime()).backend;
const { data } = loadDataset(opts.dataset, dataRoot);
const split = protocolSplit(data, 1);
const fit = split.fit;
const every = Number(opts.every);
const common = JSON.parse(opts.set) as PncfConfigOverrides;

/** The history model as a harness Recommender on `fit` (each user's history = their fit items). */
function scoredOn(train: Interactions, model: HistoryModel): Recommender {
  const inference = new HistoryInference(model);
  return {
    name: 'PNCF+',
    fit: async () => {},
    scoreUsers: (users, out) =>
      inference.scoreVectors(inference.userVectors(users, selectRows(train.byUser, users)), out),
    dispose: () => inference.dispose(),
  };
}

const CACHE = join(tmpdir(), 'pncf-plus-pretrain-cache');
async function tables(config: PncfConfig) {
  const dim = config.userWord2Vec.dim;
  if (!config.pretrain) {
    const rng = new Random(7);
    const random = (n: number) =>
      Float32Array.from({ length: n * dim }, () => (rng.next() * 2 - 1) * config.randomInitRange);
    return {
      userVectors: random(fit.byUser.rows),
      itemInput: random(fit.byUser.cols),
      itemOutput: random(fit.byUser.cols),
      dim,
      seconds: 0,
    };
  }
  const key = JSON.stringify([opts.dataset, config.bags, config.userWord2Vec, config.itemWord2Vec]);
  // Pre-training dominates on author-tag: kept in a disk cache (a tuning convenience, keyed by its inputs).
  const file = join(CACHE, `${createHash('sha256').update(key).digest('hex').slice(0, 16)}.bin`);
  const started = performance.now();
  if (!existsSync(file)) {
    const pre = await pretrainEmbeddings(fit, config, 7);
    const seconds = pre.seconds.bags + pre.seconds.pretrain;
    console.log(`  pre-training ${seconds.toFixed(1)} s`);
    mkdirSync(CACHE, { recursive: true });
    const header = Float32Array.of(seconds);
    writeFileSync(
      file,
      Buffer.concat(
        [header, pre.users.vectors, pre.items.vectors, pre.items.context].map((a) =>
          Buffer.from(a.buffer, a.byteOffset, a.byteLength),
        ),
      ),
    );
  }
  const all = new Float32Array(new Uint8Array(readFileSync(file)).buffer);
  const users = fit.byUser.rows * dim;
  const items = fit.byUser.cols * dim;
  console.log(`  pre-trained tables ready after ${((performance.now() - started) / 1000).toFixed(1)} s`);
  return {
    userVectors: all.slice(1, 1 + users),
    itemInput: all.slice(1 + users, 1 + users + items),
    itemOutput: all.slice(1 + users + items, 1 + users + 2 * items),
    dim,
    seconds: all[0]!,
  };
}

for (const variant of opts.variants.split(',')) {
  const overrides = VARIANTS[variant];
  if (!overrides) throw new Error(`unknown variant ${variant}`);
  const config = resolvePncfConfig('plus', BASE[opts.dataset] ?? {}, common, overrides, {
    history: { epochs: Number(opts.epochs) },
  });
  console.log(`${opts.dataset} ${variant}`);
  const t = await tables(config);
  const start = initHistoryModel(t, fit.byUser.rows, fit.byUser.cols);
  const curve: { epoch: number; loss: number; ndcg10: number; recall20: number }[] = [];
  const pending: Promise<void>[] = [];
  const started = performance.now();
  let trainSeconds = 0;
  await trainHistoryModel(fit, start, config.history, 11, (record, snapshot) => {
    trainSeconds += record.seconds;
    if ((record.epoch + 1) % every !== 0) return;
    const model = scoredOn(fit, snapshot());
    pending.push(
      evaluateModel(model, fit, split.validation, { ks: [10, 20] }).then(({ metrics }) => {
        model.dispose?.();
        const row = {
          epoch: record.epoch + 1,
          loss: record.loss,
          ndcg10: metrics.ndcg[0]!,
          recall20: metrics.recall[1]!,
        };
        curve.push(row);
        console.log(
          `  epoch ${row.epoch} loss ${row.loss.toFixed(4)} (${record.seconds.toFixed(1)} s/epoch) ` +
            `validation NDCG@10 ${row.ndcg10.toFixed(4)} Recall@20 ${row.recall20.toFixed(4)}`,
        );
      }),
    );
  });
  await Promise.all(pending);
  const best = curve.reduce((a, b) => (b.ndcg10 > a.ndcg10 ? b : a));
  console.log(`  best: epoch ${best.epoch} NDCG@10 ${best.ndcg10.toFixed(4)} Recall@20 ${best.recall20.toFixed(4)}`);
  const results = earlierResults();
  results[opts.dataset] ??= {};
  results[opts.dataset]![variant] = {
    overrides: { ...common, ...overrides },
    best,
    curve,
    seconds: { pretrain: t.seconds, train: trainSeconds, total: (performance.now() - started) / 1000 },
  };
  mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
  writeFileSync(outPath, `${JSON.stringify({ backend, at: new Date().toISOString(), seed: 1, results }, null, 1)}\n`);
}
