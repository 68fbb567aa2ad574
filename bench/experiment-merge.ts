/**
 * Merge per-seed experiment results (experiment-<name>.json files written by `pncf experiment`) into one
 * result with mean ± std over all their seeds, and write it like the CLI does:
 *   npx tsx bench/experiment-merge.ts <name> <part.json>...
 * → bench/results/experiment-<name>.{json,md,svg,png}
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type ExperimentResult, markdownReport, mergeResults, metricsChartSvg, svgToPng } from '@pncf/evaluation';

const [name, ...files] = process.argv.slice(2);
if (!name || files.length === 0) throw new Error('usage: experiment-merge.ts <name> <part.json>...');
const parts = files.map((f) => JSON.parse(readFileSync(f, 'utf8')) as ExperimentResult & Record<string, unknown>);
const merged = mergeResults(parts);
const base = join(fileURLToPath(new URL('results', import.meta.url)), `experiment-${name}`);
const extras = { settings: parts[0]!.settings, argv: parts.map((p) => p.argv), mergedFrom: files.length };
writeFileSync(`${base}.json`, `${JSON.stringify({ ...merged, ...extras }, null, 2)}\n`);
const report = markdownReport(merged);
writeFileSync(`${base}.md`, report);
const svg = metricsChartSvg(merged);
writeFileSync(`${base}.svg`, svg);
writeFileSync(`${base}.png`, svgToPng(svg));
console.log(report);
console.error(`wrote ${base}.{json,md,svg,png}`);
