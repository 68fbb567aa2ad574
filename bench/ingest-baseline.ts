/**
 * An earlier version of the ingester, run beside the current one in the same bench:ingest run (BASELINE_REF), so a
 * before/after pair shares the broker, the backlog's data and the machine's load of the moment.
 */
import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';

/**
 * `ref`'s tree (git archive) in `dir`, with a node_modules whose @pncf workspaces are that tree's own and whose other
 * packages are this checkout's (links), so no install is needed. Returns the commit.
 */
export function checkoutBaseline(repoRoot: string, ref: string, dir: string): string {
  const commit = execFileSync('git', ['rev-parse', `${ref}^{commit}`], { cwd: repoRoot, encoding: 'utf8' }).trim();
  fs.mkdirSync(dir, { recursive: true });
  const archive = path.join(dir, '..', `baseline-${commit}.tar`);
  execFileSync('git', ['archive', '--output', archive, commit], { cwd: repoRoot });
  execFileSync('tar', ['-xf', archive, '-C', dir]);
  fs.rmSync(archive);
  const modules = path.join(dir, 'node_modules');
  fs.mkdirSync(path.join(modules, '@pncf'), { recursive: true });
  for (const entry of fs.readdirSync(path.join(repoRoot, 'node_modules'))) {
    if (entry === '@pncf') continue;
    fs.symlinkSync(path.join(repoRoot, 'node_modules', entry), path.join(modules, entry));
  }
  const { workspaces } = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as {
    workspaces: string[];
  };
  for (const pattern of workspaces) {
    const folders = pattern.endsWith('/*')
      ? fs.readdirSync(path.join(dir, pattern.slice(0, -2))).map((name) => path.join(pattern.slice(0, -2), name))
      : [pattern];
    for (const folder of folders) {
      const manifest = path.join(dir, folder, 'package.json');
      if (!fs.existsSync(manifest)) continue;
      const { name } = JSON.parse(fs.readFileSync(manifest, 'utf8')) as { name: string };
      if (name.startsWith('@pncf/')) fs.symlinkSync(path.join(dir, folder), path.join(modules, name));
    }
  }
  return commit;
}

/**
 * The baseline's own bench:ingest, throughput with the changelog on only, over a backlog it replays itself (the same
 * generated events) to the same broker; answers what it wrote as throughput.changelogOn.
 */
export async function runBaselineThroughput(dir: string, brokers: string[], events: number): Promise<unknown> {
  const env = { ...process.env, KAFKA_BROKERS: brokers.join(','), EVENTS: String(events) };
  Object.assign(env, { CHANGELOG_ORDER: 'on', RATES: '' });
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'bench/ingest.ts'], {
    cwd: dir,
    env,
    maxBuffer: 1 << 24,
  });
  process.stdout.write(`${stdout.trimEnd().replace(/^/gm, '  [baseline] ')}\n`);
  const written = JSON.parse(fs.readFileSync(path.join(dir, 'bench', 'results', 'ingest.json'), 'utf8')) as {
    throughput: { changelogOn: unknown };
  };
  return written.throughput.changelogOn;
}
