import fs from 'node:fs';
import path from 'node:path';
import { type ArtifactManifest, readManifest } from '@pncf/pncf';
import { ModelRegistry } from '@pncf/registry';
import { Command } from 'commander';
import { cliConfig, DEFAULT_DATA_DIR } from '../config.js';
import { holdoutLabel, summarizeVersion } from '../pipeline-status.js';

/** The registry `pncf up` gives the trainer: MODEL_DIR, else <data dir>/models (not relative to the cwd). */
const defaultModelDir = () => cliConfig().MODEL_DIR ?? path.join(DEFAULT_DATA_DIR, 'models');

/** A model artifact's kind and shape in a few words: "tower 32-d 128-64" or "history 64-d" (PNCF+). */
export function describeKind(manifest: ArtifactManifest): string {
  return manifest.kind === 'tower'
    ? `tower ${manifest.dim}-d ${manifest.hidden.join('-')}`
    : `history ${manifest.dim}-d (PNCF+)`;
}

function summary(modelRegistry: ModelRegistry, version: string): string {
  try {
    const model = summarizeVersion(modelRegistry, version);
    // summarizeVersion verified the version's files: its artifact manifest can be read as it is.
    const kind = describeKind(readManifest(path.join(modelRegistry.versionsDir, version)));
    // Which data the figures come from: the gate's window, or the first model's random holdout.
    const label = model.evaluation ? `${holdoutLabel(model)} ` : '';
    const scores =
      model.recall10 === undefined
        ? ''
        : `  ${label}recall@10 ${model.recall10.toFixed(4)}  ndcg@10 ${model.ndcg10?.toFixed(4)}`;
    return `${model.createdAt}  ${kind}${scores}`;
  } catch (error) {
    return `BROKEN: ${(error as Error).message}`;
  }
}

interface VersionMetadata {
  snapshotSequence?: number;
  data?: { users: number; items: number; pairs: number };
  gate?: { decision?: string; rule?: string; reason?: string; metric?: string; k?: number };
  warmStart?: Record<string, boolean>;
  seconds?: Record<string, number>;
}

/** One version in detail (verified first): its kind and shape, data, figures, gate and warm start. */
function showVersion(modelRegistry: ModelRegistry, version: string): string[] {
  const opened = modelRegistry.open(version);
  const artifact = readManifest(opened.dir);
  const meta = opened.manifest.metadata as VersionMetadata;
  const model = summarizeVersion(modelRegistry, version);
  const config = artifact.config as {
    scorer?: string;
    userWord2Vec?: { mode: string; dim: number; epochs: number };
    tower?: { epochs: number };
    history?: { epochs: number };
  };
  const scorerEpochs = artifact.kind === 'history' ? config.history?.epochs : config.tower?.epochs;
  const w2v = config.userWord2Vec;
  const lines = [
    `${version}${version === modelRegistry.currentVersion() ? ' (current)' : ''}`,
    `  published   ${opened.manifest.createdAt}`,
    `  trained     ${artifact.createdAt}`,
    `  kind        ${describeKind(artifact)}${artifact.kind === 'tower' && artifact.batchNorm ? ', batch norm' : ''}`,
    `  model       ${artifact.numUsers} users, ${artifact.numItems} items`,
    `  config      ${w2v ? `word2vec ${w2v.mode} ${w2v.dim}-d ${w2v.epochs} epochs, ` : ''}${artifact.kind} ${scorerEpochs ?? '?'} epochs`,
  ];
  if (meta.data) {
    const sequence = meta.snapshotSequence === undefined ? '' : ` (snapshot sequence ${meta.snapshotSequence})`;
    lines.push(`  data        ${meta.data.users} users, ${meta.data.items} items, ${meta.data.pairs} pairs${sequence}`);
  }
  if (model.recall10 !== undefined) {
    lines.push(
      `  ${holdoutLabel(model).padEnd(11)} recall@10 ${model.recall10.toFixed(4)}  ndcg@10 ${model.ndcg10?.toFixed(4)}` +
        (model.holdoutUsers === undefined ? '' : `  (${model.holdoutUsers} users)`),
    );
  }
  if (meta.gate)
    lines.push(`  gate        ${meta.gate.decision ?? 'publish'} (${meta.gate.rule ?? '?'}): ${meta.gate.reason}`);
  if (meta.warmStart) {
    const parts = Object.entries(meta.warmStart).map(([part, used]) => `${part} ${used ? 'yes' : 'no'}`);
    lines.push(`  warm start  ${parts.join(', ')}`);
  }
  lines.push(`  payload     ${artifact.payload.bytes} bytes, sha256 ${artifact.payload.sha256}`);
  return lines;
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
    .option('--dir <dir>', `model registry directory (default: MODEL_DIR, else ${defaultModelDir()})`)
    .action(function (this: Command) {
      const { dir } = this.opts<{ dir?: string }>();
      const root = path.resolve(dir ?? defaultModelDir());
      // ModelRegistry creates its folders; looking must not, so a mistyped --dir is an error, not a new registry.
      if (!fs.existsSync(path.join(root, 'versions'))) {
        throw new Error(
          `no model registry at ${root} (the trainer creates it; choose another with --dir or MODEL_DIR)`,
        );
      }
      run(new ModelRegistry(root), this.processedArgs[0] as string | undefined);
    });
}

/** `pncf model list|show|verify|rollback`: operate the model registry the trainer publishes to. */
export function modelCommand(): Command {
  const command = new Command('model').description('list, show, verify and roll back model versions in the registry');
  registrySubcommand(command, 'list', 'versions on disk, the current one marked with *', (modelRegistry) => {
    const current = modelRegistry.currentVersion();
    for (const version of modelRegistry.list()) {
      console.log(`${version === current ? '*' : ' '} ${version}  ${summary(modelRegistry, version)}`);
    }
  });
  registrySubcommand(
    command,
    'show [version]',
    'one version in detail (default: the current one): kind (tower or history), shape, data, figures, gate',
    (modelRegistry, version) => {
      const target = version ?? modelRegistry.currentVersion();
      if (!target) throw new Error('no current model');
      for (const line of showVersion(modelRegistry, target)) console.log(line);
    },
  );
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
    .description('start a training run now (ignored while one is running); sends CONTROL_TOKEN when set')
    .option('--url <url>', 'trainer base URL', `http://127.0.0.1:${cliConfig().TRAINER_HTTP_PORT}`)
    .action(async (options: { url: string }) => {
      // The trainer's own variable: a trainer started with CONTROL_TOKEN requires it as a bearer token.
      const token = process.env.CONTROL_TOKEN;
      const response = await fetch(new URL('/train', options.url), {
        method: 'POST',
        ...(token ? { headers: { authorization: `Bearer ${token}` } } : {}),
      });
      if (!response.ok) throw new Error(`trainer answered ${response.status}: ${await response.text()}`);
      console.log(JSON.stringify(await response.json()));
    });
  return command;
}
