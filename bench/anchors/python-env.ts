import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { PythonPackage } from './types.js';

/**
 * Pinned versions of the other sides. PyPI's torch for Linux x86_64 is the CUDA build (its nvidia-* wheels come
 * along, a few GB; CPU-only wheels are not on PyPI): it runs on the CPU all the same.
 */
export const PINS: Record<PythonPackage, { requirement: string; version: string }> = {
  gensim: { requirement: 'gensim==4.4.0', version: '4.4.0' },
  torch: { requirement: 'torch==2.15.0', version: '2.15.0' },
};

export interface PythonEnv {
  /** The venv's interpreter, when the venv exists. */
  python?: string;
  venv: string;
  /** Per package: its version when importable at the pin, or why not. */
  packages: Partial<Record<PythonPackage, { version: string } | { skipped: string }>>;
}

export const anchorsVenv = (): string =>
  join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'pncf', 'anchors-venv');

function run(cmd: string, args: string[], timeoutSeconds: number): { ok: boolean; out: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: timeoutSeconds * 1000, maxBuffer: 64 << 20 });
  const out = `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? String(r.error) : ''}`.trim();
  return { ok: r.status === 0, out };
}

function installedVersion(python: string, pkg: PythonPackage): string | undefined {
  // Imported rather than only looked up in the metadata: a wheel that installs but cannot load counts as missing.
  const r = run(python, ['-c', `import ${pkg}; print(${pkg}.__version__)`], 120);
  return r.ok ? r.out.split('\n').at(-1)?.split('+')[0] : undefined;
}

const lastLine = (text: string): string => text.split('\n').filter(Boolean).at(-1) ?? '(no output)';

/**
 * Make sure the anchors venv exists and holds each needed package at its pin, installing what is missing
 * (unless `install` is false). Never throws: a package that cannot be had is reported as skipped, with the reason.
 */
export function preparePythonEnv(needs: Iterable<PythonPackage>, install: boolean): PythonEnv {
  const venv = anchorsVenv();
  const python = join(venv, 'bin', 'python');
  const env: PythonEnv = { venv, packages: {} };
  const wanted = [...new Set(needs)];
  if (wanted.length === 0) return env;
  if (!existsSync(python)) {
    const made = install ? run('python3', ['-m', 'venv', venv], 300) : { ok: false, out: 'install disabled' };
    if (!made.ok || !existsSync(python)) {
      for (const pkg of wanted) env.packages[pkg] = { skipped: `no venv at ${venv}: ${lastLine(made.out)}` };
      return env;
    }
  }
  env.python = python;
  for (const pkg of wanted) {
    const pin = PINS[pkg];
    let version = installedVersion(python, pkg);
    let reason = version === undefined ? 'not installed' : `version ${version}, pinned ${pin.version}`;
    if (version !== pin.version && install) {
      console.log(`anchors: pip install ${pin.requirement} into ${venv} ...`);
      const r = run(python, ['-m', 'pip', 'install', '--disable-pip-version-check', '-q', pin.requirement], 3600);
      version = installedVersion(python, pkg);
      if (!r.ok) reason = `pip install ${pin.requirement} failed: ${lastLine(r.out)}`;
    }
    env.packages[pkg] = version === pin.version ? { version } : { skipped: reason };
  }
  return env;
}
