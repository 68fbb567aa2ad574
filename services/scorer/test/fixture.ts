import { fromPairs, type Interactions, Random } from '@pncf/data';
import { initTower, type ModelArtifact, presets } from '@pncf/pncf';

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
