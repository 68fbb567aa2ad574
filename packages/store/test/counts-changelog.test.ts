import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { open } from 'lmdb';
import { afterEach, describe, expect, it } from 'vitest';
import {
  catchUpProgress,
  InteractionStore,
  isCaughtUp,
  type PartitionBatch,
  type StoreOptions,
  type TotalsBatch,
} from '../src/index.js';

const dirs: string[] = [];
const stores: InteractionStore[] = [];
function tempStore(options: Omit<StoreOptions, 'path'> = {}, dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pncf-cl-'))) {
  dirs.push(dir);
  const store = InteractionStore.open({ path: dir, ...options });
  stores.push(store);
  return { dir, store };
}
afterEach(async () => {
  for (const store of stores.splice(0)) await store.close();
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

const events = (partition: number, from: number, rows: [string, string, number][]): PartitionBatch => ({
  topic: 'events',
  partition,
  events: rows.map(([user, item, count], k) => ({ offset: BigInt(from + k), user, item, count })),
  nextOffset: BigInt(from + rows.length),
});
const totals = (partition: number, from: number, rows: [string, string, number | null][]): TotalsBatch => ({
  topic: 'counts',
  partition,
  changes: rows.map(([user, item, total], k) => ({ offset: BigInt(from + k), user, item, total })),
  nextOffset: BigInt(from + rows.length),
});
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

describe('the changelog outbox', () => {
  it('records every changed pair in the write’s transaction, with its total now, until cleared', () => {
    const { store } = tempStore({ changelogOutbox: true });
    store.applyBatches([
      events(0, 0, [
        ['a', 'x', 1],
        ['a', 'x', 2],
        ['b', 'y', 1],
      ]),
    ]);
    expect(pending(store)).toEqual({ 'a/x': 3, 'b/y': 1 });
    const sent = store.pendingChanges(100);
    store.clearChanges(sent);
    expect(store.outboxSize()).toBe(0);
    // A redelivered batch changes nothing, so it records nothing.
    store.applyBatches([events(0, 0, [['a', 'x', 1]])]);
    expect(store.outboxSize()).toBe(0);
  });

  it('keeps a pair changed after it was read, so its newer total is sent next', () => {
    const { store } = tempStore({ changelogOutbox: true });
    store.applyBatches([
      events(0, 0, [
        ['a', 'x', 1],
        ['b', 'y', 1],
      ]),
    ]);
    const read = store.pendingChanges(100);
    store.applyBatches([events(0, 2, [['a', 'x', 4]])]);
    store.clearChanges(read);
    expect(pending(store)).toEqual({ 'a/x': 5 });
  });

  it('puts back a pair another relay cleared after this one read an older total', () => {
    const { store } = tempStore({ changelogOutbox: true });
    store.applyBatches([events(0, 0, [['a', 'x', 1]])]);
    const older = store.pendingChanges(100);
    store.applyBatches([events(0, 1, [['a', 'x', 1]])]);
    store.clearChanges(store.pendingChanges(100)); // the other relay sent 2 and cleared
    store.clearChanges(older); // this one's 1 reached the topic after the 2
    expect(pending(store)).toEqual({ 'a/x': 2 });
  });

  it('seeds the outbox with every stored pair the first time a store is opened with it', async () => {
    const { dir, store } = tempStore();
    store.applyBatches([
      events(0, 0, [
        ['a', 'x', 2],
        ['b', 'y', 1],
      ]),
    ]);
    await store.close();
    stores.splice(0);
    const reopened = tempStore({ changelogOutbox: true }, dir).store;
    expect(pending(reopened)).toEqual({ 'a/x': 2, 'b/y': 1 });
    reopened.clearChanges(reopened.pendingChanges(100));
    await reopened.close();
    stores.splice(0);
    expect(tempStore({ changelogOutbox: true }, dir).store.outboxSize()).toBe(0);
  });

  it('gives the entries an earlier version left (a stamp alone) their pairs’ totals', async () => {
    const { dir, store } = tempStore();
    store.applyBatches([
      events(0, 0, [
        ['a', 'x', 2],
        ['b', 'y', 1],
      ]),
    ]);
    await store.close();
    stores.splice(0);
    // The earlier layout, written as that version wrote it: a seeded outbox whose one entry holds a stamp (msgpack).
    const earlier = open({ path: dir, maxDbs: 16 });
    const key = Buffer.alloc(8); // the pair (user 0, item 0): a/x
    await earlier.openDB('meta', {}).put('outbox-seeded', 1);
    await earlier.openDB('changelog-outbox', { keyEncoding: 'binary' }).put(key, 1);
    await earlier.close();
    const upgraded = tempStore({ changelogOutbox: true }, dir).store;
    expect(pending(upgraded)).toEqual({ 'a/x': 2 });
    upgraded.applyBatches([events(0, 2, [['b', 'y', 3]])]);
    expect(pending(upgraded)).toEqual({ 'a/x': 2, 'b/y': 4 });
    upgraded.clearChanges(upgraded.pendingChanges(100));
    expect(upgraded.outboxSize()).toBe(0);
  });
});

describe('applyTotals (a materialized view of the changelog)', () => {
  it('sets totals, deletes on a tombstone, keeps the running sums and stores the offsets', () => {
    const { store } = tempStore();
    const first = store.applyTotals([
      totals(0, 0, [
        ['a', 'x', 3],
        ['b', 'y', 1],
      ]),
      totals(1, 0, [['a', 'z', 2]]),
    ]);
    expect(first).toMatchObject({ sequence: 1, newUsers: 2, newItems: 3 });
    store.applyTotals([
      totals(0, 2, [
        ['a', 'x', 5],
        ['b', 'y', null],
        ['c', 'never', null],
      ]),
    ]);
    expect(pairs(store)).toEqual({ 'a/x': 5, 'a/z': 2 });
    expect(store.stats()).toMatchObject({ pairs: 2, total: 7, users: 2, items: 3, sequence: 2 });
    expect(store.lookup('user', 'c')).toBeUndefined();
    expect(store.storedOffsets('counts')).toEqual(
      new Map([
        [0, 5n],
        [1, 1n],
      ]),
    );
  });

  it('skips a redelivered batch and keeps a pair’s first-seen sequence when its total changes', () => {
    const { store } = tempStore();
    store.applyTotals([totals(0, 0, [['a', 'x', 1]])]);
    const again = store.applyTotals([totals(0, 0, [['a', 'x', 1]])]);
    expect(again.batches[0]).toEqual({ applied: 0, duplicates: 1 });
    store.applyTotals([
      totals(0, 1, [
        ['a', 'x', 4],
        ['b', 'x', 1],
      ]),
    ]);
    const snapshot = store.snapshot();
    expect([...snapshot.firstSeen]).toEqual([1, 2]);
    expect(snapshot.total).toBe(5);
  });

  it('within one batch, the last total of a pair wins', () => {
    const { store } = tempStore();
    store.applyTotals([
      totals(0, 0, [
        ['a', 'x', 1],
        ['a', 'x', 2],
        ['a', 'y', 1],
        ['a', 'y', null],
      ]),
    ]);
    expect(pairs(store)).toEqual({ 'a/x': 2 });
  });
});

describe('catch-up', () => {
  it('is reached when every partition is at its start-up end; an unread empty partition counts as reached', () => {
    const ends = [
      { partition: 0, low: 0n, high: 10n },
      { partition: 1, low: 4n, high: 4n },
    ];
    expect(isCaughtUp(catchUpProgress(ends, new Map([[0, 9n]])))).toBe(false);
    expect(isCaughtUp(catchUpProgress(ends, new Map([[0, 10n]])))).toBe(true);
    expect(catchUpProgress(ends, new Map())).toEqual([
      { partition: 0, position: 0n, target: 10n },
      { partition: 1, position: 4n, target: 4n },
    ]);
  });
});

describe('the outbox relay lock', () => {
  it('admits one live process at a time, the same one again, and the next once the holder released it or died', () => {
    const { dir, store } = tempStore({ changelogOutbox: true });
    // A second handle on the same files, as a second ingester process has.
    const other = InteractionStore.open({ path: dir, changelogOutbox: true });
    stores.push(other);
    const alive = new Set([101, 202]);
    const isAlive = (pid: number) => alive.has(pid);
    expect(store.claimRelay(101, isAlive)).toBe(true);
    expect(store.claimRelay(101, isAlive)).toBe(true);
    expect(other.claimRelay(202, isAlive)).toBe(false);
    store.releaseRelay(101);
    expect(other.claimRelay(202, isAlive)).toBe(true);
    // 202 is killed without releasing: its lock goes to whoever asks next.
    alive.delete(202);
    expect(store.claimRelay(101, isAlive)).toBe(true);
    // Releasing a lock one does not hold changes nothing.
    other.releaseRelay(202);
    expect(other.claimRelay(303, () => true)).toBe(false);
  });
});
