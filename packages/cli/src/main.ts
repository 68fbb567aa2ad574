#!/usr/bin/env -S npx tsx
import { createRequire } from 'node:module';
import { Command } from 'commander';
import { configCommand } from './commands/config.js';
import { experimentCommand } from './commands/experiment.js';
import { modelCommand, trainerCommand } from './commands/model.js';
import { replayCommand } from './commands/replay.js';
import { trainCommand } from './commands/train.js';
import { upCommand } from './commands/up.js';

const { version } = createRequire(import.meta.url)('../package.json') as { version: string };

const program = new Command('pncf')
  .description('PNCF streaming recommender: run the pipeline, replay data sets, run experiments')
  .version(version, '-V, --version', 'print the version of pncf')
  .showHelpAfterError();

program.addCommand(upCommand());
program.addCommand(replayCommand());
program.addCommand(experimentCommand());
program.addCommand(trainCommand());
program.addCommand(modelCommand());
program.addCommand(trainerCommand());
program.addCommand(configCommand());

program.parseAsync().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
