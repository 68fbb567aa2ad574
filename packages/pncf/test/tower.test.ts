import { Random } from '@pncf/data';
import { tfRuntime } from '@pncf/evaluation';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { adamStep, adamUpdate } from '../src/adam.js';
import { TowerInference } from '../src/inference.js';
import { TowerTrainer } from '../src/tower-trainer.js';
import { TowerKernel } from '../src/tower-wasm.js';
import { BATCH_NORM_EPSILON, initTower, type TowerWeights } from '../src/tower-weights.js';

beforeAll(async () => {
  await tfRuntime();
});

const dim = 4;
const rng = new Random(1);
const table = (rows: number) => new Float32Array(rows * dim).map(() => rng.next() * 2 - 1);

/** Eval-mode forward of one (user, item) pair in plain arrays, straight from the definition. */
function referenceScore(tower: TowerWeights, u: Float32Array, i: Float32Array): number {
  let h = Float32Array.from([...u, ...i]);
  for (const l of tower.layers) {
    const z = new Float32Array(l.outputs);
    for (let o = 0; o < l.outputs; o++) {
      let s = l.bias[o]!;
      for (let k = 0; k < l.inputs; k++) s += h[k]! * l.kernel[k * l.outputs + o]!;
      if (tower.batchNorm)
        s =
          ((s - l.runningMean[o]!) / Math.sqrt(l.runningVariance[o]! + BATCH_NORM_EPSILON)) * l.gamma[o]! + l.beta[o]!;
      z[o] = Math.max(0, s);
    }
    h = z;
  }
  let s = tower.outBias[0]!;
  for (let k = 0; k < h.length; k++) s += h[k]! * tower.outKernel[k]!;
  return 1 / (1 + Math.exp(-s));
}

describe('tower', () => {
  it.each([0, 0.5])(
    'hand-written dense, batch-norm and dropout (p = %s) gradients match TensorFlow.js autodiff',
    (dropout) => {
      const tower = initTower(dim, [8, 6], true, 3, 0.5);
      const users = table(5);
      const items = table(7);
      const trainer = new TowerTrainer(
        tower,
        users,
        items,
        { dropout, loss: 'mse', learningRate: 0.01, fineTuneEmbeddings: true },
        1,
      );
      // The step's dropout masks, kept to apply the same ones in the autodiff version.
      const kernel = (trainer as unknown as { kernel: TowerKernel }).kernel;
      const draw = kernel.mask.bind(kernel);
      const masks: Float32Array[] = [];
      kernel.mask = (...args) => {
        const mask = draw(...args);
        masks.push(mask.slice());
        return mask;
      };
      const u = Uint32Array.of(0, 1, 2, 3, 4, 0);
      const it = Uint32Array.of(0, 1, 2, 3, 4, 5);
      const y = Float32Array.of(1, 0, 1, 0, 0, 1);

      trainer.step(u, it, y);
      const after = trainer.weights().tower;
      expect(masks.length).toBe(dropout > 0 ? tower.layers.length : 0);

      // Same loss with built-in ops and the same masks, from the same start: one Adam step must move every weight
      // the way its gradient says.
      const x = tf.variable(
        tf.tensor2d(
          Array.from(u).flatMap((k, s) => [
            ...users.subarray(k * dim, k * dim + dim),
            ...items.subarray(it[s]! * dim, it[s]! * dim + dim),
          ]),
          [6, 2 * dim],
        ),
      );
      const vars = tower.layers.flatMap((l) => [
        tf.variable(tf.tensor2d(l.kernel, [l.inputs, l.outputs])),
        tf.variable(tf.tensor1d(l.bias)),
        tf.variable(tf.tensor1d(l.gamma)),
        tf.variable(tf.tensor1d(l.beta)),
      ]);
      const outK = tf.variable(tf.tensor2d(tower.outKernel, [6, 1]));
      const outB = tf.variable(tf.tensor1d(tower.outBias));
      const { grads } = tf.variableGrads(() => {
        let h: tf.Tensor = x;
        for (let k = 0; k < tower.layers.length; k++) {
          const [w, b, g, be] = vars.slice(4 * k, 4 * k + 4) as unknown as [
            tf.Tensor2D,
            tf.Tensor,
            tf.Tensor,
            tf.Tensor,
          ];
          const z = tf.add(tf.matMul(h as tf.Tensor2D, w), b);
          const { mean, variance } = tf.moments(z, 0);
          h = tf.relu(tf.add(tf.mul(tf.div(tf.sub(z, mean), tf.sqrt(tf.add(variance, BATCH_NORM_EPSILON))), g), be));
          if (dropout > 0) h = tf.mul(h, tf.tensor2d(masks[k]!, [6, tower.layers[k]!.outputs]));
        }
        return tf.mean(
          tf.squaredDifference(tf.sigmoid(tf.add(tf.matMul(h as tf.Tensor2D, outK), outB)), tf.tensor2d(y, [6, 1])),
        ) as tf.Scalar;
      });
      // Adam's first step moves each weight by lr·g/(|g|+ε) ≈ lr·sign(g): compare directions of the moves.
      tower.layers.forEach((l, k) => {
        const g = grads[vars[4 * k]!.name]!.dataSync();
        const moved = after.layers[k]!.kernel.map((w, j) => w - l.kernel[j]!);
        let agree = 0;
        let counted = 0;
        moved.forEach((m, j) => {
          if (Math.abs(g[j]!) > 1e-6) {
            counted++;
            if (Math.sign(m) === -Math.sign(g[j]!)) agree++;
          }
        });
        expect(agree, `layer ${k}`).toBe(counted);
        const gGamma = grads[vars[4 * k + 2]!.name]!.dataSync();
        after.layers[k]!.gamma.forEach((w, j) => {
          if (Math.abs(gGamma[j]!) > 1e-6) expect(Math.sign(w - l.gamma[j]!)).toBe(-Math.sign(gGamma[j]!));
        });
      });
      // Running statistics moved from (0, 1) towards the batch moments.
      expect(after.layers[0]!.runningMean.some((m) => m !== 0)).toBe(true);
      // Embeddings of the rows in the batch moved along their gradient (items: one sample each); rows not in the
      // batch did not.
      const w = trainer.weights();
      const gx = grads[x.name]!.dataSync();
      it.forEach((item, s) => {
        for (let c = 0; c < dim; c++) {
          const g = gx[s * 2 * dim + dim + c]!;
          const move = w.itemVectors[item * dim + c]! - items[item * dim + c]!;
          if (Math.abs(g) > 1e-6) expect(Math.sign(move), `item ${item}`).toBe(-Math.sign(g));
        }
      });
      expect(w.itemVectors.subarray(6 * dim)).toEqual(items.subarray(6 * dim));
      expect(w.itemVectors.subarray(0, dim)).not.toEqual(items.subarray(0, dim));
      trainer.dispose();
      tf.dispose([x, ...vars, outK, outB, ...Object.values(grads)]);
    },
  );

  it('learns a separable problem', () => {
    const users = table(20);
    const items = table(20);
    const trainer = new TowerTrainer(
      initTower(dim, [16, 8], true, 2),
      users,
      items,
      { dropout: 0, loss: 'bce', learningRate: 0.01, fineTuneEmbeddings: true },
      2,
    );
    // Label: user and item share parity.
    const u = new Uint32Array(400).map((_, k) => k % 20);
    const i = new Uint32Array(400).map((_, k) => Math.floor(k / 20));
    const y = new Float32Array(400).map((_, k) => ((u[k]! + i[k]!) % 2 === 0 ? 1 : 0));
    const first = trainer.step(u, i, y);
    let last = first;
    for (let s = 0; s < 300; s++) last = trainer.step(u, i, y);
    expect(last).toBeLessThan(first / 3);
    trainer.dispose();
  });

  it('inference (batch norm folded, first layer precomputed) equals the plain forward pass with batch norm', () => {
    const tower = initTower(dim, [8, 6], true, 5, 0.5);
    tower.layers.forEach((l) => {
      l.runningMean = l.runningMean.map(() => rng.next() - 0.5);
      l.runningVariance = l.runningVariance.map(() => 0.5 + rng.next());
      l.gamma = l.gamma.map(() => 0.5 + rng.next());
      l.beta = l.beta.map(() => rng.next() - 0.5);
    });
    const model = { numUsers: 9, numItems: 11, userVectors: table(9), itemVectors: table(11), tower };
    // A tiny pass size forces several blocks (full ranking) and several passes (candidate mode).
    const inference = TowerInference.fromModel(model, { maxPairsPerPass: 25 });
    const users = Uint32Array.of(8, 0, 3, 5, 1);
    const out = new Float32Array(users.length * 11);
    inference.scoreUsers(users, out);
    // Candidate mode: every (user, item) pair of the block, in another order.
    const pairRows = Uint32Array.from({ length: users.length * 11 }, (_, p) => p % users.length);
    const pairItems = Uint32Array.from({ length: users.length * 11 }, (_, p) => Math.floor(p / users.length));
    const pairs = inference.scorePairs(inference.userVectors(users), pairRows, pairItems);
    users.forEach((user, b) => {
      for (let item = 0; item < 11; item++) {
        const expected = referenceScore(
          tower,
          model.userVectors.subarray(user * dim, user * dim + dim),
          model.itemVectors.subarray(item * dim, item * dim + dim),
        );
        expect(out[b * 11 + item]).toBeCloseTo(expected, 5);
        expect(pairs[item * users.length + b]).toBeCloseTo(expected, 5);
      }
    });
    const seen = {
      rows: 9,
      cols: 11,
      indptr: Uint32Array.of(0, 2, 2, 2, 2, 2, 2, 2, 2, 2),
      indices: Uint32Array.of(3, 7),
      counts: Uint32Array.of(1, 1),
    };
    const top = inference.recommend(Uint32Array.of(0), 11, seen);
    expect(top.counts[0]).toBe(9);
    const ranked = Array.from(top.items.subarray(0, 9));
    expect(ranked).not.toContain(3);
    expect(ranked).not.toContain(7);
    const row = out.subarray(11, 22);
    expect(ranked).toEqual([...row.keys()].filter((j) => j !== 3 && j !== 7).sort((a, b) => row[b]! - row[a]!));
    inference.dispose();
  });
});

describe('TowerKernel (native/tower.c)', () => {
  it('draws dropout masks: each unit kept with probability keep, scaled by 1/keep, reproducibly from the seed', () => {
    const width = 7; // 7 × batch is not a multiple of the kernel's 8 per draw
    const batch = 28_571;
    const kernel = new TowerKernel(table(3), table(3), dim, [width, width], width);
    for (const keep of [0.8, 0.5]) {
      const mask = kernel.mask(0, batch, keep, 42).slice();
      expect(mask.length).toBe(batch * width);
      const kept = mask.filter((m) => m === Math.fround(1 / keep)).length;
      expect(mask.filter((m) => m === 0).length).toBe(mask.length - kept);
      expect(Math.abs(kept / mask.length - keep)).toBeLessThan(0.005);
      // Buffer.equals: vitest's deep equality takes seconds over 200,000 floats.
      const bytes = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
      expect(bytes(kernel.mask(1, batch, keep, 42)).equals(bytes(mask))).toBe(true);
      expect(bytes(kernel.mask(1, batch, keep, 43)).equals(bytes(mask))).toBe(false);
    }
  });

  it('gathers rows and applies lazy Adam to the touched rows only, duplicates summed, as adamUpdate does', () => {
    const users = table(6);
    const items = table(5);
    const kernel = new TowerKernel(users, items, dim, [], 3);
    const batchUsers = Uint32Array.of(4, 1, 4);
    const batchItems = Uint32Array.of(0, 2, 3);
    const input = kernel.gather(batchUsers, batchItems);
    batchUsers.forEach((u, s) => {
      expect(input.subarray(s * 2 * dim, s * 2 * dim + dim)).toEqual(users.subarray(u * dim, u * dim + dim));
      expect(input.subarray(s * 2 * dim + dim, (s + 1) * 2 * dim)).toEqual(
        items.subarray(batchItems[s]! * dim, batchItems[s]! * dim + dim),
      );
    });
    const gradient = new Float32Array(3 * 2 * dim).map(() => rng.next() - 0.5);
    const adam = adamStep(0.01, 1);
    kernel.updateEmbeddings(gradient, 3, 1, adam);
    // The same update in plain arrays: user 4 gets the sum of samples 0 and 2.
    const expected = users.slice();
    const acc = new Float32Array(users.length);
    batchUsers.forEach((u, s) => {
      for (let x = 0; x < dim; x++) acc[u * dim + x]! += gradient[s * 2 * dim + x]!;
    });
    const zeros = () => new Float32Array(users.length);
    for (const u of [4, 1]) adamUpdate(expected, acc, zeros(), zeros(), adam, u * dim, u * dim + dim);
    const updated = kernel.table(0);
    for (let x = 0; x < users.length; x++) expect(updated[x]).toBeCloseTo(expected[x]!, 6);
    expect(updated.subarray(0, dim)).toEqual(users.subarray(0, dim));
    expect(kernel.table(1).subarray(1 * dim, 2 * dim)).toEqual(items.subarray(1 * dim, 2 * dim));
  });

  it('computes the output layer and its gradients as plain loops do', () => {
    const width = 6; // not a multiple of 4: the kernel's scalar tail runs too
    const batch = 5;
    const kernel = new TowerKernel(table(2), table(2), dim, [], width);
    const h = new Float32Array(batch * width).map(() => rng.next() - 0.5);
    const w = new Float32Array(width).map(() => rng.next() - 0.5);
    const logits = kernel.outputLogits(h, batch, w, 0.25).slice();
    const dLogits = new Float32Array(batch).map(() => rng.next() - 0.5);
    const { kernel: dW, hidden: dH } = kernel.outputGradients(dLogits, batch, 2);
    for (let s = 0; s < batch; s++) {
      let z = 0.25;
      for (let x = 0; x < width; x++) {
        z += h[s * width + x]! * w[x]!;
        expect(dH[s * width + x]).toBeCloseTo(2 * dLogits[s]! * w[x]!, 6);
      }
      expect(logits[s]).toBeCloseTo(z, 6);
    }
    for (let x = 0; x < width; x++) {
      let g = 0;
      for (let s = 0; s < batch; s++) g += h[s * width + x]! * dLogits[s]!;
      expect(dW[x]).toBeCloseTo(g, 6);
    }
  });
});
