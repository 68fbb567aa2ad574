import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  eventsAfterErasures,
  InteractionStore,
  type PartitionBatch,
  type StoredErasure,
  type TotalsBatch,
} from '../src/index.js';

const dirs: string[] = [];
const stores: InteractionStore[] = [];
function tempStore(changelogOutbox: boolean): InteractionStore {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pncf-erase-'));
  dirs.push(dir);
  const store = InteractionStore.open({ path: dir, changelogOutbox });
  stores.push(store);
  return store;
}
afterEach(async () => {
  for (const store of stores.splice(0)) await store.close();
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

type Row = [string, string, number] | ['erase', string];
/** A partition batch from `from` on: [user, item, count] is an event, ['erase', user] an erase event. */
function batch(partition: number, from: number, rows: Row[]): PartitionBatch {
  const out: PartitionBatch = {
    topic: 't',
    partition,
    events: [],
    erasures: [],
    nextOffset: BigInt(from + rows.length),
  };
  rows.forEach((row, k) => {
    const offset = BigInt(from + k);
    if (row[0] === 'erase') out.erasures!.push({ offset, user: row[1] });
    else {
      const [user, item, count] = row as [string, string, number];
      out.events.push({ offset, user, item, count });
    }
  });
  return out;
}
const pairs = (store: InteractionStore) => {
  const { interactions } = store.snapshot();
  const out: Record<string, number> = {};
  const { indptr, indices, counts } = interactions.byUser;
  for (let u = 0; u < interactions.byUser.rows; u++) {
    for (let k = indptr[u]!; k < indptr[u + 1]!; k++)
      out[`${interactions.userIds[u]}/${interactions.itemIds[indices[k]!]}`] = counts[k]!;
  }
  return out;
};
const pending = (store: InteractionStore) =>
  Object.fromEntries(store.pendingChanges(100).map((change) => [`${change.user}/${change.item}`, change.total]));

describe('eventsAfterErasures', () => {
  it("drops a user's events before their last erase of the batch, keeps later ones and other users'", () => {
    const event = (offset: number, user: string) => ({ offset: BigInt(offset), user, item: 'i', count: 1 });
    const erasures: StoredErasure[] = [
      { offset: 2n, user: 'u' },
      { offset: 5n, user: 'u' },
    ];
    const kept = eventsAfterErasures(
      [event(0, 'u'), event(1, 'v'), event(3, 'u'), event(6, 'u'), event(7, 'v')],
      erasures,
    );
    expect(kept.map((e) => `${e.user}@${e.offset}`)).toEqual(['v@1', 'u@6', 'v@7']);
  });
});

describe('erasing a user in the store', () => {
  it('removes every pair of the user with the offsets in one transaction, each pair into the outbox as a tombstone', () => {
    const store = tempStore(true);
    store.applyBatch(
      batch(0, 0, [
        ['u', 'x', 2],
        ['u', 'y', 1],
        ['v', 'x', 3],
      ]),
    );
    store.clearChanges(store.pendingChanges(100));
    const result = store.applyBatch(batch(0, 3, [['erase', 'u']]));
    expect(result).toMatchObject({ applied: 0, duplicates: 0, erasedPairs: 2, sequence: 2 });
    expect(pairs(store)).toEqual({ 'v/x': 3 });
    expect(store.stats()).toMatchObject({ pairs: 1, total: 3, sequence: 2 });
    expect(store.storedOffsets('t')).toEqual(new Map([[0, 4n]]));
    expect(pending(store)).toEqual({ 'u/x': null, 'u/y': null });
    // The id stays (dense indices), with no pair: nothing of the user is counted or snapshotted.
    const index = store.lookup('user', 'u');
    expect(index).toBeDefined();
    expect(store.itemsOfUser(index!).indices.length).toBe(0);
  });

  it('applies a batch in offset order: what the user did after the erase counts, as new pairs', () => {
    const store = tempStore(true);
    store.applyBatch(batch(0, 0, [['u', 'x', 5]]));
    const result = store.applyBatch(
      batch(0, 1, [
        ['u', 'y', 1],
        ['v', 'y', 1],
        ['erase', 'u'],
        ['u', 'z', 4],
        ['u', 'x', 1],
      ]),
    );
    expect(result).toMatchObject({ applied: 4, erasedPairs: 1, sequence: 2 });
    expect(pairs(store)).toEqual({ 'u/z': 4, 'u/x': 1, 'v/y': 1 });
    expect(store.stats()).toMatchObject({ pairs: 3, total: 6 });
    // The returning user's pairs are new: first seen at the erase's transaction, not before.
    const { firstSeen } = store.snapshot();
    expect([...firstSeen]).toEqual([2, 2, 2]);
    // u/y never reached the store (its event came before the erase): the changelog has nothing of it to remove.
    expect(pending(store)).toEqual({ 'u/x': 1, 'u/z': 4, 'v/y': 1 });
  });

  it('a redelivered erase is skipped by its offset, and a second erase of an erased user changes nothing', () => {
    const store = tempStore(true);
    store.applyBatch(batch(0, 0, [['u', 'x', 2]]));
    const erase = batch(0, 1, [['erase', 'u']]);
    expect(store.applyBatch(erase)).toMatchObject({ erasedPairs: 1, sequence: 2 });
    store.clearChanges(store.pendingChanges(100));
    const before = { stats: store.stats(), pairs: pairs(store) };
    expect(store.applyBatch(erase)).toMatchObject({ applied: 0, erasedPairs: 0, sequence: 2 });
    expect(store.applyBatch(batch(0, 2, [['erase', 'u']]))).toMatchObject({ erasedPairs: 0, sequence: 2 });
    expect(store.applyBatch(batch(0, 3, [['erase', 'nobody']]))).toMatchObject({ erasedPairs: 0, sequence: 2 });
    expect({ stats: store.stats(), pairs: pairs(store) }).toEqual({
      ...before,
      stats: { ...before.stats, bytes: store.stats().bytes },
    });
    expect(store.outboxSize()).toBe(0);
    expect(store.storedOffsets('t')).toEqual(new Map([[0, 4n]]));
    // The unknown user got no index.
    expect(store.lookup('user', 'nobody')).toBeUndefined();
  });

  it('one erase in a group commit cuts only its own partition’s events', () => {
    const store = tempStore(false);
    const result = store.applyBatches([
      batch(0, 0, [
        ['u', 'x', 1],
        ['erase', 'u'],
      ]),
      batch(1, 0, [['u', 'y', 1]]),
    ]);
    // Partition 1's event has offset 0 too, but offsets order one partition only: it is applied after the erase.
    expect(pairs(store)).toEqual({ 'u/y': 1 });
    expect(result.batches).toEqual([
      { applied: 1, duplicates: 0 },
      { applied: 1, duplicates: 0 },
    ]);
  });

  it('the outbox tombstones make a view drop the pairs', () => {
    const source = tempStore(true);
    const view = tempStore(false);
    let offset = 0n;
    const relay = () => {
      const changes = source.pendingChanges(100);
      const totals: TotalsBatch = {
        topic: 'counts',
        partition: 0,
        changes: changes.map((change) => ({ offset: offset++, ...change })),
        nextOffset: offset,
      };
      view.applyTotals([totals]);
      source.clearChanges(changes);
    };
    source.applyBatch(
      batch(0, 0, [
        ['u', 'x', 2],
        ['u', 'y', 1],
        ['v', 'y', 1],
      ]),
    );
    relay();
    expect(pairs(view)).toEqual(pairs(source));
    source.applyBatch(batch(0, 3, [['erase', 'u']]));
    relay();
    expect(pairs(view)).toEqual({ 'v/y': 1 });
    expect(view.stats()).toMatchObject({ pairs: 1, total: 1 });
  });
});
