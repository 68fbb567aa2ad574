import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  deriveSeed,
  type Interactions,
  numItems,
  numPairs,
  numUsers,
  type ProtocolSplit,
  protocolSplit,
  splitPerUser,
} from '@pncf/data';
import { type Evaluation, evaluateModel } from './evaluate.js';
import { DEFAULT_KS, METRICS, type MetricName } from './metrics.js';
import type { Recommender } from './model.js';

/** Creates a fresh, unfitted model. The runner calls it once per seed. */
export type ModelFactory = () => Recommender;

/** Ordered name → factory; the names are the ones used in results, tables and dump file names. */
export type ModelFactories = Record<string, ModelFactory>;

/** Where the split comes from: a data set split per seed, or a fixed split given as two files. */
export type ExperimentData =
  | { kind: 'dataset'; name: string; data: Interactions; core: number }
  | { kind: 'given'; name: string; train: Interactions; test: Interactions };

/** Progress of one long step (fit or evaluate); a CLI maps it onto a progress bar. */
export interface ProgressSink {
  start(label: string, total: number): void;
  update(value: number, message?: string): void;
  stop(): void;
}

export interface ExperimentOptions {
  data: ExperimentData;
  models: ModelFactories;
  seeds: number[];
  ks?: readonly number[];
  testFraction?: number;
  validationFraction?: number;
  blockSize?: number;
  /** Write `<model>.seed<seed>.jsonl` rankings (top `dumpLength`, raw ids) into this folder. */
  dumpRankingsDir?: string;
  dumpLength?: number;
  /** Write `train.seed<seed>.csv` / `test.seed<seed>.csv` into this folder. */
  dumpSplitDir?: string;
  progress?: ProgressSink;
  log?: (message: string) => void;
}

export interface RunResult {
  model: string;
  seed: number;
  fitSeconds: number;
  evalSeconds: number;
  users: number;
  metrics: Record<MetricName, number[]>;
}

export interface ExperimentResult {
  dataset: string;
  core: number | null;
  stats: { users: number; items: number; pairs: number; trainPairs: number[]; testPairs: number[] };
  protocol: { testFraction: number; validationFraction: number; ranking: string };
  ks: number[];
  seeds: number[];
  models: string[];
  runs: RunResult[];
  summary: Record<string, Record<MetricName, { mean: number[]; std: number[] }>>;
  environment: { node: string; platform: string; startedAt: string; finishedAt: string };
}

const seconds = (from: number): number => (performance.now() - from) / 1000;

function splitFor(data: ExperimentData, seed: number, testFraction: number, validationFraction: number) {
  if (data.kind === 'dataset') return protocolSplit(data.data, seed, testFraction, validationFraction);
  // A given split: only the validation part (carved from train) depends on the seed.
  const carved = splitPerUser(data.train, validationFraction, deriveSeed(seed, 2));
  return { train: data.train, test: data.test, fit: carved.train, validation: carved.test } satisfies ProtocolSplit;
}

/**
 * Runs every model on every seed's split (the same split for all models of a seed) and evaluates them with
 * full ranking. Models with `usesValidation` are fitted on train minus the validation part and are handed that
 * part as `validation`; the others are fitted on all of train and get no `validation` (it is part of their
 * training data, so nothing may be chosen on it). Each model instance gets its own seed derived from the run seed.
 */
export async function runExperiment(options: ExperimentOptions): Promise<ExperimentResult> {
  const startedAt = new Date().toISOString();
  const ks = [...(options.ks ?? DEFAULT_KS)];
  const testFraction = options.testFraction ?? 0.2;
  const validationFraction = options.validationFraction ?? 0.1;
  const log = options.log ?? (() => {});
  const names = Object.keys(options.models);
  if (names.length === 0) throw new Error('no models to run');
  const runs: RunResult[] = [];
  const trainPairs: number[] = [];
  const testPairs: number[] = [];
  const base = options.data.kind === 'dataset' ? options.data.data : options.data.train;
  for (const seed of options.seeds) {
    const split = splitFor(options.data, seed, testFraction, validationFraction);
    trainPairs.push(numPairs(split.train));
    testPairs.push(numPairs(split.test));
    log(`seed ${seed}: train ${numPairs(split.train)} pairs, test ${numPairs(split.test)} pairs`);
    if (options.dumpSplitDir) dumpSplit(options.dumpSplitDir, seed, split.train, split.test);
    for (const name of names) {
      const model = options.models[name]!();
      try {
        const fitStart = performance.now();
        const fitData = model.usesValidation ? split.fit : split.train;
        options.progress?.start(`${name} seed ${seed} fit`, 100);
        await model.fit(fitData, {
          seed: deriveSeed(seed, 100),
          // Only a model fitted without the validation part may look at it: the others train on it.
          ...(model.usesValidation ? { validation: split.validation } : {}),
          onProgress: (fraction, message) => options.progress?.update(Math.round(fraction * 100), message),
        });
        options.progress?.stop();
        const fitSeconds = seconds(fitStart);
        const evalStart = performance.now();
        const dump = options.dumpRankingsDir ? rankingWriter(split.train, options.dumpLength ?? 50) : undefined;
        options.progress?.start(`${name} seed ${seed} eval`, numUsers(split.test));
        const evaluation: Evaluation = await evaluateModel(model, split.train, split.test, {
          ks,
          blockSize: options.blockSize,
          listLength: dump ? (options.dumpLength ?? 50) : undefined,
          onRanking: dump?.add,
          onProgress: (done) => options.progress?.update(done),
        });
        options.progress?.stop();
        const evalSeconds = seconds(evalStart);
        if (dump && options.dumpRankingsDir) dump.write(join(options.dumpRankingsDir, `${name}.seed${seed}.jsonl`));
        runs.push({ model: name, seed, fitSeconds, evalSeconds, users: evaluation.users, metrics: evaluation.metrics });
        log(`${name} seed ${seed}: fit ${fitSeconds.toFixed(2)} s, eval ${evalSeconds.toFixed(2)} s`);
      } finally {
        model.dispose?.();
      }
    }
  }
  return {
    dataset: options.data.name,
    core: options.data.kind === 'dataset' ? options.data.core : null,
    stats: { users: numUsers(base), items: numItems(base), pairs: numPairs(base), trainPairs, testPairs },
    protocol: {
      testFraction,
      validationFraction,
      ranking: 'full ranking over all items, the user’s train items excluded',
    },
    ks,
    seeds: [...options.seeds],
    models: names,
    runs,
    summary: summarise(runs, names, ks.length),
    environment: {
      node: process.version,
      platform: `${process.platform}-${process.arch}`,
      startedAt,
      finishedAt: new Date().toISOString(),
    },
  };
}

/** Mean and sample standard deviation (n − 1; 0 for one seed) over seeds, per model, metric and K. */
export function summarise(runs: RunResult[], models: string[], nk: number): ExperimentResult['summary'] {
  const summary: ExperimentResult['summary'] = {};
  for (const model of models) {
    const mine = runs.filter((r) => r.model === model);
    const entry = {} as Record<MetricName, { mean: number[]; std: number[] }>;
    for (const metric of METRICS) {
      const mean: number[] = [];
      const std: number[] = [];
      for (let k = 0; k < nk; k++) {
        const values = mine.map((r) => r.metrics[metric][k]!);
        const m = values.reduce((a, b) => a + b, 0) / Math.max(1, values.length);
        const v = values.length > 1 ? values.reduce((a, b) => a + (b - m) * (b - m), 0) / (values.length - 1) : 0;
        mean.push(m);
        std.push(Math.sqrt(v));
      }
      entry[metric] = { mean, std };
    }
    summary[model] = entry;
  }
  return summary;
}

/** Collects rankings as JSON lines with raw ids: {"user": "<id>", "items": ["<id>", ...]} best first. */
function rankingWriter(train: Interactions, length: number) {
  const lines: string[] = [];
  return {
    add: (user: number, items: Uint32Array, n: number): void => {
      const ids: string[] = [];
      for (let j = 0; j < Math.min(n, length); j++) ids.push(train.itemIds[items[j]!]!);
      lines.push(JSON.stringify({ user: train.userIds[user], items: ids }));
    },
    write: (path: string): void => {
      mkdirSync(join(path, '..'), { recursive: true });
      writeFileSync(path, lines.length > 0 ? `${lines.join('\n')}\n` : '');
    },
  };
}

/** The generic loader splits on commas without quoting, so ids that would need quotes are refused. */
function csvField(value: string): string {
  if (/[",\n\r\t]/.test(value)) throw new Error(`id ${JSON.stringify(value)} cannot be written as a plain CSV field`);
  return value;
}

/** Serialise interactions as `user,item,count` CSV with raw ids (the generic format the loaders read). */
export function interactionsToCsv(data: Interactions): string {
  const parts: string[] = ['user,item,count'];
  const { indptr, indices, counts } = data.byUser;
  for (let u = 0; u < data.byUser.rows; u++) {
    const user = csvField(data.userIds[u]!);
    for (let p = indptr[u]!; p < indptr[u + 1]!; p++)
      parts.push(`${user},${csvField(data.itemIds[indices[p]!]!)},${counts[p]}`);
  }
  return `${parts.join('\n')}\n`;
}

function dumpSplit(dir: string, seed: number, train: Interactions, test: Interactions): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `train.seed${seed}.csv`), interactionsToCsv(train));
  writeFileSync(join(dir, `test.seed${seed}.csv`), interactionsToCsv(test));
}

/**
 * Combine results of the same experiment run in pieces (e.g. one process per seed, so a long run survives the
 * loss of one process): runs and per-seed stats are concatenated and mean ± std recomputed over all seeds.
 */
export function mergeResults(parts: ExperimentResult[]): ExperimentResult {
  const [first, ...rest] = parts;
  if (!first) throw new Error('nothing to merge');
  for (const part of rest) {
    if (part.dataset !== first.dataset || part.core !== first.core)
      throw new Error(`cannot merge ${part.dataset} (core ${part.core}) into ${first.dataset} (core ${first.core})`);
    if (part.ks.join() !== first.ks.join()) throw new Error('cannot merge results with different Ks');
    if (part.models.join() !== first.models.join()) throw new Error('cannot merge results with different models');
    if (part.stats.pairs !== first.stats.pairs) throw new Error('cannot merge results on different data');
  }
  const seeds = parts.flatMap((p) => p.seeds);
  if (new Set(seeds).size !== seeds.length) throw new Error(`a seed appears twice: ${seeds.join(', ')}`);
  const runs = parts.flatMap((p) => p.runs);
  return {
    ...first,
    stats: {
      ...first.stats,
      trainPairs: parts.flatMap((p) => p.stats.trainPairs),
      testPairs: parts.flatMap((p) => p.stats.testPairs),
    },
    seeds,
    runs,
    summary: summarise(runs, first.models, first.ks.length),
    environment: {
      ...first.environment,
      startedAt: parts.map((p) => p.environment.startedAt).sort()[0]!,
      finishedAt: parts
        .map((p) => p.environment.finishedAt)
        .sort()
        .at(-1)!,
    },
  };
}
