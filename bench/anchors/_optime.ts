import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tfRuntime } from '@pncf/evaluation';
import { initTower, TowerTrainer } from '@pncf/pncf';

const work = process.argv[2]!;
const meta = JSON.parse(readFileSync(join(work, 'meta.json'), 'utf8'));
const read = <T>(name: string, make: (b: ArrayBuffer) => T): T => {
  const bytes = readFileSync(join(work, name));
  return make(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
};
const users = read('users.u32', (b) => new Uint32Array(b));
const items = read('items.u32', (b) => new Uint32Array(b));
const labels = read('labels.f32', (b) => new Float32Array(b));
const uv = read('user-vectors.f32', (b) => new Float32Array(b));
const iv = read('item-vectors.f32', (b) => new Float32Array(b));
const runtime = await tfRuntime();
const be: any = runtime.tf.backend();
const times = new Map<string, [number, number]>();
for (const fn of ['executeMultipleOutputs', 'executeSingleOutput']) {
  const orig = be[fn].bind(be);
  be[fn] = (name: string, ...rest: any[]) => {
    const t = performance.now();
    const r = orig(name, ...rest);
    const d = performance.now() - t;
    const key = name + ' ' + (rest[1] ?? []).map((x: any) => x.shape.join('x')).join(',');
    const e = times.get(key) ?? [0, 0];
    e[0] += d;
    e[1]++;
    times.set(key, e);
    return r;
  };
}
for (const fn of ['readSync', 'makeTensorInfo', 'write']) {
  if (!be[fn]) continue;
  const orig = be[fn].bind(be);
  be[fn] = (...rest: unknown[]) => {
    const t = performance.now();
    const r = orig(...rest);
    const d = performance.now() - t;
    const e = times.get('#' + fn) ?? [0, 0];
    e[0] += d;
    e[1]++;
    times.set('#' + fn, e);
    return r;
  };
}
const trainer = new TowerTrainer(
  initTower(meta.dim, meta.hidden, meta.batchNorm, 1),
  uv,
  iv,
  { dropout: meta.dropout, loss: meta.loss, learningRate: meta.learningRate, fineTuneEmbeddings: true },
  1,
);
const n = users.length;
const started = performance.now();
let steps = 0;
for (let at = 0; at < n - 1; at += meta.batchSize) {
  const end = Math.min(n, at + meta.batchSize);
  trainer.step(users.subarray(at, end), items.subarray(at, end), labels.subarray(at, end));
  steps++;
}
const total = performance.now() - started;
console.log('total', total.toFixed(0), 'steps', steps);
for (const [k, [t, c]] of [...times].sort((a, b) => b[1][0] - a[1][0]))
  console.log(
    k.padEnd(28),
    t.toFixed(0).padStart(6),
    'ms',
    (c / steps).toFixed(1),
    '/step',
    ((t / c) * 1000).toFixed(0),
    'us each',
  );
