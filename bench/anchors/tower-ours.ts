/**
 * Our side of the tower anchor, in its own process so that TF_BACKEND picks the backend:
 *   TF_BACKEND=tensorflow tsx bench/anchors/tower-ours.ts WORK_DIR
 * Trains TowerTrainer for one epoch over the work directory's batches and prints one JSON line.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tfRuntime } from '@pncf/evaluation';
import { initTower, TowerTrainer } from '@pncf/pncf';

const work = process.argv[2]!;
const meta = JSON.parse(readFileSync(join(work, 'meta.json'), 'utf8')) as {
  dim: number;
  hidden: number[];
  batchNorm: boolean;
  dropout: number;
  loss: 'bce' | 'mse';
  learningRate: number;
  batchSize: number;
};
const read = <T>(name: string, make: (b: ArrayBuffer) => T): T => {
  const bytes = readFileSync(join(work, name));
  return make(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
};
const users = read('users.u32', (b) => new Uint32Array(b));
const items = read('items.u32', (b) => new Uint32Array(b));
const labels = read('labels.f32', (b) => new Float32Array(b));
const userVectors = read('user-vectors.f32', (b) => new Float32Array(b));
const itemVectors = read('item-vectors.f32', (b) => new Float32Array(b));

const runtime = await tfRuntime();
const trainer = new TowerTrainer(
  initTower(meta.dim, meta.hidden, meta.batchNorm, 1),
  userVectors,
  itemVectors,
  { dropout: meta.dropout, loss: meta.loss, learningRate: meta.learningRate, fineTuneEmbeddings: true },
  1,
);
const n = users.length;
let last = 0;
const started = performance.now();
for (let at = 0; at < n - 1; at += meta.batchSize) {
  const end = Math.min(n, at + meta.batchSize);
  last = trainer.step(users.subarray(at, end), items.subarray(at, end), labels.subarray(at, end));
}
const seconds = (performance.now() - started) / 1000;
// Backend ops of one more step (after the timed epoch): what a step costs in native calls.
const profile = await runtime.tf.profile(() => {
  trainer.step(
    users.subarray(0, meta.batchSize),
    items.subarray(0, meta.batchSize),
    labels.subarray(0, meta.batchSize),
  );
});
console.log(
  JSON.stringify({
    seconds,
    samples: n,
    backend: runtime.backend,
    finalLoss: last,
    kernelsPerStep: profile.kernels.length,
  }),
);
