import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  DATASETS,
  type DataFormat,
  kCore,
  loadInteractions,
  numItems,
  numPairs,
  numUsers,
  sharedDataRoot,
  splitPerUser,
  tfRuntime,
} from '@pncf/evaluation';
import { PncfRecommender, type PresetName, presets, saveArtifact } from '@pncf/pncf';
import { SingleBar } from 'cli-progress';
import { Command, InvalidArgumentError, Option } from 'commander';

const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));

interface Options {
  dataset?: string;
  data?: string;
  format?: DataFormat;
  dataRoot?: string;
  core?: number;
  preset: PresetName;
  seed: number;
  threads?: number;
  epochs?: number;
  validationFraction: number;
  out: string;
  progress: boolean;
}

const integer = (value: string): number => {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError(`"${value}" is not a non-negative integer`);
  return Number(value);
};

/** Fit PNCF on a whole data set (k-core applied) and write a model artifact the scorer can load. */
export async function runTrain(o: Options): Promise<void> {
  const log = (m: string) => console.error(m);
  let path = o.data;
  let format = o.format;
  let core = o.core;
  if (o.dataset) {
    const spec = DATASETS[o.dataset];
    if (!spec) throw new InvalidArgumentError(`unknown data set "${o.dataset}"`);
    format ??= spec.format;
    core ??= spec.core;
    if (!path) {
      const root = o.dataRoot ?? sharedDataRoot(REPO_ROOT);
      if (!root) throw new InvalidArgumentError(`no data folder found: give --data FILE for ${o.dataset}`);
      path = join(root, spec.file);
    }
  }
  if (!path) throw new InvalidArgumentError('give --dataset NAME or --data FILE');
  const data = kCore(loadInteractions(path, format ?? 'generic'), core ?? 10);
  log(`${path}: ${core ?? 10}-core ${numPairs(data)} pairs, ${numUsers(data)} users, ${numItems(data)} items`);
  await tfRuntime(log);

  const base = presets[o.preset];
  const config = {
    ...base,
    userWord2Vec: { ...base.userWord2Vec, threads: o.threads ?? base.userWord2Vec.threads },
    itemWord2Vec: { ...base.itemWord2Vec, threads: o.threads ?? base.itemWord2Vec.threads },
    tower: { ...base.tower, epochs: o.epochs ?? base.tower.epochs },
  };
  const model = new PncfRecommender(config);
  // Early stopping holds out a validation part; the artifact's model is then fitted on the rest.
  const split =
    model.usesValidation && o.validationFraction > 0 ? splitPerUser(data, o.validationFraction, o.seed) : undefined;
  const bar =
    o.progress && process.stderr.isTTY
      ? new SingleBar({ format: 'fit [{bar}] {percentage}% {message}', stream: process.stderr })
      : undefined;
  bar?.start(100, 0, { message: '' });
  await model.fit(split?.train ?? data, {
    seed: o.seed,
    validation: split?.test,
    onProgress: (f, message) =>
      bar ? bar.update(Math.round(f * 100), { message: message ?? '' }) : log(message ?? ''),
  });
  bar?.stop();
  const report = model.report!;
  const best = report.history[report.bestEpoch];
  const manifest = saveArtifact(o.out, {
    model: model.model!,
    userIds: data.userIds,
    itemIds: data.itemIds,
    config,
    metrics: {
      dataset: o.dataset ?? path,
      pairs: numPairs(data),
      seed: o.seed,
      preset: o.preset,
      bestEpoch: report.bestEpoch,
      validationRecall: best?.validationRecall ?? null,
      validationK: config.tower.validationK,
      seconds: report.seconds,
      pretrainPairsPerSecond: report.pretrainPairsPerSecond,
      towerSamplesPerSecond: report.towerSamplesPerSecond,
    },
    pretrained: model.pretrained,
  });
  model.dispose();
  console.log(
    JSON.stringify({
      out: o.out,
      sha256: manifest.payload.sha256,
      bytes: manifest.payload.bytes,
      bestEpoch: report.bestEpoch,
      validationRecall: best?.validationRecall ?? null,
      seconds: report.seconds,
    }),
  );
}

export function trainCommand(): Command {
  return new Command('train')
    .description('Fit PNCF (or NPNCF) on a data set and write a model artifact (manifest.json + tensors.bin)')
    .addOption(new Option('--dataset <name>', 'named data set').choices(Object.keys(DATASETS)))
    .option('--data <file>', 'data file (default: the named data set under --data-root)')
    .addOption(
      new Option('--format <format>', 'format of --data').choices(['ml-100k', 'ml-1m', 'author-tag', 'generic']),
    )
    .option('--data-root <dir>', 'folder holding the named data sets')
    .option('--core <k>', 'k of the k-core filter', integer)
    .addOption(new Option('--preset <name>', 'hyper-parameter preset').choices(Object.keys(presets)).default('default'))
    .option('--seed <n>', 'random seed', integer, 1)
    .option('--threads <n>', 'word2vec worker threads (1 = deterministic)', integer)
    .option('--epochs <n>', 'maximum tower epochs', integer)
    .option('--validation-fraction <f>', 'share of each user’s items held out for early stopping', Number, 0.1)
    .requiredOption('--out <dir>', 'artifact directory to write')
    .option('--no-progress', 'no progress bar')
    .action(async (options: Options) => {
      await runTrain(options);
    });
}
