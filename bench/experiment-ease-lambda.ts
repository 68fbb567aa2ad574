/**
 * EASE's λ chosen on validation: fit on train minus validation (seed 1's protocol split), evaluate NDCG@10 and
 * Recall@20 on the validation part, for a grid of λ per data set. The test part is never looked at.
 *   npx tsx bench/experiment-ease-lambda.ts [ml-100k|author-tag ...]
 * Writes bench/results/experiment-ease-lambda.json.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { protocolSplit } from '@pncf/data';
import { Ease, evaluateModel, loadDataset, sharedDataRoot } from '@pncf/evaluation';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const GRIDS: Record<string, number[]> = {
  'ml-100k': [50, 100, 200, 500, 1000, 2000],
  'author-tag': [50, 100, 200, 300, 500, 1000],
};
const dataRoot = sharedDataRoot(ROOT);
if (!dataRoot) throw new Error('needs the shared data folder (../shared/data)');
const names = process.argv.slice(2).length > 0 ? process.argv.slice(2) : Object.keys(GRIDS);
const outPath = join(ROOT, 'bench', 'results', 'experiment-ease-lambda.json');
const previous = (() => {
  try {
    return JSON.parse(readFileSync(outPath, 'utf8')) as Record<string, unknown>;
  } catch {
    return {};
  }
})();
const results: Record<string, unknown> = { ...previous };
for (const name of names) {
  const { spec, data } = loadDataset(name, dataRoot);
  const split = protocolSplit(data, 1);
  const rows: { lambda: number; ndcg10: number; recall20: number; fitSeconds: number }[] = [];
  for (const lambda of GRIDS[name]!) {
    const model = new Ease({ lambda });
    const start = performance.now();
    await model.fit(split.fit);
    const fitSeconds = (performance.now() - start) / 1000;
    const { metrics } = await evaluateModel(model, split.fit, split.validation, { ks: [10, 20] });
    rows.push({ lambda, ndcg10: metrics.ndcg[0]!, recall20: metrics.recall[1]!, fitSeconds });
    console.log(
      `${name} λ=${lambda}: validation NDCG@10 ${metrics.ndcg[0]!.toFixed(4)}, Recall@20 ${metrics.recall[1]!.toFixed(4)} (fit ${fitSeconds.toFixed(1)} s)`,
    );
  }
  const best = rows.reduce((a, b) => (b.ndcg10 > a.ndcg10 ? b : a));
  console.log(`${name}: best λ by validation NDCG@10 = ${best.lambda}`);
  results[name] = { core: spec.core, seed: 1, bestLambda: best.lambda, rows };
}
mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
writeFileSync(outPath, `${JSON.stringify(results, null, 2)}\n`);
