/**
 * A file of events sent to a topic by `pncf replay` in its own process, as a user would: the benches' one way to
 * fill the interactions topic. Returns replay's summary line, naming the file relative to the repository (or by
 * its name alone when it lies outside the repository's folder, e.g. a generated scratch file), so results name no
 * path of the machine that ran them.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export interface ReplayOptions {
  file: string;
  format: 'ml-100k' | 'ml-1m' | 'author-tag' | 'generic';
  topic: string;
  brokers: string[];
  partitions?: number;
  rate?: number;
  limit?: number;
}

export async function replayFile(options: ReplayOptions): Promise<string> {
  const file = path.resolve(options.file);
  const args = ['--import', 'tsx', path.join(repoRoot, 'packages/cli/src/main.ts'), 'replay', '--file', file];
  args.push('--format', options.format, '--topic', options.topic, '--brokers', options.brokers.join(','));
  if (options.partitions) args.push('--partitions', String(options.partitions));
  if (options.rate) args.push('--rate', String(options.rate));
  if (options.limit) args.push('--limit', String(options.limit));
  const { stdout } = await promisify(execFile)(process.execPath, args, { cwd: repoRoot, maxBuffer: 1 << 24 });
  const line = stdout.trim().split('\n').at(-1) ?? '';
  const shown = file.startsWith(path.dirname(repoRoot) + path.sep)
    ? path.relative(repoRoot, file)
    : path.basename(file);
  return line.replaceAll(file, shown);
}
