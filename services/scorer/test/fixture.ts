import { fromPairs, type Interactions, Random } from '@pncf/data';
import { type HistoryModel, initTower, type ModelArtifact, presets } from '@pncf/pncf';

export const USERS = 60;
export const ITEMS = 300;
const DIM = 8;

/** A random model over u0..u59 × i0..i299 and a store snapshot with extra users and items it does not know. */
export function fixture(): { artifact: ModelArtifact; data: Interactions } {
  const rng = new Random(7);
  const table = (rows: number) => Float32Array.from({ length: rows * DIM }, () => rng.next() * 2 - 1);
  const tower = initTower(DIM, [16, 8], true, 3, 0.5);
  const artifact: ModelArtifact = {
    model: { numUsers: USERS, numItems: ITEMS, userVectors: table(USERS), itemVectors: table(ITEMS), tower },
    userIds: Array.from({ length: USERS }, (_, u) => `u${u}`),
    itemIds: Array.from({ length: ITEMS }, (_, i) => `i${i}`),
    config: presets.default,
    metrics: {},
  };
  // Store: the model's users plus "new0" (cold start), items plus "x0" (unknown to the model).
  const userIds = [...artifact.userIds, 'new0'];
  const itemIds = [...artifact.itemIds, 'x0'];
  const users: number[] = [];
  const items: number[] = [];
  for (let u = 0; u < USERS; u++) {
    for (let j = 0; j < 6; j++) {
      users.push(u);
      items.push((u * 7 + j * 13) % ITEMS);
    }
  }
  users.push(USERS, USERS, USERS);
  items.push(3, 5, ITEMS);
  const data = fromPairs(userIds, itemIds, users, items);
  return { artifact, data };
}

/** The same ids and store snapshot as fixture(), with a random history model (PNCF+) of `dim` dimensions. */
export function historyFixture(dim = DIM): { artifact: ModelArtifact; data: Interactions } {
  const { artifact: tower, data } = fixture();
  const rng = new Random(11);
  const table = (rows: number, cols = dim) => Float32Array.from({ length: rows * cols }, () => rng.next() * 2 - 1);
  const model: HistoryModel = {
    kind: 'history',
    numUsers: USERS,
    numItems: ITEMS,
    dim,
    itemInput: table(ITEMS),
    historyKernel: table(dim),
    userVectors: table(USERS),
    userKernel: table(dim),
    itemOutput: table(ITEMS),
    itemBias: table(ITEMS, 1),
    // A pool weighted by counts, so a test sees whether the requests' counts reach it.
    poolCountExponent: 0.75,
    poolNormExponent: 0.5,
  };
  return { artifact: { ...tower, model, config: presets.plus, pretrained: undefined }, data };
}
