/**
 * ItemKNN's neighbourhood size chosen on validation, like EASE's λ: fit on train minus validation (seed 1's
 * protocol split), NDCG@10 and Recall@20 on the validation part; the test part is never looked at.
 *   npx tsx bench/experiment-itemknn-neighbours.ts [ml-100k|author-tag ...]
 * Writes bench/results/experiment-itemknn-neighbours.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { protocolSplit } from '@pncf/data';
import { evaluateModel, ItemKnn, loadDataset, sharedDataRoot } from '@pncf/evaluation';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const GRID = [10, 20, 50, 100, 200, 500, 0];
const dataRoot = sharedDataRoot(ROOT);
if (!dataRoot) throw new Error('needs the shared data folder (../shared/data)');
const names = process.argv.slice(2).length > 0 ? process.argv.slice(2) : ['ml-100k', 'author-tag'];
const results: Record<string, unknown> = {};
for (const name of names) {
  const { spec, data } = loadDataset(name, dataRoot);
  const split = protocolSplit(data, 1);
  const rows: { neighbours: number; ndcg10: number; recall20: number }[] = [];
  for (const neighbours of GRID) {
    const model = new ItemKnn({ neighbours });
    await model.fit(split.fit);
    const { metrics } = await evaluateModel(model, split.fit, split.validation, { ks: [10, 20] });
    rows.push({ neighbours, ndcg10: metrics.ndcg[0]!, recall20: metrics.recall[1]! });
    console.log(
      `${name} neighbours=${neighbours || 'all'}: validation NDCG@10 ${metrics.ndcg[0]!.toFixed(4)}, Recall@20 ${metrics.recall[1]!.toFixed(4)}`,
    );
  }
  const best = rows.reduce((a, b) => (b.ndcg10 > a.ndcg10 ? b : a));
  console.log(`${name}: best neighbours by validation NDCG@10 = ${best.neighbours || 'all'}`);
  results[name] = { core: spec.core, seed: 1, bestNeighbours: best.neighbours, rows };
}
mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
writeFileSync(
  join(ROOT, 'bench', 'results', 'experiment-itemknn-neighbours.json'),
  `${JSON.stringify(results, null, 2)}\n`,
);
