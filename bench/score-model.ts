/**
 * The author-tag models the scorer bench measures: PNCF with the product's default preset (or another preset,
 * e.g. `plus` for PNCF+'s history model), fitted on the train part of a per-user 80/20 split (seed 1) of
 * ../shared/data/bilibili/bt_test_set.csv, saved as a model artifact next to the split. A preset that early-stops
 * fits on train minus a 10% validation part and stops on it; the others fit on all of train. Cached under the OS
 * temp folder (SCORE_BENCH_DIR): fitting takes minutes on 2 cores, and `npm run bench:score` reuses it.
 * Run: tsx bench/score-model.ts [--force] [--preset NAME] [--epochs N]
 * (--epochs: the epochs of the preset's learned scorer, the tower's or the history model's; default the preset's).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { type Interactions, protocolSplit } from '@pncf/data';
import { DATASETS, loadInteractions, sharedDataRoot, tfRuntime } from '@pncf/evaluation';
import {
  fitPncf,
  loadArtifact,
  type ModelArtifact,
  type PncfConfig,
  PRESET_NAMES,
  type PresetName,
  pncfUsesValidation,
  presets,
  resolvePncfConfig,
  saveArtifact,
} from '@pncf/pncf';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const benchDir = process.env.SCORE_BENCH_DIR ?? path.join(os.tmpdir(), 'pncf-bench-score');
const SEED = 1;

export interface ScoreBenchModel {
  data: Interactions;
  train: Interactions;
  test: Interactions;
  artifactDir: string;
  artifact: ModelArtifact;
  preset: PresetName;
  config: PncfConfig;
  /** Seconds the fit took: measured now, or recorded in the cached artifact when it was fitted (null: unknown). */
  fitSeconds: number | null;
  /** Whether the model was fitted by this call (false: read from the cache). */
  fitted: boolean;
}

export interface ScoreBenchModelOptions {
  force?: boolean;
  preset?: PresetName;
  /** Epochs of the preset's learned scorer (the tower's or the history model's); undefined: the preset's. */
  epochs?: number;
}

/** The config of a bench model: the preset with `epochs` laid over its learned scorer's. */
export function benchConfig(preset: PresetName, epochs?: number): PncfConfig {
  const scorer = presets[preset].scorer === 'history' ? { history: { epochs } } : { tower: { epochs } };
  return resolvePncfConfig(preset, scorer);
}

/** The data set, its split and the fitted model (fitted now unless cached). */
export async function scoreBenchModel(options: ScoreBenchModelOptions = {}): Promise<ScoreBenchModel> {
  const { force = false, preset = 'default', epochs } = options;
  const dataRoot = sharedDataRoot(repoRoot);
  if (!dataRoot) throw new Error('no ../shared/data next to the repository');
  const spec = DATASETS['author-tag']!;
  const data = loadInteractions(path.join(dataRoot, spec.file), spec.format);
  const split = protocolSplit(data, SEED, 0.2);
  const config = benchConfig(preset, epochs);
  // The default model keeps the directory it always had (caches of earlier runs stay valid).
  const name =
    preset === 'default' && epochs === undefined ? '' : `-${preset}${epochs === undefined ? '' : `-e${epochs}`}`;
  const artifactDir = path.join(benchDir, `author-tag${name}-model`);
  let fitSeconds: number | null = null;
  const fitted = force || !fs.existsSync(path.join(artifactDir, 'manifest.json'));
  if (fitted) {
    const runtime = await tfRuntime();
    const early = pncfUsesValidation(config);
    const fitData = early ? split.fit : split.train;
    console.log(`fitting PNCF (${preset} preset, ${runtime.backend}) on the author-tag train split…`);
    const started = performance.now();
    const fit = await fitPncf(fitData, config, {
      seed: SEED,
      ...(early ? { validation: split.validation } : {}),
      onProgress: (fraction, message) => message && console.log(`  ${(fraction * 100).toFixed(0)}% ${message}`),
    });
    fitSeconds = (performance.now() - started) / 1000;
    fs.mkdirSync(benchDir, { recursive: true });
    saveArtifact(artifactDir, {
      model: fit.model,
      userIds: fitData.userIds,
      itemIds: fitData.itemIds,
      config,
      metrics: { fitSeconds, preset, seconds: fit.report.seconds },
      ...(fit.pretrained ? { pretrained: fit.pretrained } : {}),
    });
    console.log(`fitted in ${fitSeconds.toFixed(1)} s → ${artifactDir}`);
  }
  const artifact = loadArtifact(artifactDir);
  if (fitSeconds === null && typeof artifact.metrics.fitSeconds === 'number') fitSeconds = artifact.metrics.fitSeconds;
  return { data, train: split.train, test: split.test, artifactDir, artifact, preset, config, fitSeconds, fitted };
}

/** --preset NAME and --epochs N of a bench's command line (shared by score-model.ts and score.ts). */
export function benchModelArgs(args: string[]): { preset: PresetName; epochs?: number; force: boolean } {
  const { values } = parseArgs({
    args,
    options: {
      preset: { type: 'string', default: 'default' },
      epochs: { type: 'string' },
      dataset: { type: 'string', default: 'author-tag' },
      force: { type: 'boolean', default: false },
    },
  });
  if (!(PRESET_NAMES as string[]).includes(values.preset)) {
    throw new Error(`unknown preset "${values.preset}" (known: ${PRESET_NAMES.join(', ')})`);
  }
  if (values.dataset !== 'author-tag')
    throw new Error(`the scorer bench runs on author-tag only, not ${values.dataset}`);
  const epochs = values.epochs === undefined ? undefined : Number(values.epochs);
  if (epochs !== undefined && !(Number.isInteger(epochs) && epochs > 0))
    throw new Error('--epochs must be a positive integer');
  return { preset: values.preset as PresetName, force: values.force, ...(epochs === undefined ? {} : { epochs }) };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  await scoreBenchModel(benchModelArgs(process.argv.slice(2)));
}
