import { type Interactions, selectRows, splitPerUser } from '@pncf/data';
import { tfRuntime } from '@pncf/evaluation';
import { beforeAll, describe, expect, it } from 'vitest';
import { defaultPreset, HISTORY_DEFAULTS, type PncfConfig, parsePncfConfig, resolvePncfConfig } from '../src/config.js';
import { fitPncf, isHistoryModel, type TrainedModel } from '../src/fit.js';
import { HistoryInference } from '../src/history-inference.js';
import { type HistoryModel, historyUserVectors, NO_USER, warmStartHistoryModel } from '../src/history-model.js';
import { PncfRecommender } from '../src/pncf.js';
import { initHistoryModel, trainHistoryModel } from '../src/train-history.js';
import { clusteredData, groupOfItem } from './fixtures.js';

const plus: PncfConfig = {
  ...defaultPreset,
  scorer: 'history',
  userWord2Vec: { ...defaultPreset.userWord2Vec, dim: 8, threads: 1, epochs: 5 },
  itemWord2Vec: { ...defaultPreset.itemWord2Vec, dim: 8, threads: 1, epochs: 5 },
  history: { ...HISTORY_DEFAULTS, epochs: 30, batchSize: 16, learningRate: 0.01 },
};

function historyOf(model: TrainedModel): HistoryModel {
  if (!isHistoryModel(model)) throw new Error('expected a history model');
  return model;
}

/** A 2-d model small enough to check by hand. */
function handModel(): HistoryModel {
  return {
    kind: 'history',
    numUsers: 2,
    numItems: 3,
    dim: 2,
    itemInput: Float32Array.of(1, 0, 0, 1, 2, 2),
    historyKernel: Float32Array.of(1, 0, 0, 2), // doubles the second coordinate
    userVectors: Float32Array.of(0, 0, 1, 1),
    userKernel: Float32Array.of(0, 1, 1, 0), // swaps the coordinates
    itemOutput: Float32Array.of(1, 0, 0, 1, 1, 1),
    itemBias: Float32Array.of(0, 0.5, -1),
  };
}

describe('PNCF+ history model', () => {
  beforeAll(async () => {
    await tfRuntime();
  });

  it('a user is the mapped mean of their items plus their own mapped vector; unknown items are skipped', () => {
    const model = handModel();
    const out = new Float32Array(6);
    // user 1 with items 0 and 1: mean (0.5, 0.5) → (0.5, 1); own (1, 1) swapped → (1, 1); sum (1.5, 2).
    // NO_USER with item 2 and item 7 (not in the model): mean (2, 2) → (2, 4).
    // user 0 with no history: own (0, 0).
    historyUserVectors(
      model,
      Int32Array.of(1, NO_USER, 0),
      { indptr: Uint32Array.of(0, 2, 4, 4), indices: Uint32Array.of(0, 1, 2, 7) },
      out,
    );
    expect(Array.from(out)).toEqual([1.5, 2, 2, 4, 0, 0]);
  });

  it('with count weights, the pool weighs each item by count^exponent and divides by the total weight^norm', () => {
    const model: HistoryModel = { ...handModel(), poolCountExponent: 1, poolNormExponent: 0.5 };
    const out = new Float32Array(2);
    // NO_USER with item 0 (count 3) and item 1 (count 1): (3·(1, 0) + (0, 1)) / √4 = (1.5, 0.5) → (1.5, 1).
    historyUserVectors(
      model,
      Int32Array.of(NO_USER),
      { indptr: Uint32Array.of(0, 2), indices: Uint32Array.of(0, 1), counts: Uint32Array.of(3, 1) },
      out,
    );
    expect(Array.from(out)).toEqual([1.5, 1]);
  });

  it('full ranking and candidate mode give the same scores, and top-K leaves out seen items', async () => {
    const inference = new HistoryInference(handModel());
    const vectors = Float32Array.of(1.5, 2, 2, 4);
    const full = new Float32Array(6);
    inference.scoreVectors(vectors, full);
    // item scores of (1.5, 2): 1.5, 2 + 0.5, 3.5 − 1.
    expect(Array.from(full.subarray(0, 3))).toEqual([1.5, 2.5, 2.5]);
    const pairs = inference.scorePairs(vectors, Uint32Array.of(0, 0, 0, 1, 1, 1), Uint32Array.of(0, 1, 2, 0, 1, 2));
    expect(Array.from(pairs)).toEqual(Array.from(full));
    const top = inference.recommendVectors(vectors, 2, {
      seen: { indptr: Uint32Array.of(0, 1, 1), indices: Uint32Array.of(1) },
    });
    // Row 0 without item 1: item 2 (2.5) before item 0 (1.5). Row 1: 2 + 0 = 2, 4.5, 5: items 2, 1.
    expect(Array.from(top.items)).toEqual([2, 0, 2, 1]);
    const candidates = inference.recommendVectors(vectors, 1, {
      seen: { indptr: Uint32Array.of(0, 1, 1), indices: Uint32Array.of(1) },
      candidates: { indptr: Uint32Array.of(0, 2, 3), indices: Uint32Array.of(0, 1, 0) },
    });
    expect(Array.from(candidates.items.subarray(0, 2))).toEqual([0, 0]);
    inference.dispose();
  });

  it('learns the communities of the clustered data (train loss falls, unseen same-community items first)', async () => {
    const data = clusteredData();
    const { train } = splitPerUser(data, 0.2, 1);
    const model = new PncfRecommender(plus);
    expect(model.name).toBe('PNCF+');
    expect(model.usesValidation).toBe(false);
    const fit = await model.fit(train, { seed: 3 });
    const losses = fit.report.history.map((h) => h.loss);
    expect(losses.at(-1)!).toBeLessThan(losses[0]!);
    const users = train.byUser.rows;
    const items = train.byUser.cols;
    const out = new Float32Array(users * items);
    await model.scoreUsers(
      Uint32Array.from({ length: users }, (_, u) => u),
      out,
    );
    let same = 0;
    for (let u = 0; u < users; u++) {
      const own = new Set(train.byUser.indices.subarray(train.byUser.indptr[u]!, train.byUser.indptr[u + 1]!));
      const ranked = [...Array(items).keys()]
        .filter((i) => !own.has(i))
        .sort((a, b) => out[u * items + b]! - out[u * items + a]!);
      for (const i of ranked.slice(0, 5)) if (groupOfItem(i) === u % 2) same++;
    }
    expect(same / (users * 5)).toBeGreaterThan(0.9);
    model.dispose();
  });

  it('serves a user it never trained on from their history alone', async () => {
    const data = clusteredData();
    const fit = await fitPncf(data, plus, { seed: 2 });
    const inference = new HistoryInference(historyOf(fit.model));
    // A newcomer with three items of community 1 (items 20..39).
    const vectors = inference.userVectors(Int32Array.of(NO_USER), {
      indptr: Uint32Array.of(0, 3),
      indices: Uint32Array.of(21, 25, 33),
    });
    const top = inference.recommendVectors(vectors, 5, {
      seen: { indptr: Uint32Array.of(0, 3), indices: Uint32Array.of(21, 25, 33) },
    });
    expect(Array.from(top.items).every((i) => groupOfItem(i) === 1)).toBe(true);
    inference.dispose();
  });

  it('a seeded fit is reproducible, and the harness scores what the inference scores', async () => {
    const data = clusteredData();
    const config = { ...plus, history: { ...plus.history, epochs: 3 } };
    const a = historyOf((await fitPncf(data, config, { seed: 5 })).model);
    const b = historyOf((await fitPncf(data, config, { seed: 5 })).model);
    expect(a.itemOutput).toEqual(b.itemOutput);
    expect(a.historyKernel).toEqual(b.historyKernel);
    const users = Uint32Array.of(0, 3, 7);
    const inference = new HistoryInference(a);
    const direct = new Float32Array(users.length * a.numItems);
    inference.scoreVectors(inference.userVectors(users, selectRows(data.byUser, users)), direct);
    const pairs = inference.scorePairs(
      inference.userVectors(users, selectRows(data.byUser, users)),
      Uint32Array.from({ length: direct.length }, (_, p) => Math.floor(p / a.numItems)),
      Uint32Array.from({ length: direct.length }, (_, p) => p % a.numItems),
    );
    for (let p = 0; p < direct.length; p++) expect(direct[p]).toBeCloseTo(pairs[p]!, 4);
    inference.dispose();
  });

  it('warm start keeps the rows of known ids and the kernels, and fresh rows for new ids', () => {
    const previous = handModel();
    const fresh: HistoryModel = {
      ...handModel(),
      numUsers: 2,
      numItems: 2,
      itemInput: Float32Array.of(9, 9, 8, 8),
      userVectors: Float32Array.of(7, 7, 6, 6),
      itemOutput: Float32Array.of(5, 5, 4, 4),
      itemBias: Float32Array.of(3, 3),
      historyKernel: Float32Array.of(0, 0, 0, 0),
      userKernel: Float32Array.of(0, 0, 0, 0),
    };
    const warm = warmStartHistoryModel(previous, ['u0', 'u1'], ['i0', 'i1', 'i2'], fresh, {
      userIds: ['new', 'u1'],
      itemIds: ['i2', 'new'],
    });
    expect(Array.from(warm.userVectors)).toEqual([7, 7, 1, 1]);
    expect(Array.from(warm.itemInput)).toEqual([2, 2, 8, 8]);
    expect(Array.from(warm.itemOutput)).toEqual([1, 1, 4, 4]);
    expect(Array.from(warm.itemBias)).toEqual([-1, 3]);
    expect(warm.historyKernel).toEqual(previous.historyKernel);
    expect(fresh.itemInput[0]).toBe(9);
  });

  it('the paper and plus presets resolve, and an artifact config without the new fields is a tower config', () => {
    expect(resolvePncfConfig('paper').tower.hidden).toEqual([256, 128, 64]);
    expect(resolvePncfConfig('paper').bags.weightExponent).toBe(0.75);
    expect(resolvePncfConfig('plus').scorer).toBe('history');
    const { scorer: _s, history: _h, ...old } = defaultPreset;
    expect(parsePncfConfig(old, 'an old artifact').scorer).toBe('tower');
  });

  it('trainHistoryModel on frozen tables changes only the kernels, the output side and the bias', async () => {
    const data: Interactions = clusteredData(20, 10, 4, 3);
    const d = 4;
    const start = initHistoryModel(
      {
        userVectors: new Float32Array(data.byUser.rows * d).fill(0.1),
        itemInput: Float32Array.from({ length: data.byUser.cols * d }, (_, k) => (k % 7) / 7),
        itemOutput: Float32Array.from({ length: data.byUser.cols * d }, (_, k) => (k % 5) / 5),
        dim: d,
      },
      data.byUser.rows,
      data.byUser.cols,
    );
    const { model } = await trainHistoryModel(
      data,
      start,
      { ...HISTORY_DEFAULTS, epochs: 2, fineTuneEmbeddings: false },
      1,
    );
    expect(model.itemInput).toEqual(start.itemInput);
    expect(model.userVectors).toEqual(start.userVectors);
    expect(model.itemOutput).not.toEqual(start.itemOutput);
  });
});
