import { fromPairs, fromTriples, Random } from '@pncf/data';
import { tfRuntime } from '@pncf/evaluation';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ModelArtifact } from '../src/artifact.js';
import { ArtifactRecommender } from '../src/artifact-recommender.js';
import { defaultPreset, presets } from '../src/config.js';
import { HistoryInference } from '../src/history-inference.js';
import { type HistoryModel, NO_USER } from '../src/history-model.js';
import { type PncfModel, TowerInference } from '../src/inference.js';
import { initTower } from '../src/tower-weights.js';

beforeAll(async () => {
  await tfRuntime(() => {});
});

const dim = 4;
const rng = new Random(3);
const artifact: ModelArtifact = {
  model: {
    numUsers: 3,
    numItems: 4,
    userVectors: Float32Array.from({ length: 3 * dim }, () => rng.next() * 2 - 1),
    itemVectors: Float32Array.from({ length: 4 * dim }, () => rng.next() * 2 - 1),
    tower: initTower(dim, [6, 3], true, 1, 0.3),
  },
  userIds: ['a', 'b', 'c'],
  itemIds: ['p', 'q', 'r', 's'],
  config: defaultPreset,
  metrics: {},
};

describe('ArtifactRecommender (a published model on another id space)', () => {
  it("scores known users and items as the artifact does, and never recommends items it didn't know", async () => {
    // A newer snapshot: other order, a new user (d) and a new item (x).
    const data = fromPairs(['c', 'd', 'a'], ['s', 'x', 'p', 'q', 'r'], [0, 1, 1, 2], [0, 0, 1, 2]);
    const model = new ArtifactRecommender(artifact, 'served');
    await model.fit(data);
    const out = new Float32Array(3 * 5);
    model.scoreUsers(Uint32Array.of(0, 1, 2), out);
    const reference = new Float32Array(3 * 4);
    const inference = TowerInference.fromModel(artifact.model as PncfModel);
    inference.scoreUsers(Uint32Array.of(2, 0), reference.subarray(0, 8));
    inference.dispose();
    // User c (artifact row 2) and a (row 0): item s, p, q, r are artifact items 3, 0, 1, 2.
    for (const [row, ref] of [
      [0, 0],
      [2, 1],
    ] as const) {
      expect(out[row * 5 + 0]).toBeCloseTo(reference[ref * 4 + 3]!, 5);
      expect(out[row * 5 + 2]).toBeCloseTo(reference[ref * 4 + 0]!, 5);
      expect(out[row * 5 + 4]).toBeCloseTo(reference[ref * 4 + 2]!, 5);
    }
    // Item x is unknown to the artifact: excluded for everyone; the new user d still gets (cold-start) scores.
    for (let row = 0; row < 3; row++) expect(out[row * 5 + 1]).toBe(Number.NEGATIVE_INFINITY);
    expect(Number.isFinite(out[1 * 5 + 0]!)).toBe(true);
    model.dispose();
    expect(() => model.scoreUsers(Uint32Array.of(0), out)).toThrow(/fit before scoring/);
  });
});

describe('ArtifactRecommender with a history model (PNCF+)', () => {
  const table = (n: number) => Float32Array.from({ length: n }, () => rng.next() * 2 - 1);
  const model: HistoryModel = {
    kind: 'history',
    numUsers: 3,
    numItems: 4,
    dim,
    itemInput: table(4 * dim),
    historyKernel: table(dim * dim),
    userVectors: table(3 * dim),
    userKernel: table(dim * dim),
    itemOutput: table(4 * dim),
    itemBias: table(4),
    // The pool weighs counts: the histories' counts must reach it.
    poolCountExponent: 0.75,
    poolNormExponent: 0.5,
  };
  const history: ModelArtifact = { ...artifact, model, config: presets.plus };

  it('maps users and histories by id, scores over the model’s items and excludes items it never saw', async () => {
    // A newer snapshot: other order, a new user (d) with a known and an unknown item, a new item (x), and a new
    // user (e) with only the unknown item.
    const data = fromTriples(
      ['c', 'd', 'a', 'e'],
      ['s', 'x', 'p', 'q', 'r'],
      Uint32Array.of(0, 0, 1, 1, 2, 2, 3),
      Uint32Array.of(0, 3, 0, 1, 2, 4, 1),
      Uint32Array.of(3, 1, 2, 1, 1, 7, 1),
    );
    const recommender = new ArtifactRecommender(history, 'served');
    await recommender.fit(data);
    const out = new Float32Array(4 * 5);
    recommender.scoreUsers(Uint32Array.of(0, 1, 2, 3), out);

    // The same users through HistoryInference on the model's ids: c = model user 2 with items s, q (3, 1);
    // d = nobody the model knows, with s (x dropped); a = model user 0 with p, r (0, 2); e = nobody, no history.
    const inference = new HistoryInference(model);
    const users = Int32Array.of(2, NO_USER, 0, NO_USER);
    const rows = {
      indptr: Uint32Array.of(0, 2, 3, 5, 5),
      indices: Uint32Array.of(3, 1, 3, 0, 2),
      counts: Uint32Array.of(3, 1, 2, 1, 7),
    };
    const reference = new Float32Array(4 * 4);
    inference.scoreVectors(inference.userVectors(users, rows), reference);
    // Data items s, x, p, q, r are model items 3, -, 0, 1, 2.
    const modelItem = [3, -1, 0, 1, 2];
    for (let row = 0; row < 4; row++) {
      for (let i = 0; i < 5; i++) {
        const j = modelItem[i]!;
        if (j < 0) expect(out[row * 5 + i]).toBe(Number.NEGATIVE_INFINITY);
        else expect(out[row * 5 + i]).toBeCloseTo(reference[row * 4 + j]!, 5);
      }
    }
    // The counts count: without them user a (p once, r seven times) would be another vector.
    const unweighted = new Float32Array(4);
    inference.scoreVectors(
      inference.userVectors(Int32Array.of(0), { indptr: Uint32Array.of(0, 2), indices: Uint32Array.of(0, 2) }),
      unweighted,
    );
    expect(Math.abs(unweighted[0]! - out[2 * 5 + 2]!)).toBeGreaterThan(1e-4);
    inference.dispose();
    // e has neither a vector nor a known item: the item biases alone.
    expect(out[3 * 5 + 2]).toBeCloseTo(model.itemBias[0]!, 5);
    // Another block, in another order, gives the same rows.
    const again = new Float32Array(2 * 5);
    recommender.scoreUsers(Uint32Array.of(2, 0), again);
    expect([...again.subarray(0, 5)]).toEqual([...out.subarray(10, 15)]);
    expect([...again.subarray(5, 10)]).toEqual([...out.subarray(0, 5)]);
    recommender.dispose();
    expect(() => recommender.scoreUsers(Uint32Array.of(0), out)).toThrow(/fit before scoring/);
  });
});
