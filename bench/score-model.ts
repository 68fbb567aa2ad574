/**
 * The author-tag model the scorer bench measures: PNCF with the product's default preset, fitted on the train
 * part of a per-user 80/20 split (seed 1) of ../shared/data/bilibili/bt_test_set.csv, saved as a model artifact
 * next to the split. Cached under the OS temp folder (SCORE_BENCH_DIR): fitting takes minutes on 2 cores, and
 * `npm run bench:score` reuses it. Run: tsx bench/score-model.ts [--force]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Interactions, protocolSplit } from '@pncf/data';
import { DATASETS, loadInteractions, sharedDataRoot, tfRuntime } from '@pncf/evaluation';
import { fitPncf, loadArtifact, type ModelArtifact, presets, saveArtifact } from '@pncf/pncf';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const benchDir = process.env.SCORE_BENCH_DIR ?? path.join(os.tmpdir(), 'pncf-bench-score');
const SEED = 1;

export interface ScoreBenchModel {
  data: Interactions;
  train: Interactions;
  test: Interactions;
  artifactDir: string;
  artifact: ModelArtifact;
  fitSeconds: number | undefined;
}

/** The data set, its split and the fitted model (fitted now unless cached). */
export async function scoreBenchModel(force = false): Promise<ScoreBenchModel> {
  const dataRoot = sharedDataRoot(repoRoot);
  if (!dataRoot) throw new Error('no ../shared/data next to the repository');
  const spec = DATASETS['author-tag']!;
  const data = loadInteractions(path.join(dataRoot, spec.file), spec.format);
  const split = protocolSplit(data, SEED, 0.2);
  const artifactDir = path.join(benchDir, 'author-tag-model');
  let fitSeconds: number | undefined;
  if (force || !fs.existsSync(path.join(artifactDir, 'manifest.json'))) {
    const runtime = await tfRuntime();
    console.log(`fitting PNCF (default preset, ${runtime.backend}) on the author-tag train split…`);
    const started = performance.now();
    const fit = await fitPncf(split.fit, presets.default, {
      seed: SEED,
      validation: split.validation,
      onProgress: (fraction, message) => message && console.log(`  ${(fraction * 100).toFixed(0)}% ${message}`),
    });
    fitSeconds = (performance.now() - started) / 1000;
    fs.mkdirSync(benchDir, { recursive: true });
    saveArtifact(artifactDir, {
      model: fit.model,
      userIds: split.fit.userIds,
      itemIds: split.fit.itemIds,
      config: presets.default,
      metrics: { fitSeconds },
      ...(fit.pretrained ? { pretrained: fit.pretrained } : {}),
    });
    console.log(`fitted in ${fitSeconds.toFixed(1)} s → ${artifactDir}`);
  }
  return { data, train: split.train, test: split.test, artifactDir, artifact: loadArtifact(artifactDir), fitSeconds };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  await scoreBenchModel(process.argv.includes('--force'));
}
