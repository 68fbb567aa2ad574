import path from 'node:path';
import { ModelRegistry } from '@pncf/registry';
import { Command } from 'commander';
import { holdoutLabel, summarizeVersion } from '../pipeline-status.js';

const defaultModelDir = () => process.env.MODEL_DIR ?? path.resolve('.data/models');

function summary(modelRegistry: ModelRegistry, version: string): string {
  try {
    const model = summarizeVersion(modelRegistry, version);
    // Which data the figures come from: the gate's window, or the first model's random holdout.
    const label = model.evaluation ? `${holdoutLabel(model)} ` : '';
    const scores =
      model.recall10 === undefined
        ? ''
        : `  ${label}recall@10 ${model.recall10.toFixed(4)}  ndcg@10 ${model.ndcg10?.toFixed(4)}`;
    return `${model.createdAt}${scores}`;
  } catch (error) {
    return `BROKEN: ${(error as Error).message}`;
  }
}

/**
 * A `model` subcommand with `--dir`: `run` gets the registry (`--dir`, else MODEL_DIR, else .data/models) and the
 * command's optional version argument.
 */
function registrySubcommand(
  parent: Command,
  usage: string,
  description: string,
  run: (modelRegistry: ModelRegistry, version: string | undefined) => void,
): void {
  parent
    .command(usage)
    .description(description)
    .option('--dir <dir>', 'model registry directory (MODEL_DIR)')
    .action(function (this: Command) {
      const { dir } = this.opts<{ dir?: string }>();
      run(new ModelRegistry(dir ?? defaultModelDir()), this.processedArgs[0] as string | undefined);
    });
}

/** `pncf model list|verify|rollback`: operate the model registry the trainer publishes to. */
export function modelCommand(): Command {
  const command = new Command('model').description('list, verify and roll back model versions in the registry');
  registrySubcommand(command, 'list', 'versions on disk, the current one marked with *', (modelRegistry) => {
    const current = modelRegistry.currentVersion();
    for (const version of modelRegistry.list()) {
      console.log(`${version === current ? '*' : ' '} ${version}  ${summary(modelRegistry, version)}`);
    }
  });
  registrySubcommand(
    command,
    'verify [version]',
    'check every file of a version (default: the current one) against its checksums',
    (modelRegistry, version) => {
      const target = version ?? modelRegistry.currentVersion();
      if (!target) throw new Error('no current model');
      modelRegistry.open(target);
      console.log(`${target}: ok`);
    },
  );
  registrySubcommand(
    command,
    'rollback [version]',
    'point CURRENT at a version (default: the newest intact one before the current); scorers follow',
    (modelRegistry, version) => {
      const before = modelRegistry.currentVersion();
      const after = modelRegistry.rollback(version);
      console.log(`current: ${before ?? '(none)'} → ${after}`);
    },
  );
  return command;
}

/** `pncf trainer train-now`: ask a running trainer to start a run (its POST /train). */
export function trainerCommand(): Command {
  const command = new Command('trainer').description('talk to a running trainer service');
  command
    .command('train-now')
    .description('start a training run now (ignored while one is running)')
    .option('--url <url>', 'trainer base URL', `http://127.0.0.1:${process.env.TRAINER_HTTP_PORT ?? 9102}`)
    .action(async (options: { url: string }) => {
      const response = await fetch(new URL('/train', options.url), { method: 'POST' });
      if (!response.ok) throw new Error(`trainer answered ${response.status}: ${await response.text()}`);
      console.log(JSON.stringify(await response.json()));
    });
  return command;
}
