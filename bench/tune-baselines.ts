/**
 * The baselines at their best: ItemKNN, EASE and iALS settings chosen by NDCG@10 on the validation part of
 * seed 1's protocol split (fit on train minus validation); the test part is never looked at. The experiment
 * CLI's per-data-set defaults (packages/cli/src/commands/experiment.ts) are the settings chosen here.
 *   npm run bench:tune-baselines [-- ml-100k|author-tag ...]
 * Writes bench/results/tune-baselines.json (every row and the chosen settings per data set; data sets not run
 * keep their previous entry) and prints a table. About 15 minutes for both data sets on one core.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Interactions, protocolSplit } from '@pncf/data';
import {
  Ease,
  evaluateModel,
  Ials,
  type IalsOptions,
  ItemKnn,
  type ItemKnnOptions,
  loadDataset,
  type Recommender,
  sharedDataRoot,
} from '@pncf/evaluation';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const OUT = join(ROOT, 'bench', 'results', 'tune-baselines.json');

/**
 * ItemKNN: the classic ranges (k 50–200 or all, shrink 0–200; k = 20 was never close in a first run) for both
 * pruning rules. Per-target pruning (Sarwar; RecBole) is what published ML-100K tables use; ours pruned per
 * source item only.
 */
const KNN_NEIGHBOURS = [50, 100, 200, 0];
const KNN_SHRINK = [0, 10, 50, 100, 200];
/** EASE: around the optimum of bench/results/experiment-ease-lambda.json (a full fit costs ~1 min on author-tag). */
const EASE_LAMBDA: Record<string, number[]> = { 'ml-100k': [200, 500, 1000], 'author-tag': [200, 300, 500] };
/**
 * iALS on a half-decade ladder of α and λ. λ has to grow with α (the confidence-weighted data term grows with
 * α), and in a first exploration the optimum lay in the band λ ≈ 3α–10α on both data sets, while the two
 * rungs of α between every-other-rung grid points made a square grid miss it. So the coarse grid is that band
 * (λ one and two rungs above α) for α 3–300 and both confidences at 64 factors; then rounds over all eight
 * neighbouring (α, λ) rungs of the best while that improves; then 32 and 128 factors at the best.
 */
const LADDER = [1, 3, 10, 30, 100, 300, 1000, 3000, 10000];
const IALS_ALPHA = [3, 10, 30, 100, 300];
const IALS_ROUNDS = 3;
const IALS_FACTORS = [32, 128];

type ModelName = 'itemknn' | 'ease' | 'ials';
interface Row {
  model: ModelName;
  settings: Record<string, number | string>;
  ndcg10: number;
  recall10: number;
  recall20: number;
  fitSeconds: number;
  evalSeconds: number;
}

async function trial(
  split: { fit: Interactions; validation: Interactions },
  model: ModelName,
  settings: Row['settings'],
  create: () => Recommender,
): Promise<Row> {
  const m = create();
  const t0 = performance.now();
  await m.fit(split.fit, { seed: 1 });
  const t1 = performance.now();
  const { metrics } = await evaluateModel(m, split.fit, split.validation, { ks: [10, 20] });
  const row: Row = {
    model,
    settings,
    ndcg10: metrics.ndcg[0]!,
    recall10: metrics.recall[0]!,
    recall20: metrics.recall[1]!,
    fitSeconds: (t1 - t0) / 1000,
    evalSeconds: (performance.now() - t1) / 1000,
  };
  console.log(
    `  ${model} ${describe(settings)}: NDCG@10 ${row.ndcg10.toFixed(4)} (fit ${row.fitSeconds.toFixed(1)} s)`,
  );
  return row;
}

const describe = (settings: Row['settings']) =>
  Object.entries(settings)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
const best = (rows: Row[]) => rows.reduce((a, b) => (b.ndcg10 > a.ndcg10 ? b : a));

async function tuneItemKnn(split: { fit: Interactions; validation: Interactions }): Promise<Row[]> {
  const rows: Row[] = [];
  for (const neighbours of KNN_NEIGHBOURS)
    for (const prune of neighbours === 0 ? (['source'] as const) : (['source', 'target'] as const))
      for (const shrink of KNN_SHRINK) {
        const options: ItemKnnOptions = { neighbours, shrink, prune };
        rows.push(await trial(split, 'itemknn', { neighbours, shrink, prune }, () => new ItemKnn(options)));
      }
  return rows;
}

async function tuneEase(name: string, split: { fit: Interactions; validation: Interactions }): Promise<Row[]> {
  const rows: Row[] = [];
  for (const lambda of EASE_LAMBDA[name] ?? [500])
    rows.push(await trial(split, 'ease', { lambda }, () => new Ease({ lambda })));
  return rows;
}

async function tuneIals(data: Interactions, split: { fit: Interactions; validation: Interactions }): Promise<Row[]> {
  // With every count 1 (ML-100K ratings) 'binary' is the same model as 'counts': not run twice.
  const countsVary = data.byUser.counts.some((c) => c !== 1);
  const confidences = countsVary ? (['counts', 'binary'] as const) : (['counts'] as const);
  const rows: Row[] = [];
  const seen = new Set<string>();
  const run = async (o: Required<Pick<IalsOptions, 'factors' | 'alpha' | 'lambda' | 'confidence'>>) => {
    const key = describe(o);
    if (seen.has(key)) return;
    seen.add(key);
    rows.push(await trial(split, 'ials', { ...o }, () => new Ials(o)));
  };
  const rung = (v: number, step: number) => LADDER[LADDER.indexOf(v) + step];
  for (const confidence of confidences)
    for (const alpha of IALS_ALPHA)
      for (const above of [1, 2]) await run({ factors: 64, alpha, lambda: rung(alpha, above)!, confidence });
  for (let round = 0; round < IALS_ROUNDS; round++) {
    const centre = best(rows);
    const { alpha, lambda, confidence } = centre.settings as { alpha: number; lambda: number; confidence: 'counts' };
    for (const da of [-1, 0, 1])
      for (const dl of [-1, 0, 1]) {
        const a = rung(alpha, da);
        const l = rung(lambda, dl);
        if (a !== undefined && l !== undefined) await run({ factors: 64, alpha: a, lambda: l, confidence });
      }
    if (best(rows) === centre) break;
  }
  const refined = best(rows).settings as { alpha: number; lambda: number; confidence: 'counts' | 'binary' };
  for (const factors of IALS_FACTORS) await run({ ...refined, factors });
  return rows;
}

function table(name: string, rows: Row[], chosen: Record<ModelName, Row>): string {
  const lines = [
    `## ${name}: validation (seed 1), sorted by NDCG@10 within each model; * = chosen`,
    '',
    '| Model | Settings | NDCG@10 | Recall@10 | Recall@20 | fit s |',
    '|---|---|---:|---:|---:|---:|',
  ];
  for (const model of ['itemknn', 'ease', 'ials'] as const) {
    const sorted = rows.filter((r) => r.model === model).sort((a, b) => b.ndcg10 - a.ndcg10);
    for (const r of sorted)
      lines.push(
        `| ${model}${r === chosen[model] ? ' *' : ''} | ${describe(r.settings)} | ${r.ndcg10.toFixed(4)} | ${r.recall10.toFixed(4)} | ${r.recall20.toFixed(4)} | ${r.fitSeconds.toFixed(1)} |`,
      );
  }
  return lines.join('\n');
}

const dataRoot = sharedDataRoot(ROOT);
if (!dataRoot) throw new Error('needs the shared data folder (../shared/data)');
const names = process.argv.slice(2).length > 0 ? process.argv.slice(2) : ['ml-100k', 'author-tag'];
const results: Record<string, unknown> = (() => {
  try {
    return JSON.parse(readFileSync(OUT, 'utf8')) as Record<string, unknown>;
  } catch {
    return {};
  }
})();
const tables: string[] = [];
for (const name of names) {
  const { spec, data } = loadDataset(name, dataRoot);
  const split = protocolSplit(data, 1);
  console.log(`${name} (${spec.core}-core), seed 1: fit on train minus validation, scored on validation`);
  const start = performance.now();
  const rows = [...(await tuneItemKnn(split)), ...(await tuneEase(name, split)), ...(await tuneIals(data, split))];
  const chosen = {
    itemknn: best(rows.filter((r) => r.model === 'itemknn')),
    ease: best(rows.filter((r) => r.model === 'ease')),
    ials: best(rows.filter((r) => r.model === 'ials')),
  };
  results[name] = {
    core: spec.core,
    seed: 1,
    selection: 'validation NDCG@10 (fit on train minus validation; test never scored)',
    minutes: (performance.now() - start) / 60_000,
    chosen: Object.fromEntries(Object.entries(chosen).map(([m, r]) => [m, { ...r.settings, ndcg10: r.ndcg10 }])),
    rows,
  };
  tables.push(table(name, rows, chosen));
  mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
  writeFileSync(OUT, `${JSON.stringify(results, null, 2)}\n`);
}
console.log(`\n${tables.join('\n\n')}`);
