import { type Interactions, splitPerUser } from '@pncf/data';
import { evaluateModel, runExperiment, testUsers } from '@pncf/evaluation';
import { describe, expect, it } from 'vitest';
import { defaultPreset, type PncfConfig } from '../src/config.js';
import { fitPncf, isHistoryModel, type PncfFit, type PncfFitOptions, type TrainedModel } from '../src/fit.js';
import type { PncfModel } from '../src/inference.js';
import { PncfRecommender } from '../src/pncf.js';
import { validationRecall } from '../src/train-tower.js';
import { clusteredData, groupOfItem } from './fixtures.js';

/** The tower model of a tower config's fit. */
function towerModel(model: TrainedModel): PncfModel {
  if (isHistoryModel(model)) throw new Error('expected a tower model');
  return model;
}

const small: PncfConfig = {
  ...defaultPreset,
  userWord2Vec: { ...defaultPreset.userWord2Vec, dim: 8, threads: 1, epochs: 10 },
  itemWord2Vec: { ...defaultPreset.itemWord2Vec, dim: 8, threads: 1, epochs: 10 },
  tower: {
    ...defaultPreset.tower,
    hidden: [32, 16],
    batchSize: 256,
    epochs: 8,
    patience: 3,
    dropout: 0.1,
    learningRate: 0.005,
    validationUsers: 100,
  },
};

/** Fraction of each user's top 5 unseen items that come from the user's own community. */
function sameGroupShare(
  model: PncfRecommender,
  users: number,
  items: number,
  seen: (u: number, i: number) => boolean,
): number {
  const out = new Float32Array(users * items);
  model.scoreUsers(
    Uint32Array.from({ length: users }, (_, k) => k),
    out,
  );
  let same = 0;
  for (let u = 0; u < users; u++) {
    const ranked = [...Array(items).keys()]
      .filter((i) => !seen(u, i))
      .sort((a, b) => out[u * items + b]! - out[u * items + a]!);
    for (const i of ranked.slice(0, 5)) if (groupOfItem(i) === u % 2) same++;
  }
  return same / (users * 5);
}

describe('PNCF recommender', () => {
  const data = clusteredData();
  const { train, test } = splitPerUser(data, 0.2, 1);
  const seen = (u: number, i: number) =>
    train.byUser.indices.subarray(train.byUser.indptr[u]!, train.byUser.indptr[u + 1]!).includes(i);

  it('PNCF: pre-trains, fine-tunes with early stopping on validation, and ranks the own community first', async () => {
    const model = new PncfRecommender(small);
    expect(model.usesValidation).toBe(true);
    const progress: number[] = [];
    const options = { seed: 3, validation: test };
    const fit = await model.fit(train, { ...options, onProgress: (f) => progress.push(f) });
    expect(fit.report.history.length).toBeGreaterThan(0);
    expect(fit.report.history.every((h) => h.validationRecall !== undefined)).toBe(true);
    expect(fit.report.pretrainPairsPerSecond).toBeGreaterThan(0);
    expect(fit.warmStarted).toEqual({ embeddings: false, tower: false });
    expect(progress.at(-1)).toBeGreaterThan(0);
    expect(sameGroupShare(model, 60, 40, seen)).toBeGreaterThan(0.8);
    // Scoring on two threads (a constructor option) gives the same scores as on one, for the same seeded fit.
    const users = Uint32Array.from({ length: 60 }, (_, k) => k);
    const one = new Float32Array(60 * 40);
    await model.scoreUsers(users, one);
    model.dispose();
    const onTwo = new PncfRecommender(small, { scoringThreads: 2 });
    await onTwo.fit(train, options);
    const two = new Float32Array(60 * 40);
    await onTwo.scoreUsers(users, two);
    expect(two).toEqual(one);
    onTwo.dispose();
  });

  it('a fit warm-started from an earlier one continues its tables, matching rows by id when users are added', async () => {
    const config = { ...small, tower: { ...small.tower, epochs: 1, patience: 0 } };
    const earlier = await fitPncf(train, config, { seed: 1 });
    const first = earlier.pretrained!;
    // The same data with one extra user (no interactions) placed first: every old row moves down by one.
    const shifted = { ...train, userIds: ['new-user', ...train.userIds] };
    shifted.byUser = {
      ...train.byUser,
      rows: train.byUser.rows + 1,
      indptr: Uint32Array.from([0, ...train.byUser.indptr]),
    };
    shifted.byItem = { ...train.byItem, cols: train.byItem.cols + 1, indices: train.byItem.indices.map((u) => u + 1) };
    const warm = await fitPncf(shifted, config, {
      seed: 2,
      warmStart: { embeddings: first, tower: towerModel(earlier.model).tower },
    });
    expect(warm.warmStarted).toEqual({ embeddings: true, tower: true });
    const second = warm.pretrained!;
    expect(second.users.vocabSize).toBe(first.users.vocabSize + 1);
    expect(second.userIds[0]).toBe('new-user');
    // Continued training moves vectors, but old rows stay much closer to their previous vectors than the
    // vectors of a cold fit on the same data do.
    const cold = await fitPncf(shifted, config, { seed: 2 });
    expect(cold.warmStarted).toEqual({ embeddings: false, tower: false });
    const d = second.users.dim;
    const distance = (after: Float32Array) => {
      let sum = 0;
      for (let u = 0; u < first.users.vocabSize; u++) {
        for (let x = 0; x < d; x++) sum += Math.abs(after[(u + 1) * d + x]! - first.users.vectors[u * d + x]!);
      }
      return sum;
    };
    expect(distance(second.users.vectors)).toBeLessThan(distance(cold.pretrained!.users.vectors) * 0.75);
    // A tower of another shape is not continued from; the embeddings still are.
    const otherShape = await fitPncf(
      shifted,
      { ...config, tower: { ...config.tower, hidden: [16] } },
      {
        seed: 2,
        warmStart: { embeddings: first, tower: towerModel(earlier.model).tower },
      },
    );
    expect(otherShape.warmStarted).toEqual({ embeddings: true, tower: false });
    // Tables offered but not used say so: NPNCF does not pre-train, and tables that know none of the ids
    // continue nothing (the fit is the cold one).
    const npncf = await fitPncf(train, { ...config, pretrain: false }, { seed: 2, warmStart: { embeddings: first } });
    expect(npncf.warmStarted).toEqual({ embeddings: false, tower: false });
    const strangers = {
      ...first,
      userIds: first.userIds.map((id) => `other-${id}`),
      itemIds: first.itemIds.map((id) => `other-${id}`),
    };
    const unrelated = await fitPncf(shifted, config, { seed: 2, warmStart: { embeddings: strangers } });
    expect(unrelated.warmStarted).toEqual({ embeddings: false, tower: false });
    expect(unrelated.pretrained!.users.vectors).toEqual(cold.pretrained!.users.vectors);
  });

  it('without early stopping (patience 0, the reference preset) it trains every epoch and returns the last, never choosing on validation', async () => {
    const config = { ...small, tower: { ...small.tower, dropout: 0, epochs: 3, patience: 0 } };
    const model = new PncfRecommender(config);
    // The harness fits such a model on all of train (validation included) and hands it no validation part.
    expect(model.usesValidation).toBe(false);
    // Handed one anyway, on data it trains on (every validation recall would be 0, and epoch 0 would be chosen):
    const withValidation = await model.fit(data, { seed: 4, validation: test });
    model.dispose();
    expect(withValidation.report.history.map((h) => h.epoch)).toEqual([0, 1, 2]);
    expect(withValidation.report.history.every((h) => h.validationRecall === undefined)).toBe(true);
    expect(withValidation.report.bestEpoch).toBe(2);
    // It is ignored: the same fit as without it, i.e. the last epoch's tower.
    const without = await fitPncf(data, config, { seed: 4 });
    expect(towerModel(withValidation.model).tower.outKernel).toEqual(towerModel(without.model).tower.outKernel);
    expect(withValidation.model.userVectors).toEqual(without.model.userVectors);
  });

  it('through the experiment runner, a patience-0 model trains all its epochs on all of train', async () => {
    const config = { ...small, tower: { ...small.tower, epochs: 3, patience: 0 } };
    const fits: PncfFit[] = [];
    const fitPairs: number[] = [];
    class Recording extends PncfRecommender {
      override async fit(train: Interactions, options?: PncfFitOptions): Promise<PncfFit> {
        expect(options?.validation).toBeUndefined();
        fitPairs.push(train.byUser.indices.length);
        const fit = await super.fit(train, options);
        fits.push(fit);
        return fit;
      }
    }
    const result = await runExperiment({
      data: { kind: 'dataset', name: 'clustered', data, core: 1 },
      models: { reference: () => new Recording(config) },
      seeds: [1],
      ks: [5],
    });
    expect(fitPairs).toEqual(result.stats.trainPairs);
    expect(fits[0]!.report.history.length).toBe(3);
    expect(fits[0]!.report.bestEpoch).toBe(2);
  });

  it("early stopping's validation recall is the harness's Recall@K (evaluateModel, MetricAccumulator)", async () => {
    const config = { ...small, tower: { ...small.tower, epochs: 1, patience: 0 } };
    const model = new PncfRecommender(config);
    const fit = await model.fit(train, { seed: 2 });
    const users = testUsers(test);
    // K = 1 < |validation items| = 2 per user: standard recall divides by 2, not by min(K, 2).
    for (const k of [1, 5]) {
      const harness = await evaluateModel(model, train, test, { ks: [k] });
      expect(validationRecall(towerModel(fit.model), train, test, k, users)).toBe(harness.metrics.recall[0]);
    }
    model.dispose();
  });

  it('NPNCF (random embeddings) runs the same tower without pre-training', async () => {
    const model = new PncfRecommender({ ...small, pretrain: false });
    expect(model.name).toBe('NPNCF');
    const fit = await model.fit(train, { seed: 3, validation: test });
    expect(fit.report.seconds.pretrain).toBe(0);
    expect(fit.pretrained).toBeUndefined();
    const out = new Float32Array(40);
    model.scoreUsers(Uint32Array.of(0), out);
    expect(out.every((s) => s > 0 && s < 1)).toBe(true);
    model.dispose();
  });

  it('a seeded fit with single-threaded pre-training is reproducible', async () => {
    const config = { ...small, tower: { ...small.tower, dropout: 0, epochs: 2, patience: 0 } };
    const a = await fitPncf(train, config, { seed: 5 });
    const b = await fitPncf(train, config, { seed: 5 });
    expect(towerModel(a.model).itemVectors).toEqual(towerModel(b.model).itemVectors);
    expect(towerModel(a.model).tower.layers[0]!.kernel).toEqual(towerModel(b.model).tower.layers[0]!.kernel);
  });
});
