/**
 * Which dense SPD inverse is fastest here for EASE: the plain-JS Float64 Cholesky (invertSpdCholesky) or the
 * blocked sweep whose matmuls run on TensorFlow.js (invertSpdSweep, backend picked by tfRuntime).
 *   npx tsx bench/experiment-ease-solve.ts [--full-js]
 * Random Gram-like matrices (XᵀX of sparse binary rows + λI) at growing n, then the real author-tag 5-core
 * Gram (n = 6,752) with the sweep (and with Cholesky too under --full-js: minutes). Writes
 * bench/results/experiment-ease-solve.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { protocolSplit, Random } from '@pncf/data';
import {
  cooccurrence,
  invertSpdCholesky,
  invertSpdSweep,
  loadDataset,
  sharedDataRoot,
  tfRuntime,
} from '@pncf/evaluation';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const fullJs = process.argv.includes('--full-js');
// The machine is shared: record how busy it was, since timings scale with it.
const loadBefore = loadavg();
const runtime = await tfRuntime((m) => console.log(m));
const { tf } = runtime;

const time = <T>(f: () => T): [T, number] => {
  const start = performance.now();
  const value = f();
  return [value, (performance.now() - start) / 1000];
};

function matmulGflops(n: number): number {
  const a = tf.randomNormal([n, n]);
  const b = tf.randomNormal([n, n]);
  tf.matMul(a, b).dispose();
  const [, s] = time(() => {
    const c = tf.matMul(a, b);
    c.dataSync();
    c.dispose();
  });
  a.dispose();
  b.dispose();
  return (2 * n ** 3) / s / 1e9;
}

function randomGram(n: number, seed: number): Float64Array {
  const rng = new Random(seed);
  const g = new Float64Array(n * n);
  for (let r = 0; r < 4 * n; r++) {
    const items = Array.from({ length: 12 }, () => Math.floor(rng.next() ** 2 * n));
    for (const i of items) for (const j of items) g[i * n + j]! += 1;
  }
  for (let i = 0; i < n; i++) g[i * n + i]! += 200;
  return g;
}

function maxRelativeDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let diff = 0;
  let scale = 0;
  for (let x = 0; x < a.length; x++) {
    diff = Math.max(diff, Math.abs(a[x]! - b[x]!));
    scale = Math.max(scale, Math.abs(a[x]!));
  }
  return diff / scale;
}

const gflops = { n1024: matmulGflops(1024), n2048: matmulGflops(2048) };
console.log(
  `tfjs ${runtime.backend} matmul: ${gflops.n1024.toFixed(1)} GFLOP/s (1024²), ${gflops.n2048.toFixed(1)} (2048²)`,
);
const rows: {
  n: number;
  choleskySeconds: number | null;
  sweepSeconds: number;
  maxRelativeDiff: number | null;
  source: string;
}[] = [];
for (const n of [500, 1000, 2000, 3000]) {
  const g = randomGram(n, n);
  const [exact, choleskySeconds] = time(() => invertSpdCholesky(g, n));
  const [swept, sweepSeconds] = time(() => invertSpdSweep(Float32Array.from(g), n, runtime));
  const rel = maxRelativeDiff(exact, swept);
  rows.push({ n, choleskySeconds, sweepSeconds, maxRelativeDiff: rel, source: 'random' });
  console.log(
    `n=${n}: Cholesky (JS, Float64) ${choleskySeconds.toFixed(2)} s, sweep (tfjs) ${sweepSeconds.toFixed(2)} s, max rel diff ${rel.toExponential(1)}`,
  );
}
const dataRoot = sharedDataRoot(ROOT);
if (dataRoot) {
  const { data } = loadDataset('author-tag', dataRoot);
  const { train } = protocolSplit(data, 1);
  const n = train.byUser.cols;
  const g = cooccurrence(train, Float64Array) as Float64Array;
  for (let i = 0; i < n; i++) g[i * n + i]! += 300;
  const [swept, sweepSeconds] = time(() => invertSpdSweep(Float32Array.from(g), n, runtime));
  let choleskySeconds: number | null = null;
  let rel: number | null = null;
  if (fullJs) {
    const [exact, s] = time(() => invertSpdCholesky(g, n));
    choleskySeconds = s;
    rel = maxRelativeDiff(exact, swept);
  }
  rows.push({
    n,
    choleskySeconds,
    sweepSeconds,
    maxRelativeDiff: rel,
    source: 'author-tag 5-core train, seed 1, λ=300',
  });
  console.log(
    `author-tag n=${n}: sweep ${sweepSeconds.toFixed(2)} s${choleskySeconds === null ? '' : `, Cholesky ${choleskySeconds.toFixed(2)} s, max rel diff ${rel!.toExponential(1)}`}`,
  );
}
mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
writeFileSync(
  join(ROOT, 'bench', 'results', 'experiment-ease-solve.json'),
  `${JSON.stringify({ backend: runtime.backend, matmulGflops: gflops, rows, loadAverage: { before: loadBefore, after: loadavg() }, measuredAt: new Date().toISOString() }, null, 2)}\n`,
);
