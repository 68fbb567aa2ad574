import { fromPairs, Random } from '@pncf/data';
import { tfRuntime } from '@pncf/evaluation';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ModelArtifact } from '../src/artifact.js';
import { ArtifactRecommender } from '../src/artifact-recommender.js';
import { defaultPreset } from '../src/config.js';
import { TowerInference } from '../src/inference.js';
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
    const inference = TowerInference.fromModel(artifact.model);
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
