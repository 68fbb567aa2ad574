import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ensureLibtensorflow, ensureWheel, tensorflowWheel } from './wheel.js';

export interface SetupOptions {
  repoRoot: string;
  /** Holds the wheel, the unpacked library and compiled bindings; shared by checkouts of the same user. */
  cacheDir: string;
  log: (line: string) => void;
  /** Rebuild the binding even when a cached one exists. */
  rebuild?: boolean;
}

export type SetupResult =
  | { status: 'ready'; how: 'already-installed' | 'cached-binding' | 'built'; tensorflow: string; seconds: number }
  | { status: 'skipped'; reason: string };

export interface Probe {
  ok: boolean;
  tensorflow?: string;
  detail: string;
}

/** The version tfjs-node's install script checks for; it downloads nothing when this file exists. */
const expectedLibrary = 'libtensorflow.so.2.9.1';

/**
 * Load tfjs-node in a child process (a failed native load can abort the process) and run one matMul on
 * the `tensorflow` backend.
 */
export function probeTfjsNode(repoRoot: string): Probe {
  const script = `
    const tf = await import('@tensorflow/tfjs-node');
    const product = tf.matMul(tf.tensor2d([[1, 2], [3, 4]]), tf.tensor2d([[5], [6]])).dataSync();
    if (tf.getBackend() !== 'tensorflow' || product[0] !== 17 || product[1] !== 39) throw new Error('wrong result');
    console.log(JSON.stringify({ tensorflow: String(tf.backend().binding?.TF_Version ?? '') }));
  `;
  const result = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    cwd: repoRoot,
    encoding: 'utf8',
    env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '2' },
    timeout: 120_000,
  });
  if (result.status === 0) {
    const line = result.stdout.trim().split('\n').pop() ?? '{}';
    return { ok: true, tensorflow: (JSON.parse(line) as { tensorflow: string }).tensorflow, detail: 'loaded' };
  }
  const detail = (result.stderr || result.error?.message || '').trim().split('\n').slice(-3).join(' | ');
  return { ok: false, detail };
}

function run(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv, log: (line: string) => void) {
  log(`$ ${command} ${args.join(' ')}`);
  const result = spawnSync(command, args, { cwd, env, stdio: ['ignore', 'inherit', 'inherit'] });
  if (result.error || result.status !== 0) {
    throw new Error(`${command} ${args.join(' ')} failed (${result.error?.message ?? `exit ${result.status}`})`);
  }
}

/** Node's headers for node-gyp, so it does not try to download them. */
function nodeHeadersDir(): string {
  const prefix = path.resolve(path.dirname(process.execPath), '..');
  if (!fs.existsSync(path.join(prefix, 'include', 'node', 'common.gypi'))) {
    throw new Error(
      `Node's headers are not under ${prefix}/include/node; node-gyp would download them. Install Node with its headers.`,
    );
  }
  return prefix;
}

/** node-pre-gyp names the folder after the highest N-API version both Node and the package support. */
function findBinding(packageDir: string): string | undefined {
  const lib = path.join(packageDir, 'lib');
  if (!fs.existsSync(lib)) return undefined;
  const folder = fs
    .readdirSync(lib)
    .filter((name) => /^napi-v\d+$/.test(name) && fs.existsSync(path.join(lib, name, 'tfjs_binding.node')))
    .sort((a, b) => Number(b.slice(6)) - Number(a.slice(6)))[0];
  return folder === undefined ? undefined : path.join(lib, folder, 'tfjs_binding.node');
}

/** Place the unpacked library where tfjs-node's binding.gyp and its runtime path ($ORIGIN/../../deps/lib) look. */
function stageDeps(libtensorflow: string, packageDir: string): void {
  const deps = path.join(packageDir, 'deps');
  fs.rmSync(deps, { recursive: true, force: true });
  fs.mkdirSync(path.join(deps, 'lib'), { recursive: true });
  for (const name of ['libtensorflow_cc.so.2', 'libtensorflow_framework.so.2']) {
    const source = path.join(libtensorflow, 'lib', name);
    const target = path.join(deps, 'lib', name);
    try {
      fs.linkSync(source, target); // 580 MB: a hard link when the cache is on the same file system
    } catch {
      fs.copyFileSync(source, target);
    }
  }
  for (const [link, target] of [
    [expectedLibrary, 'libtensorflow_cc.so.2'],
    ['libtensorflow.so', 'libtensorflow_cc.so.2'],
    ['libtensorflow.so.2', 'libtensorflow_cc.so.2'],
    ['libtensorflow_framework.so', 'libtensorflow_framework.so.2'],
  ] as const) {
    fs.symlinkSync(target, path.join(deps, 'lib', link));
  }
  fs.cpSync(path.join(libtensorflow, 'include'), path.join(deps, 'include'), { recursive: true });
  fs.copyFileSync(path.join(libtensorflow, 'LICENSE'), path.join(deps, 'LICENSE'));
}

/**
 * Make `import('@tensorflow/tfjs-node')` work: restore the package if npm dropped it (its own install script
 * fails without its download host, and npm removes a failed optional dependency), stage TensorFlow's C
 * library from the pinned wheel, then reuse a cached binding or compile one. Throws with the reason when a
 * step cannot be done; the caller decides whether that is fatal (the wasm backend remains).
 */
export async function setupTfjsNode(options: SetupOptions): Promise<SetupResult> {
  const { repoRoot, cacheDir, log } = options;
  const started = Date.now();
  const seconds = () => Math.round((Date.now() - started) / 100) / 10;
  if (os.platform() !== tensorflowWheel.platform || os.arch() !== tensorflowWheel.arch) {
    return { status: 'skipped', reason: `no pinned TensorFlow build for ${os.platform()}-${os.arch()}` };
  }
  const packageDir = path.join(repoRoot, 'node_modules', '@tensorflow', 'tfjs-node');
  if (!options.rebuild && fs.existsSync(packageDir)) {
    const probe = probeTfjsNode(repoRoot);
    if (probe.ok)
      return { status: 'ready', how: 'already-installed', tensorflow: probe.tensorflow ?? '', seconds: seconds() };
  }
  if (!fs.existsSync(path.join(packageDir, 'package.json'))) {
    // Reinstalls what package-lock.json pins (integrity-checked) without running the failing download script.
    run('npm', ['install', '--ignore-scripts', '--no-save', '--no-audit', '--no-fund'], repoRoot, process.env, log);
    if (!fs.existsSync(path.join(packageDir, 'package.json'))) {
      throw new Error('@tensorflow/tfjs-node is not in package-lock.json (optional dependency of @pncf/evaluation)');
    }
  }
  const tfjsNodeVersion = (
    JSON.parse(fs.readFileSync(path.join(packageDir, 'package.json'), 'utf8')) as { version: string }
  ).version;
  const wheel = await ensureWheel(cacheDir, log);
  const libtensorflow = ensureLibtensorflow(wheel, cacheDir);
  stageDeps(libtensorflow, packageDir);

  const key = createHash('sha256')
    .update(`${tensorflowWheel.sha256} tfjs-node ${tfjsNodeVersion} napi ${process.versions.napi}`)
    .digest('hex')
    .slice(0, 16);
  // The cache mirrors the package's lib/ folder, so the restored binding lands where node-pre-gyp looks.
  const cachedLib = path.join(cacheDir, `tfjs-binding-${key}`, 'lib');
  if (!options.rebuild && fs.existsSync(cachedLib)) {
    fs.cpSync(cachedLib, path.join(packageDir, 'lib'), { recursive: true });
    const probe = probeTfjsNode(repoRoot);
    if (probe.ok)
      return { status: 'ready', how: 'cached-binding', tensorflow: probe.tensorflow ?? '', seconds: seconds() };
    log(`the cached binding does not load (${probe.detail}); compiling`);
  }

  log(`compiling the tfjs-node binding against TensorFlow ${tensorflowWheel.version} (a few minutes)`);
  run(
    'npm',
    ['rebuild', '@tensorflow/tfjs-node', '--foreground-scripts'],
    repoRoot,
    {
      ...process.env,
      // node-pre-gyp reads these itself; npm 11 only warns about build-from-source as an npm config.
      npm_config_build_from_source: 'true',
      npm_config_nodedir: nodeHeadersDir(),
      JOBS: String(Math.max(1, os.availableParallelism())),
    },
    log,
  );
  const binding = findBinding(packageDir);
  if (binding === undefined) throw new Error('the build produced no lib/napi-v*/tfjs_binding.node');
  const probe = probeTfjsNode(repoRoot);
  if (!probe.ok) throw new Error(`the freshly built binding does not load: ${probe.detail}`);
  const cachedBinding = path.join(cachedLib, path.relative(path.join(packageDir, 'lib'), binding));
  fs.mkdirSync(path.dirname(cachedBinding), { recursive: true });
  fs.copyFileSync(binding, cachedBinding);
  return { status: 'ready', how: 'built', tensorflow: probe.tensorflow ?? '', seconds: seconds() };
}
