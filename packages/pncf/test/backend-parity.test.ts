import { Random } from '@pncf/data';
import { tfRuntime } from '@pncf/evaluation';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { HISTORY_DEFAULTS } from '../src/config.js';
import { HistoryInference } from '../src/history-inference.js';
import { TowerInference } from '../src/inference.js';
import { TowerTrainer } from '../src/tower-trainer.js';
import { initTower } from '../src/tower-weights.js';
import { initHistoryModel, trainHistoryModel } from '../src/train-history.js';
import { clusteredData } from './fixtures.js';

/**
 * The same training steps and scores on the wasm backend and on tfjs-node, in one process (tf.setBackend moves
 * nothing the code under test holds: every step starts from plain arrays). Needs tfjs-node, which
 * `npm run tfjs-node:setup` builds (CI makes it fail loudly when it cannot); without it this file is skipped
 * and says why.
 */
const nodeBackend = '@tensorflow/tfjs-node';
let nativeMissing: string | undefined;
try {
  await tfRuntime(() => {}, 'wasm'); // registers the wasm backend and its extra kernel first
  process.env.TF_CPP_MIN_LOG_LEVEL ??= '2';
  await import(/* @vite-ignore */ nodeBackend);
} catch (error) {
  nativeMissing = error instanceof Error ? error.message.split('\n')[0] : String(error);
}
if (nativeMissing) console.warn(`backend parity skipped: tfjs-node does not load (${nativeMissing})`);

async function onEach<T>(run: () => T | Promise<T>): Promise<Record<'wasm' | 'tensorflow', T>> {
  const out = {} as Record<'wasm' | 'tensorflow', T>;
  for (const name of ['wasm', 'tensorflow'] as const) {
    expect(await tf.setBackend(name)).toBe(true);
    out[name] = await run();
  }
  return out;
}

function expectClose(a: ArrayLike<number>, b: ArrayLike<number>, tolerance: number): void {
  expect(a.length).toBe(b.length);
  let worst = 0;
  for (let k = 0; k < a.length; k++) worst = Math.max(worst, Math.abs(a[k]! - b[k]!) / (1 + Math.abs(a[k]!)));
  expect(worst).toBeLessThan(tolerance);
}

describe.skipIf(nativeMissing !== undefined)('wasm and tfjs-node agree', () => {
  const dim = 8;
  const rng = new Random(7);
  const table = (rows: number) => Float32Array.from({ length: rows * dim }, () => rng.next() * 2 - 1);
  const users = table(30);
  const items = table(50);

  beforeAll(() => {
    expect(tf.engine().registryFactory.tensorflow).toBeDefined();
  });

  it('tower training steps (batch norm, dropout off, fine-tuned embeddings) land on the same weights', async () => {
    const batch = Uint32Array.from({ length: 64 }, (_, s) => s % 30);
    const batchItems = Uint32Array.from({ length: 64 }, (_, s) => (s * 7) % 50);
    const labels = Float32Array.from({ length: 64 }, (_, s) => s % 2);
    for (const loss of ['bce', 'mse'] as const) {
      const result = await onEach(() => {
        const trainer = new TowerTrainer(
          initTower(dim, [16, 8], loss === 'mse', 3, 0.5),
          users,
          items,
          { dropout: 0, loss, learningRate: 0.01, fineTuneEmbeddings: true },
          1,
        );
        const losses = [0, 1, 2].map(() => trainer.step(batch, batchItems, labels));
        const weights = trainer.weights();
        trainer.dispose();
        return { losses, weights };
      });
      expectClose(result.wasm.losses, result.tensorflow.losses, 1e-4);
      expectClose(result.wasm.weights.userVectors, result.tensorflow.weights.userVectors, 1e-4);
      result.wasm.weights.tower.layers.forEach((layer, k) => {
        const other = result.tensorflow.weights.tower.layers[k]!;
        expectClose(layer.kernel, other.kernel, 1e-4);
        expectClose(layer.runningVariance, other.runningVariance, 1e-4);
      });
    }
  });

  it('tower full ranking and candidate scores agree', async () => {
    const tower = initTower(dim, [16, 8], true, 4, 0.5);
    const model = { numUsers: 30, numItems: 50, userVectors: users, itemVectors: items, tower };
    const asked = Uint32Array.of(0, 3, 29, 11);
    const result = await onEach(() => {
      const inference = TowerInference.fromModel(model, { maxPairsPerPass: 64 });
      const full = new Float32Array(asked.length * 50);
      inference.scoreUsers(asked, full);
      const pairs = inference.scorePairs(
        inference.userVectors(asked),
        Uint32Array.of(0, 1, 2, 3),
        Uint32Array.of(5, 6, 7, 8),
      );
      const top = inference.recommend(asked, 5);
      inference.dispose();
      return { full, pairs, top };
    });
    expectClose(result.wasm.full, result.tensorflow.full, 1e-5);
    expectClose(result.wasm.pairs, result.tensorflow.pairs, 1e-5);
    expect(result.wasm.top.items).toEqual(result.tensorflow.top.items);
  });

  it('PNCF+ history training and ranking agree', async () => {
    const data = clusteredData(20, 10, 4, 3);
    const d = 4;
    const start = initHistoryModel(
      {
        userVectors: Float32Array.from({ length: data.byUser.rows * d }, (_, k) => ((k % 9) - 4) / 9),
        itemInput: Float32Array.from({ length: data.byUser.cols * d }, (_, k) => (k % 7) / 7),
        itemOutput: Float32Array.from({ length: data.byUser.cols * d }, (_, k) => ((k % 5) - 2) / 5),
        dim: d,
      },
      data.byUser.rows,
      data.byUser.cols,
    );
    const result = await onEach(async () => {
      // Dropout off: the two backends draw different masks from the same seed.
      const { model, history } = await trainHistoryModel(
        data,
        start,
        { ...HISTORY_DEFAULTS, epochs: 2, dropout: 0, batchSize: 16 },
        1,
      );
      const inference = new HistoryInference(model);
      const vectors = inference.userVectors(Uint32Array.of(0, 1, 2), data.byUser);
      const scores = new Float32Array(3 * model.numItems);
      inference.scoreVectors(vectors, scores);
      inference.dispose();
      return { itemOutput: model.itemOutput, losses: history.map((h) => h.loss), scores };
    });
    expectClose(result.wasm.itemOutput, result.tensorflow.itemOutput, 1e-4);
    expectClose(result.wasm.scores, result.tensorflow.scores, 1e-4);
  });
});
