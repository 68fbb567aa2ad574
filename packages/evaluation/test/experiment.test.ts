import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Interactions, Random } from '@pncf/data';
import { describe, expect, it } from 'vitest';
import {
  type FitOptions,
  ItemKnn,
  loadGivenSplit,
  MostPop,
  markdownReport,
  mergeResults,
  metricsChartSvg,
  parseInteractions,
  runExperiment,
  svgToPng,
} from '../src/index.js';

function dataset() {
  const rng = new Random(2);
  const lines: string[] = [];
  for (let u = 0; u < 80; u++) {
    const n = 6 + rng.int(20);
    for (let j = 0; j < n; j++) lines.push(`user${u},item${Math.floor(rng.next() ** 2 * 60)},${1 + rng.int(3)}`);
  }
  return parseInteractions(lines.join('\n'), 'generic');
}

const readCsv = (path: string): Map<string, Set<string>> => {
  const byUser = new Map<string, Set<string>>();
  const lines = readFileSync(path, 'utf8').trim().split('\n');
  expect(lines[0]).toBe('user,item,count');
  for (const line of lines.slice(1)) {
    const [user, item] = line.split(',') as [string, string];
    if (!byUser.has(user)) byUser.set(user, new Set());
    byUser.get(user)!.add(item);
  }
  return byUser;
};

/** Metrics straight from the definitions, from the dumped files alone (independent of MetricAccumulator). */
function recompute(rankingsPath: string, test: Map<string, Set<string>>, ks: number[]) {
  const lines = readFileSync(rankingsPath, 'utf8').trim().split('\n');
  const sums: Record<string, number[]> = {};
  for (const m of ['precision', 'recall', 'hr', 'ndcg', 'mrr', 'paperNdcg', 'paperMrr']) sums[m] = ks.map(() => 0);
  for (const line of lines) {
    const { user, items } = JSON.parse(line) as { user: string; items: string[] };
    const truth = test.get(user)!;
    ks.forEach((K, k) => {
      const hits = items.slice(0, K).map((i) => (truth.has(i) ? 1 : 0));
      const h = hits.reduce((a: number, b) => a + b, 0);
      const dcg = hits.reduce((a: number, r, j) => a + r / Math.log2(j + 2), 0);
      const ideal = (n: number) => Array.from({ length: n }, (_, j) => 1 / Math.log2(j + 2)).reduce((a, b) => a + b, 0);
      const first = hits.indexOf(1);
      sums.precision![k]! += h / K;
      sums.recall![k]! += h / truth.size;
      sums.hr![k]! += h > 0 ? 1 : 0;
      sums.ndcg![k]! += dcg / ideal(Math.min(K, truth.size));
      sums.mrr![k]! += first >= 0 ? 1 / (first + 1) : 0;
      sums.paperNdcg![k]! += h > 0 ? dcg / ideal(h) : 0;
      sums.paperMrr![k]! += hits.reduce((a: number, r, j) => a + r / (j + 1), 0);
    });
  }
  for (const m of Object.keys(sums)) sums[m] = sums[m]!.map((s) => s / lines.length);
  return { users: lines.length, metrics: sums };
}

describe('experiment runner', () => {
  it('dumps splits and rankings from which the reported metrics can be recomputed independently', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'evaluation-experiment-'));
    const ks = [1, 3, 10];
    const result = await runExperiment({
      data: { kind: 'dataset', name: 'toy', data: dataset(), core: 1 },
      models: { MostPop: () => new MostPop(), ItemKNN: () => new ItemKnn({ neighbours: 20 }) },
      seeds: [1, 2],
      ks,
      dumpRankingsDir: join(dir, 'rankings'),
      dumpSplitDir: join(dir, 'split'),
    });
    expect(result.runs.map((r) => `${r.model}/${r.seed}`)).toEqual([
      'MostPop/1',
      'ItemKNN/1',
      'MostPop/2',
      'ItemKNN/2',
    ]);
    for (const run of result.runs) {
      const train = readCsv(join(dir, 'split', `train.seed${run.seed}.csv`));
      const test = readCsv(join(dir, 'split', `test.seed${run.seed}.csv`));
      const rankingsPath = join(dir, 'rankings', `${run.model}.seed${run.seed}.jsonl`);
      for (const line of readFileSync(rankingsPath, 'utf8').trim().split('\n')) {
        const { user, items } = JSON.parse(line) as { user: string; items: string[] };
        expect(items.length).toBeLessThanOrEqual(50);
        expect(new Set(items).size).toBe(items.length);
        for (const item of items) expect(train.get(user)?.has(item) ?? false).toBe(false);
      }
      const again = recompute(rankingsPath, test, ks);
      expect(again.users).toBe(run.users);
      for (const [metric, values] of Object.entries(again.metrics))
        values.forEach((v, k) => {
          expect(run.metrics[metric as keyof typeof run.metrics][k], `${run.model} ${metric}@${ks[k]}`).toBeCloseTo(
            v,
            10,
          );
        });
    }
    // mean ± std over seeds
    const p = result.runs.filter((r) => r.model === 'ItemKNN').map((r) => r.metrics.precision[1]!);
    expect(result.summary.ItemKNN!.precision.mean[1]).toBeCloseTo((p[0]! + p[1]!) / 2, 12);
    expect(result.summary.ItemKNN!.precision.std[1]).toBeCloseTo(Math.abs(p[0]! - p[1]!) / Math.SQRT2, 12);

    const report = markdownReport(result);
    expect(report).toContain(
      '| Model | Precision@3 | Recall@3 | HR@3 | NDCG@3 | MRR@3 | NDCG (paper)@3 | MRR (paper)@3 |',
    );
    expect(report).toMatch(/\| ItemKNN \| \d\.\d{4} ± \d\.\d{4} \|/);
    const png = svgToPng(metricsChartSvg(result));
    expect(png.subarray(1, 4).toString()).toBe('PNG');
  });

  it('evaluates a split given as two files, keeping it as is', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'evaluation-experiment-'));
    await runExperiment({
      data: { kind: 'dataset', name: 'toy', data: dataset(), core: 1 },
      models: { MostPop: () => new MostPop() },
      seeds: [4],
      dumpSplitDir: dir,
    });
    const { train, test } = loadGivenSplit(join(dir, 'train.seed4.csv'), join(dir, 'test.seed4.csv'));
    const result = await runExperiment({
      data: { kind: 'given', name: 'given', train, test },
      models: { MostPop: () => new MostPop() },
      seeds: [1],
      ks: [5],
      dumpRankingsDir: join(dir, 'rankings'),
    });
    expect(result.stats.trainPairs).toEqual([train.byUser.indices.length]);
    expect(result.stats.testPairs).toEqual([test.byUser.indices.length]);
    const again = recompute(join(dir, 'rankings', 'MostPop.seed1.jsonl'), readCsv(join(dir, 'test.seed4.csv')), [5]);
    expect(result.runs[0]!.metrics.recall[0]).toBeCloseTo(again.metrics.recall![0]!, 12);
    expect(result.runs[0]!.metrics.paperMrr[0]).toBeCloseTo(again.metrics.paperMrr![0]!, 12);
  });

  it('hands the validation part only to models that hold it out of their fit', async () => {
    const seen: Record<string, { pairs: number; validation?: Interactions }> = {};
    class Spy extends MostPop {
      constructor(
        readonly label: string,
        readonly usesValidation: boolean,
      ) {
        super();
      }
      override async fit(train: Interactions, options: FitOptions = {}): Promise<void> {
        seen[this.label] = { pairs: train.byUser.indices.length, validation: options.validation };
        await super.fit(train);
      }
    }
    const result = await runExperiment({
      data: { kind: 'dataset', name: 'toy', data: dataset(), core: 1 },
      models: { holdsOut: () => new Spy('holdsOut', true), trainsOnAll: () => new Spy('trainsOnAll', false) },
      seeds: [1],
      ks: [5],
    });
    const validation = seen.holdsOut!.validation!;
    expect(validation.byUser.indices.length).toBeGreaterThan(0);
    // The early-stopping model fits on train minus validation; the other one fits on all of train, validation
    // included, and so is not handed it (nothing it trained on may choose anything).
    expect(seen.holdsOut!.pairs + validation.byUser.indices.length).toBe(result.stats.trainPairs[0]);
    expect(seen.trainsOnAll!.pairs).toBe(result.stats.trainPairs[0]);
    expect(seen.trainsOnAll!.validation).toBeUndefined();
  });

  it('merges per-seed results into one with mean ± std over all seeds', async () => {
    const data = dataset();
    const options = { models: { MostPop: () => new MostPop() }, ks: [5] };
    const whole = await runExperiment({
      ...options,
      data: { kind: 'dataset', name: 't', data, core: 1 },
      seeds: [1, 2, 3],
    });
    const parts = await Promise.all(
      [[1], [2, 3]].map((seeds) =>
        runExperiment({ ...options, data: { kind: 'dataset', name: 't', data, core: 1 }, seeds }),
      ),
    );
    const merged = mergeResults(parts);
    expect(merged.seeds).toEqual([1, 2, 3]);
    expect(merged.runs.map((r) => r.metrics)).toEqual(whole.runs.map((r) => r.metrics));
    expect(merged.summary).toEqual(whole.summary);
    expect(() => mergeResults([parts[0]!, parts[0]!])).toThrow(/seed appears twice/);
  });
});
