import { kCore, numItems, numPairs, numUsers, splitPerUser } from '@pncf/data';
import { loadInteractions, tfRuntime } from '@pncf/evaluation';
import {
  fitPncf,
  modelKind,
  PRESET_NAMES,
  type PresetName,
  pncfUsesValidation,
  presets,
  resolvePncfConfig,
  saveArtifact,
} from '@pncf/pncf';
import { SingleBar } from 'cli-progress';
import { Command, InvalidArgumentError, Option } from 'commander';
import { type DataSetOptions, nonNegativeInteger, resolveDataSet, withDataSetOptions } from '../data-set.js';

interface Options extends DataSetOptions {
  preset: PresetName;
  seed: number;
  threads?: number;
  epochs?: number;
  validationFraction: number;
  out: string;
  progress: boolean;
}

/**
 * Fit PNCF on a whole data set (k-core applied) and write a model artifact the scorer can load: a tower, or with
 * `--preset plus` PNCF+'s history model (the artifact's kind).
 */
export async function runTrain(o: Options): Promise<void> {
  const log = (m: string) => console.error(m);
  const dataSet = resolveDataSet(o);
  if (!dataSet) throw new InvalidArgumentError('give --dataset NAME or --data FILE');
  // defaults → --preset → --threads / --epochs (an option not given keeps the preset's value; --epochs are the
  // epochs of the preset's learned scorer: the tower's, or the history model's); checked first
  const scorerEpochs =
    presets[o.preset]?.scorer === 'history' ? { history: { epochs: o.epochs } } : { tower: { epochs: o.epochs } };
  const config = resolvePncfConfig(o.preset, { word2vec: { threads: o.threads }, ...scorerEpochs });
  const { path, format, core } = dataSet;
  const data = kCore(loadInteractions(path, format), core);
  log(`${path}: ${core}-core ${numPairs(data)} pairs, ${numUsers(data)} users, ${numItems(data)} items`);
  await tfRuntime(log);

  // Early stopping holds out a validation part; the artifact's model is then fitted on the rest.
  const split =
    pncfUsesValidation(config) && o.validationFraction > 0
      ? splitPerUser(data, o.validationFraction, o.seed)
      : undefined;
  const bar =
    o.progress && process.stderr.isTTY
      ? new SingleBar({ format: 'fit [{bar}] {percentage}% {message}', stream: process.stderr })
      : undefined;
  bar?.start(100, 0, { message: '' });
  const fit = await fitPncf(split?.train ?? data, config, {
    seed: o.seed,
    validation: split?.test,
    onProgress: (f, message) =>
      bar ? bar.update(Math.round(f * 100), { message: message ?? '' }) : log(message ?? ''),
  });
  bar?.stop();
  const { report } = fit;
  const best = report.history[report.bestEpoch];
  const kind = modelKind(fit.model);
  const manifest = saveArtifact(o.out, {
    model: fit.model,
    userIds: data.userIds,
    itemIds: data.itemIds,
    config,
    metrics: {
      dataset: o.dataset ?? path,
      pairs: numPairs(data),
      seed: o.seed,
      preset: o.preset,
      kind,
      bestEpoch: report.bestEpoch,
      validationRecall: best?.validationRecall ?? null,
      ...(kind === 'tower' ? { validationK: config.tower.validationK } : {}),
      seconds: report.seconds,
      pretrainPairsPerSecond: report.pretrainPairsPerSecond,
      towerSamplesPerSecond: report.towerSamplesPerSecond,
    },
    pretrained: fit.pretrained,
  });
  console.log(
    JSON.stringify({
      out: o.out,
      kind,
      sha256: manifest.payload.sha256,
      bytes: manifest.payload.bytes,
      bestEpoch: report.bestEpoch,
      validationRecall: best?.validationRecall ?? null,
      seconds: report.seconds,
    }),
  );
}

export function trainCommand(): Command {
  return withDataSetOptions(
    new Command('train').description(
      'Fit PNCF (NPNCF, or PNCF+ with --preset plus) on a data set and write a model artifact (manifest.json + tensors.bin)',
    ),
  )
    .addOption(
      new Option('--preset <name>', 'hyper-parameter preset (plus: PNCF+, a history model)')
        .choices(PRESET_NAMES)
        .default('default'),
    )
    .option('--seed <n>', 'random seed', nonNegativeInteger, 1)
    .option('--threads <n>', 'word2vec worker threads (1 = deterministic)', nonNegativeInteger)
    .option(
      '--epochs <n>',
      'maximum epochs of the tower (or of the history model with --preset plus)',
      nonNegativeInteger,
    )
    .option(
      '--validation-fraction <f>',
      'share of each user’s items held out for early stopping (presets that early-stop)',
      Number,
      0.1,
    )
    .requiredOption('--out <dir>', 'artifact directory to write')
    .option('--no-progress', 'no progress bar')
    .action(async (options: Options) => {
      await runTrain(options);
    });
}
