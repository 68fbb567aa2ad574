import { mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, isAbsolute, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { kCore, numItems, numPairs, numUsers } from '@pncf/data';
import {
  DEFAULT_KS,
  Ease,
  type ExperimentData,
  Ials,
  ItemKnn,
  loadGivenSplit,
  loadInteractions,
  type ModelFactories,
  MostPop,
  markdownReport,
  metricsChartSvg,
  NeuMf,
  type ProgressSink,
  type Recommender,
  runExperiment,
  svgToPng,
} from '@pncf/evaluation';
import { SingleBar } from 'cli-progress';
import { Command, InvalidArgumentError, Option } from 'commander';
import { type DataSetOptions, resolveDataSet, withDataSetOptions } from '../data-set.js';
import { PNCF_MODELS } from './pncf-models.js';

const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));

/** The baselines' settings: tuned per data set (BASELINES), each overridable from the command line. */
export interface BaselineSettings {
  easeLambda: number;
  knnNeighbours: number;
  knnShrink: number;
  knnPrune: 'source' | 'target';
  ialsFactors: number;
  ialsLambda: number;
  ialsAlpha: number;
  ialsConfidence: 'counts' | 'binary';
  ialsSweeps: number;
}

/** Settings a model constructor may read; filled from the command line over the data set's tuned defaults. */
export interface ModelSettings extends BaselineSettings {
  dataset: string;
  neumfEpochs: number;
  log: (message: string) => void;
}

/**
 * The models `pncf experiment --models` knows, by command-line name. To add one (e.g. PNCF from
 * @pncf/pncf), add an entry here: `pncf: { label: 'PNCF', create: (s) => new Pncf({ log: s.log }) }`.
 * The label names the model in results, tables, charts and dump files.
 */
export const MODEL_REGISTRY: Record<string, { label: string; create: (settings: ModelSettings) => Recommender }> = {
  mostpop: { label: 'MostPop', create: () => new MostPop() },
  itemknn: {
    label: 'ItemKNN',
    create: (s) => new ItemKnn({ neighbours: s.knnNeighbours, shrink: s.knnShrink, prune: s.knnPrune }),
  },
  ease: { label: 'EASE', create: (s) => new Ease({ lambda: s.easeLambda, log: s.log }) },
  ials: {
    label: 'iALS',
    create: (s) =>
      new Ials({
        factors: s.ialsFactors,
        lambda: s.ialsLambda,
        alpha: s.ialsAlpha,
        confidence: s.ialsConfidence,
        sweeps: s.ialsSweeps,
      }),
  },
  neumf: { label: 'NeuMF', create: (s) => new NeuMf({ epochs: s.neumfEpochs, log: s.log }) },
  ...PNCF_MODELS,
};

/**
 * Baseline settings per data set, each chosen by NDCG@10 on the validation part of seed 1 (never the test
 * part): bench/tune-baselines.ts, every row in bench/results/tune-baselines.json. On ML-100K ItemKNN wins by
 * pruning per target item (Sarwar; RecBole) rather than per source item; on the sparse author-tag set by a
 * large shrink over all neighbours. iALS always runs 10 sweeps (not tuned). Data sets without a tuning run
 * (ml-1m, files) get ML-100K's.
 */
export const BASELINES: Record<string, BaselineSettings> = {
  'ml-100k': {
    easeLambda: 500,
    knnNeighbours: 100,
    knnShrink: 50,
    knnPrune: 'target',
    ialsFactors: 32,
    ialsLambda: 30,
    ialsAlpha: 3,
    ialsConfidence: 'counts',
    ialsSweeps: 10,
  },
  'author-tag': {
    easeLambda: 300,
    knnNeighbours: 0,
    knnShrink: 100,
    knnPrune: 'source', // no pruning at all: every neighbour kept
    ialsFactors: 128,
    ialsLambda: 1000,
    ialsAlpha: 300,
    ialsConfidence: 'counts',
    ialsSweeps: 10,
  },
};

export function modelFactories(names: string[], settings: ModelSettings): ModelFactories {
  const factories: ModelFactories = {};
  for (const name of names) {
    const entry = MODEL_REGISTRY[name];
    if (!entry)
      throw new InvalidArgumentError(`unknown model "${name}" (known: ${Object.keys(MODEL_REGISTRY).join(', ')})`);
    factories[entry.label] = () => entry.create(settings);
  }
  return factories;
}

const list = (value: string): string[] =>
  value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);

const integers = (value: string): number[] =>
  list(value).map((s) => {
    if (!/^\d+$/.test(s)) throw new InvalidArgumentError(`"${s}" is not a non-negative integer`);
    return Number(s);
  });

const integer = (value: string): number => {
  const [n] = integers(value);
  if (n === undefined) throw new InvalidArgumentError('expected an integer');
  return n;
};

const choice =
  <T extends string>(values: readonly T[]) =>
  (value: string): T => {
    if (!values.includes(value as T)) throw new InvalidArgumentError(`expected one of ${values.join(', ')}`);
    return value as T;
  };

const fraction = (value: string): number => {
  const f = Number(value);
  if (!(f >= 0 && f < 1)) throw new InvalidArgumentError(`"${value}" is not in [0, 1)`);
  return f;
};

/** cli-progress bars on stderr for the runner's long steps (silent when stderr is not a terminal). */
function progressBars(): ProgressSink {
  let bar: SingleBar | undefined;
  return {
    start(label, total) {
      bar = new SingleBar({
        format: `${label.padEnd(28)} [{bar}] {percentage}% | {value}/{total} | {eta_formatted} {message}`,
        hideCursor: true,
        clearOnComplete: true,
        stream: process.stderr,
      });
      bar.start(total, 0, { message: '' });
    },
    update(value, message) {
      bar?.update(value, { message: message ?? '' });
    },
    stop() {
      bar?.stop();
      bar = undefined;
    },
  };
}

interface Options extends DataSetOptions, Partial<BaselineSettings> {
  train?: string;
  test?: string;
  models: string[];
  seeds: number[];
  ks: number[];
  testFraction: number;
  validationFraction: number;
  out?: string;
  name?: string;
  dumpRankings?: string;
  dumpSplit?: string;
  neumfEpochs: number;
  blockSize?: number;
  progress: boolean;
}

/** The data set's tuned baseline settings (ML-100K's when it has none), with every flag given laid over them. */
export function baselineSettings(dataset: string, flags: Partial<BaselineSettings>): BaselineSettings {
  const tuned = BASELINES[dataset] ?? BASELINES['ml-100k']!;
  const given = Object.fromEntries(
    Object.entries(flags).filter(([key, value]) => key in tuned && value !== undefined),
  ) as Partial<BaselineSettings>;
  return { ...tuned, ...given };
}

function resolveData(o: Options, log: (m: string) => void): ExperimentData {
  if (o.train || o.test) {
    if (!o.train || !o.test) throw new InvalidArgumentError('--train and --test go together');
    const { train, test } = loadGivenSplit(o.train, o.test);
    log(
      `given split: train ${numPairs(train)} pairs, test ${numPairs(test)} pairs, ${numUsers(train)} users, ${numItems(train)} items`,
    );
    return { kind: 'given', name: o.name ?? 'given-split', train, test };
  }
  const dataSet = resolveDataSet(o);
  if (!dataSet) throw new InvalidArgumentError('give --dataset NAME, --data FILE, or --train FILE --test FILE');
  const { name, path, format, core } = dataSet;
  const raw = loadInteractions(path, format);
  const data = kCore(raw, core);
  log(
    `${name}: ${numPairs(raw)} pairs, ${numUsers(raw)} users, ${numItems(raw)} items; ` +
      `${core}-core: ${numPairs(data)} pairs, ${numUsers(data)} users, ${numItems(data)} items`,
  );
  if (numPairs(data) === 0) throw new Error(`the ${core}-core of ${path} is empty; try a smaller --core`);
  return { kind: 'dataset', name, data, core };
}

export async function runExperimentCommand(o: Options): Promise<void> {
  const log = (message: string) => console.error(message);
  const data = resolveData(o, log);
  const settings: ModelSettings = {
    dataset: data.name,
    ...baselineSettings(data.name, o),
    neumfEpochs: o.neumfEpochs,
    log,
  };
  const result = await runExperiment({
    data,
    models: modelFactories(o.models, settings),
    seeds: o.seeds,
    ks: o.ks,
    testFraction: o.testFraction,
    validationFraction: o.validationFraction,
    blockSize: o.blockSize,
    dumpRankingsDir: o.dumpRankings,
    dumpSplitDir: o.dumpSplit,
    progress: o.progress && process.stderr.isTTY ? progressBars() : undefined,
    log,
  });
  // A fresh folder per run by default: committed results change only when asked to (--out bench/results).
  const out = o.out ?? join(REPO_ROOT, 'experiments', new Date().toISOString().replace(/[:.]/g, '-'));
  const base = join(out, `experiment-${o.name ?? data.name}`);
  mkdirSync(out, { recursive: true });
  // Every setting the models were built with (the tuned defaults and any flags over them).
  const { dataset: _dataset, log: _log, ...settingsRecord } = settings;
  writeFileSync(
    `${base}.json`,
    `${JSON.stringify({ ...result, settings: settingsRecord, argv: process.argv.slice(2).map(portableArg) }, null, 2)}\n`,
  );
  const report = markdownReport(result);
  writeFileSync(`${base}.md`, report);
  const svg = metricsChartSvg(result);
  writeFileSync(`${base}.svg`, svg);
  writeFileSync(`${base}.png`, svgToPng(svg));
  console.log(report);
  log(`wrote ${base}.{json,md,svg,png}`);
}

const DEFAULT_MODELS = ['mostpop', 'itemknn', 'ease', 'ials', 'neumf'];

export function experimentCommand(): Command {
  return (
    withDataSetOptions(
      new Command('experiment').description(
        'Offline evaluation: k-core, per-user 80/20 split per seed, full ranking, standard and paper-compatible metrics',
      ),
    )
      .option('--train <file>', 'evaluate on a given split: train part (user,item[,count] CSV/TSV)')
      .option('--test <file>', 'evaluate on a given split: test part')
      // List defaults shown as the comma-separated text one types, not as a JavaScript array.
      .addOption(
        new Option('--models <list>', `models to run, comma-separated (${Object.keys(MODEL_REGISTRY).join(', ')})`)
          .argParser(list)
          .default(DEFAULT_MODELS, DEFAULT_MODELS.join(',')),
      )
      .addOption(new Option('--seeds <list>', 'split seeds, comma-separated').argParser(integers).default([1], '1'))
      .addOption(
        new Option('--ks <list>', 'cut-offs K, comma-separated')
          .argParser(integers)
          .default([...DEFAULT_KS], DEFAULT_KS.join(',')),
      )
      .option('--test-fraction <f>', 'share of each user’s items held out for test', fraction, 0.2)
      .option('--validation-fraction <f>', 'share of each user’s train items held out for validation', fraction, 0.1)
      .option(
        '--out <dir>',
        'results folder (default: a new experiments/<UTC time> folder, so the committed bench/results stay as they are)',
      )
      .option('--name <name>', 'result file stem: experiment-<name>.{json,md,svg,png} (default: the data set name)')
      .option('--dump-rankings <dir>', 'write <model>.seed<seed>.jsonl top-50 rankings with raw ids')
      .option('--dump-split <dir>', 'write train.seed<seed>.csv and test.seed<seed>.csv')
      .option('--ease-lambda <λ>', 'EASE regularisation (default: tuned per data set)', Number)
      .option('--knn-neighbours <n>', 'ItemKNN neighbours per item, 0 = all (default: tuned per data set)', integer)
      .option('--knn-shrink <s>', 'ItemKNN shrink added to the cosine denominator (default: tuned)', Number)
      .option(
        '--knn-prune <source|target>',
        'ItemKNN: cut each source or each target item’s list (default: tuned)',
        choice(['source', 'target']),
      )
      .option('--ials-factors <k>', 'iALS factors (default: tuned per data set)', integer)
      .option('--ials-lambda <λ>', 'iALS regularisation (default: tuned)', Number)
      .option('--ials-alpha <α>', 'iALS confidence 1 + α·x (default: tuned)', Number)
      .option(
        '--ials-confidence <counts|binary>',
        'iALS x = pair count or 1 (default: tuned)',
        choice(['counts', 'binary']),
      )
      .option('--ials-sweeps <n>', 'iALS alternating sweeps (default 10)', integer)
      .option('--neumf-epochs <n>', 'NeuMF maximum epochs (early stopping on validation)', integer, 20)
      .option('--block-size <n>', 'users scored per block', integer)
      .option('--no-progress', 'no progress bars')
      .action(async (options: Options) => {
        await runExperimentCommand(options);
      })
  );
}

/**
 * An argument as the results file records it: a path of this machine (an --out or --dump-* folder) relative to the
 * repository when it lies beside it, under `$TMPDIR` when it is a temporary folder, so committed results name no
 * machine's paths.
 */
function portableArg(arg: string): string {
  if (!isAbsolute(arg)) return arg;
  const tmp = tmpdir();
  if (arg === tmp || arg.startsWith(tmp + sep)) return `$TMPDIR${arg.slice(tmp.length)}`;
  if (arg.startsWith(dirname(REPO_ROOT) + sep)) return relative(REPO_ROOT, arg);
  return arg;
}
