import type { ExperimentResult } from './experiment.js';
import { METRIC_LABELS, type MetricName } from './metrics.js';

const STANDARD: MetricName[] = ['precision', 'recall', 'hr', 'ndcg', 'mrr'];
const PAPER: MetricName[] = ['paperNdcg', 'paperMrr'];

const cell = (mean: number, std: number, seeds: number): string =>
  seeds > 1 ? `${mean.toFixed(4)} ± ${std.toFixed(4)}` : mean.toFixed(4);

/**
 * Markdown tables like the paper's Tables 3 and 4 — one row per model, Precision / Recall / HR / NDCG / MRR at
 * one K — one table per K, with the paper-compatible NDCG and MRR in separate, labelled columns.
 */
export function markdownReport(result: ExperimentResult, tableKs: readonly number[] = result.ks): string {
  const lines: string[] = [];
  const n = result.seeds.length;
  lines.push(`# ${result.dataset}: ${result.models.join(', ')}`);
  lines.push('');
  const core = result.core === null ? 'given train/test split' : `${result.core}-core`;
  lines.push(
    `${core}: ${result.stats.users} users, ${result.stats.items} items, ${result.stats.pairs} pairs; ` +
      `seeds ${result.seeds.join(', ')}; ${result.protocol.ranking}. ` +
      (n > 1 ? 'Cells are mean ± sample std over seeds.' : 'One seed.'),
  );
  lines.push('');
  lines.push(
    'Standard metrics: Precision = hits/K, Recall = hits/|test|, HR = share of users with a hit, ' +
      'NDCG with ideal DCG over min(K, |test|), MRR = 1/rank of the first hit. ' +
      'Paper-compatible (PNCF reference code, daisyRec v1): NDCG normalised by the hits found in the top K, ' +
      'MRR = sum of 1/rank over all hits (can exceed 1).',
  );
  for (const k of tableKs) {
    const ki = result.ks.indexOf(k);
    if (ki < 0) continue;
    lines.push('');
    lines.push(`## K = ${k}`);
    lines.push('');
    const header = [
      'Model',
      ...STANDARD.map((m) => `${METRIC_LABELS[m]}@${k}`),
      ...PAPER.map((m) => `${METRIC_LABELS[m]}@${k}`),
    ];
    lines.push(`| ${header.join(' | ')} |`);
    lines.push(`|${header.map((_, i) => (i === 0 ? '---' : '---:')).join('|')}|`);
    for (const model of result.models) {
      const s = result.summary[model]!;
      const cells = [...STANDARD, ...PAPER].map((m) => cell(s[m].mean[ki]!, s[m].std[ki]!, n));
      lines.push(`| ${model} | ${cells.join(' | ')} |`);
    }
  }
  lines.push('');
  lines.push('## Time per run (seconds, mean over seeds)');
  lines.push('');
  lines.push('| Model | fit | evaluate |');
  lines.push('|---|---:|---:|');
  for (const model of result.models) {
    const runs = result.runs.filter((r) => r.model === model);
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
    lines.push(
      `| ${model} | ${mean(runs.map((r) => r.fitSeconds)).toFixed(2)} | ${mean(runs.map((r) => r.evalSeconds)).toFixed(2)} |`,
    );
  }
  lines.push('');
  return lines.join('\n');
}
