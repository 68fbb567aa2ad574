/**
 * Merge per-seed experiment results (written by `pncf experiment`, one file per seed and model group) into the
 * PNCF results tables: paper-compatible metrics at K=20 beside the paper's Table 3 rows (K=20 values under an
 * @10 header, see PAPER_K_NOTE), the same metrics at K=10, standard metrics at K=10, fit times, and seed counts.
 * Baselines may come from other result files of the same protocol (same data set, k-core and seeds give the
 * same splits; the train sizes per seed are checked). A (model, seed) run found in several files is taken from
 * the first file given: newer runs go first (e.g. the tuned baselines before an older file's untuned ones).
 *   npx tsx bench/train-tables.ts [file-or-folder ...]   (default bench/results/train-experiments)
 * Writes bench/results/train-tables.{md,json}.
 */
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type ExperimentResult, type MetricName, type RunResult, summarise } from '@pncf/evaluation';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const inputs =
  process.argv.slice(2).length > 0 ? process.argv.slice(2) : [join(ROOT, 'bench', 'results', 'train-experiments')];
const files = inputs.flatMap((p) => {
  const path = resolve(p);
  return statSync(path).isDirectory()
    ? readdirSync(path)
        .filter((f) => f.endsWith('.json'))
        .map((f) => join(path, f))
    : [path];
});
const PAPER: Record<string, Record<string, number[]>> = {
  'ml-100k': { 'paper PNCF': [0.257, 0.331, 0.969, 0.641, 1.14], 'paper NeuMF': [0.243, 0.309, 0.957, 0.626, 1.112] },
};

/** Why the paper's rows sit beside our K=20 rows although Table 3's header says @10. */
const PAPER_K_NOTE =
  'Table 3 of the paper is headed @10, but its figures are K=20 values: the reference code’s published single run ' +
  'at K=20 gives P 0.2567, R 0.3338, HR 0.965, NDCG 0.6444 and MRR 1.1545, close to Table 3’s 0.257 / 0.331 / ' +
  '0.969 / 0.641 / 1.140, whereas at K=10 precision is higher and recall lower (as in the rows below). So the ' +
  'paper’s rows stand beside our K=20 rows above.';

const byDataset = new Map<string, { runs: RunResult[]; ks: number[]; trainPairs: Map<number, number> }>();
for (const file of files) {
  const result = JSON.parse(readFileSync(file, 'utf8')) as ExperimentResult;
  const entry = byDataset.get(result.dataset) ?? { runs: [], ks: result.ks, trainPairs: new Map<number, number>() };
  if (entry.ks.join() !== result.ks.join()) throw new Error(`${file}: different K list`);
  result.seeds.forEach((seed, k) => {
    const pairs = result.stats.trainPairs[k]!;
    if ((entry.trainPairs.get(seed) ?? pairs) !== pairs) throw new Error(`${file}: seed ${seed} has a different split`);
    entry.trainPairs.set(seed, pairs);
  });
  for (const run of result.runs) {
    if (!entry.runs.some((r) => r.model === run.model && r.seed === run.seed)) entry.runs.push(run);
  }
  byDataset.set(result.dataset, entry);
}

const f3 = (x: number) => x.toFixed(3);
const lines: string[] = [];
const json: Record<string, unknown> = {};
for (const [dataset, { runs, ks }] of byDataset) {
  const models = [...new Set(runs.map((r) => r.model))];
  const summary = summarise(runs, models, ks.length);
  const seedsOf = (m: string) =>
    runs
      .filter((r) => r.model === m)
      .map((r) => r.seed)
      .sort((a, b) => a - b);
  const meanFitSeconds = (m: string) => {
    const mine = runs.filter((r) => r.model === m);
    return mine.reduce((a, r) => a + r.fitSeconds, 0) / mine.length;
  };
  const row = (m: string, metrics: MetricName[], k: number) => {
    const at = ks.indexOf(k);
    return metrics.map((metric) => `${f3(summary[m]![metric].mean[at]!)} ± ${f3(summary[m]![metric].std[at]!)}`);
  };
  const paperMetrics: MetricName[] = ['precision', 'recall', 'hr', 'paperNdcg', 'paperMrr'];
  const standard: MetricName[] = ['precision', 'recall', 'hr', 'ndcg', 'mrr'];
  lines.push(`## ${dataset}`, '');
  lines.push('Paper-compatible metrics at K=20 (NDCG normalised by the hits found, MRR summed over all hits):', '');
  lines.push(
    '| model | seeds | P@20 | R@20 | HR@20 | NDCG@20 (paper) | MRR@20 (paper) | fit s |',
    '|---|---|---|---|---|---|---|---|',
  );
  for (const m of models)
    lines.push(
      `| ${m} | ${seedsOf(m).join(',')} | ${row(m, paperMetrics, 20).join(' | ')} | ${meanFitSeconds(m).toFixed(1)} |`,
    );
  for (const [name, values] of Object.entries(PAPER[dataset] ?? {}))
    lines.push(`| ${name} (Table 3) | – | ${values.map(f3).join(' | ')} | – |`);
  if (PAPER[dataset]) {
    lines.push(
      '',
      `${PAPER_K_NOTE} Our models at K=10 with the same paper-compatible metrics (the paper has no K=10 figures):`,
      '',
      '| model | P@10 | R@10 | HR@10 | NDCG@10 (paper) | MRR@10 (paper) |',
      '|---|---|---|---|---|---|',
    );
    for (const m of models) lines.push(`| ${m} | ${row(m, paperMetrics, 10).join(' | ')} |`);
  }
  lines.push('', 'Standard metrics at K=10:', '');
  lines.push('| model | P@10 | R@10 | HR@10 | NDCG@10 | MRR@10 |', '|---|---|---|---|---|---|');
  for (const m of models) lines.push(`| ${m} | ${row(m, standard, 10).join(' | ')} |`);
  lines.push('');
  json[dataset] = {
    models,
    seeds: Object.fromEntries(models.map((m) => [m, seedsOf(m)])),
    ks,
    summary,
    fitSeconds: Object.fromEntries(models.map((m) => [m, meanFitSeconds(m)])),
  };
}
const md = `${lines.join('\n')}\n`;
const outBase = join(ROOT, 'bench', 'results', 'train-tables');
writeFileSync(`${outBase}.md`, md);
writeFileSync(
  `${outBase}.json`,
  `${JSON.stringify({ inputs: files.map((f) => f.replace(ROOT, '')), tables: json }, null, 2)}\n`,
);
console.log(md);
