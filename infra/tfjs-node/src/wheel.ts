import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

/**
 * The TensorFlow C library we build tfjs-node against. tfjs-node 4.22 expects libtensorflow 2.9.1, whose
 * download host is unreachable here; the tensorflow-cpu 2.12.1 wheel is the oldest on PyPI whose
 * libtensorflow_cc.so.2 exports the C and eager APIs without needing libpython (2.9/2.10 keep them in
 * _pywrap_tensorflow_internal.so). Pinned by URL and sha256; the Python tag does not matter, the library
 * does not load Python.
 */
export const tensorflowWheel = {
  version: '2.12.1',
  file: 'tensorflow_cpu-2.12.1-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl',
  url: 'https://files.pythonhosted.org/packages/4a/73/8b579ad1cc573d86021b26a734097da79bc513eb68529b19531958ee6f76/tensorflow_cpu-2.12.1-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl',
  sha256: '7ffb595707a8fb376deaddc768784c7a0242b16cbc6e06393b1733b2ce19f855',
  platform: 'linux',
  arch: 'x64',
} as const;

/** What the binding needs from the wheel: the two shared libraries, the C API headers, the licence. */
const wheelMembers = {
  libraries: ['tensorflow/libtensorflow_cc.so.2', 'tensorflow/libtensorflow_framework.so.2'],
  headerDirs: [
    'tensorflow/include/tensorflow/c/',
    'tensorflow/include/tensorflow/core/platform/',
    'tensorflow/include/tensorflow/tsl/c/',
    'tensorflow/include/tensorflow/tsl/platform/',
  ],
  license: 'tensorflow_cpu-2.12.1.dist-info/LICENSE',
};

export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(fs.createReadStream(file), hash);
  return hash.digest('hex');
}

/** Download the pinned wheel into cacheDir once; a file whose digest differs is never used. */
export async function ensureWheel(cacheDir: string, log: (line: string) => void): Promise<string> {
  const target = path.join(cacheDir, tensorflowWheel.file);
  if (fs.existsSync(target) && (await sha256File(target)) === tensorflowWheel.sha256) return target;
  fs.mkdirSync(cacheDir, { recursive: true });
  const partial = `${target}.part`;
  log(`downloading ${tensorflowWheel.file} (232 MB) from PyPI`);
  const response = await fetch(tensorflowWheel.url);
  if (!response.ok || !response.body) throw new Error(`PyPI answered ${response.status} for ${tensorflowWheel.url}`);
  await pipeline(
    Readable.fromWeb(response.body as import('node:stream/web').ReadableStream),
    fs.createWriteStream(partial),
  );
  const digest = await sha256File(partial);
  if (digest !== tensorflowWheel.sha256) {
    fs.rmSync(partial, { force: true });
    throw new Error(`sha256 of the downloaded wheel is ${digest}, expected ${tensorflowWheel.sha256}`);
  }
  fs.renameSync(partial, target);
  return target;
}

/**
 * Unpack the libraries, headers and licence into <cacheDir>/libtensorflow-<version>/{lib,include,LICENSE}
 * once (a stamp holds the wheel's digest). Python's zipfile does the unpacking: python3 is already required
 * by node-gyp, and a 232 MB zip is better streamed by it than held in memory by a JavaScript zip library.
 */
export function ensureLibtensorflow(wheel: string, cacheDir: string): string {
  const root = path.join(cacheDir, `libtensorflow-${tensorflowWheel.version}`);
  const stamp = path.join(root, '.wheel-sha256');
  if (fs.existsSync(stamp) && fs.readFileSync(stamp, 'utf8').trim() === tensorflowWheel.sha256) return root;
  fs.rmSync(root, { recursive: true, force: true });
  const script = `
import json, os, shutil, sys, zipfile
wheel, root, spec = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
def copy(z, name, dest):
    os.makedirs(os.path.dirname(dest), exist_ok=True)
    with z.open(name) as src, open(dest, 'wb') as out:
        shutil.copyfileobj(src, out, 1 << 20)
with zipfile.ZipFile(wheel) as z:
    names = z.namelist()
    for lib in spec['libraries']:
        copy(z, lib, os.path.join(root, 'lib', os.path.basename(lib)))
    for name in names:
        for prefix in spec['headerDirs']:
            if name.startswith(prefix) and not name.endswith('/'):
                copy(z, name, os.path.join(root, 'include', name[len('tensorflow/include/'):]))
    copy(z, spec['license'], os.path.join(root, 'LICENSE'))
`;
  const result = spawnSync('python3', ['-c', script, wheel, root, JSON.stringify(wheelMembers)], {
    encoding: 'utf8',
  });
  if (result.error || result.status !== 0) {
    throw new Error(`unpacking the wheel with python3 failed: ${result.error?.message ?? result.stderr.trim()}`);
  }
  fs.writeFileSync(stamp, `${tensorflowWheel.sha256}\n`);
  return root;
}
