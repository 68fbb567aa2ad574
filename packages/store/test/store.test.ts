import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { fromTriples } from '@pncf/data';
import { open } from 'lmdb';
import { afterEach, describe, expect, it } from 'vitest';
import { aggregatePairs, InteractionStore, type PartitionBatch } from '../src/index.js';
import { PAIR_VALUE_BYTES, readPairCount, readPairFirstSeen, writePairValue } from '../src/keys.js';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const dirs: string[] = [];
function tempStore(): { dir: string; store: InteractionStore } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pncf-store-test-'));
  dirs.push(dir);
  return { dir, store: InteractionStore.open({ path: dir }) };
}
afterEach(() => {
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

/** Rows of topic 't' at offsets from, from + 1, …; the next offset is the one after the last row unless given. */
function batch(
  partition: number,
  from: number,
  rows: [string, string, number][],
  nextOffset = BigInt(from + rows.length),
): PartitionBatch {
  const events = rows.map(([user, item, count], k) => ({ offset: BigInt(from + k), user, item, count }));
  return { topic: 't', partition, events, nextOffset };
}

describe('aggregatePairs', () => {
  it('sums duplicate pairs and sorts by (user, item)', () => {
    const pairs = aggregatePairs(
      Uint32Array.of(2, 0, 2, 0, 1),
      Uint32Array.of(5, 3, 5, 1, 0),
      Uint32Array.of(1, 2, 3, 4, 5),
    );
    expect([...pairs.users]).toEqual([0, 0, 1, 2]);
    expect([...pairs.items]).toEqual([1, 3, 0, 5]);
    expect([...pairs.deltas]).toEqual([4, 2, 5, 4]);
  });
});

describe('pair values', () => {
  it('hold a u32 count and a first-seen sequence beyond 2^32', () => {
    const value = writePairValue(Buffer.alloc(PAIR_VALUE_BYTES), 0xffffffff, 2 ** 40 + 5);
    expect(readPairCount(value)).toBe(0xffffffff);
    expect(readPairFirstSeen(value)).toBe(2 ** 40 + 5);
    expect(readPairFirstSeen(Buffer.of(7, 0, 0, 0))).toBe(0);
    expect(readPairCount(undefined)).toBe(0);
  });
});

describe('InteractionStore', () => {
  it('accumulates counts, skips redelivered offsets and snapshots the CSR of the same triples', async () => {
    const { store } = tempStore();
    const first = batch(0, 0, [
      ['alice', 'book', 1],
      ['bob', 'film', 2],
      ['alice', 'film', 1],
      ['alice', 'book', 3],
    ]);
    expect(store.applyBatch(first)).toMatchObject({ applied: 4, duplicates: 0, sequence: 1, newUsers: 2, newItems: 2 });
    // The same batch again (a crash before the Kafka commit) changes nothing.
    expect(store.applyBatch(first)).toMatchObject({ applied: 0, duplicates: 4, sequence: 1 });
    // An overlapping batch (offsets 2..4) applies only its new tail.
    const overlap = batch(0, 2, [
      ['alice', 'film', 1],
      ['alice', 'book', 3],
      ['carol', 'song', 5],
    ]);
    expect(store.applyBatch(overlap)).toMatchObject({ applied: 1, duplicates: 2, sequence: 2 });
    // Another partition has offsets of its own.
    store.applyBatch(batch(1, 0, [['bob', 'book', 1]]));

    const snapshot = store.snapshot();
    expect(snapshot.sequence).toBe(3);
    expect(snapshot.total).toBe(1 + 2 + 1 + 3 + 5 + 1);
    const expected = fromTriples(
      ['alice', 'bob', 'carol'],
      ['book', 'film', 'song'],
      Uint32Array.of(0, 1, 0, 0, 2, 1),
      Uint32Array.of(0, 1, 1, 0, 2, 0),
      Uint32Array.of(1, 2, 1, 3, 5, 1),
    );
    expect(snapshot.interactions).toEqual(expected);

    expect(store.storedOffsets('t')).toEqual(
      new Map([
        [0, 5n],
        [1, 1n],
      ]),
    );
    expect(store.storedOffsets('other')).toEqual(new Map());
    expect(store.stats()).toMatchObject({ users: 3, items: 3, pairs: 5, total: 13, sequence: 3 });
    expect(store.stats().bytes).toBeGreaterThan(0);

    const alice = store.lookup('user', 'alice')!;
    expect([...store.itemsOfUser(alice).indices]).toEqual([0, 1]);
    expect([...store.itemsOfUser(alice).counts]).toEqual([4, 1]);
    expect([...store.itemsOfUser(99).indices]).toEqual([]);
    expect(store.lookup('user', 'nobody')).toBeUndefined();
    expect(store.idOf('item', 2)).toBe('song');
    await store.close();
  });

  it('opens a store written by an older version, whose extra databases it ignores', async () => {
    const { dir, store: writer } = tempStore();
    writer.applyBatch(batch(0, 0, [['u', 'i', 2]]));
    await writer.close();
    // The item → users index, per-side totals and change log that earlier versions wrote beside the counts.
    const old = open({ path: dir, maxDbs: 16 });
    const binary = { keyEncoding: 'binary', encoding: 'binary' } as const;
    old.openDB('item-users', binary).putSync(Buffer.alloc(8), Buffer.of(2, 0, 0, 0));
    old.openDB('user-totals', { keyEncoding: 'uint32' }).putSync(0, 2);
    old.openDB('item-totals', { keyEncoding: 'uint32' }).putSync(0, 2);
    old.openDB('changes', binary).putSync(Buffer.alloc(8, 1), Buffer.alloc(12));
    await old.close();

    const store = InteractionStore.open({ path: dir });
    store.applyBatch(batch(0, 1, [['v', 'i', 3]]));
    expect(store.stats()).toMatchObject({ users: 2, items: 1, pairs: 2, total: 5, sequence: 2 });
    await store.close();
    const reader = InteractionStore.open({ path: dir, readOnly: true });
    expect(reader.snapshot()).toEqual({
      interactions: fromTriples(['u', 'v'], ['i'], Uint32Array.of(0, 1), Uint32Array.of(0, 0), Uint32Array.of(2, 3)),
      firstSeen: Float64Array.of(1, 2),
      sequence: 2,
      total: 5,
    });
    await reader.close();
  });

  it('records the sequence at which each pair was first written, in the same transaction as its count', async () => {
    const { store } = tempStore();
    store.applyBatch(
      batch(0, 0, [
        ['alice', 'book', 1],
        ['bob', 'film', 2],
      ]),
    );
    // alice/book again (count only), a new pair for alice, and bob/film twice within one transaction.
    store.applyBatches([
      batch(0, 2, [
        ['alice', 'book', 1],
        ['alice', 'film', 1],
      ]),
      batch(1, 0, [['bob', 'film', 1]]),
    ]);
    // A redelivery changes neither counts nor first-seen sequences; a rejected-only batch makes no sequence.
    store.applyBatch(
      batch(0, 2, [
        ['alice', 'book', 1],
        ['alice', 'film', 1],
      ]),
    );
    store.applyBatch(batch(2, 0, [], 5n));
    store.applyBatch(
      batch(1, 1, [
        ['carol', 'book', 4],
        ['alice', 'film', 1],
      ]),
    );
    const snapshot = store.snapshot();
    expect(snapshot.sequence).toBe(3);
    // byUser order: alice (book, film), bob (film), carol (book).
    expect([...snapshot.interactions.byUser.counts]).toEqual([2, 2, 3, 4]);
    expect([...snapshot.firstSeen]).toEqual([1, 2, 1, 3]);
    await store.close();
  });

  it('reads a pair value without a first-seen sequence (an older store) as first seen at 0', async () => {
    const { dir, store: writer } = tempStore();
    writer.applyBatch(
      batch(0, 0, [
        ['u', 'i', 2],
        ['u', 'j', 1],
      ]),
    );
    await writer.close();
    // Rewrite u/i as an older version stored it: the u32le count alone.
    const old = open({ path: dir, maxDbs: 16 });
    const pairs = old.openDB('user-items', { keyEncoding: 'binary', encoding: 'binary' });
    const key = Buffer.alloc(8);
    await pairs.put(key, Buffer.of(2, 0, 0, 0));
    await old.close();

    const store = InteractionStore.open({ path: dir });
    expect([...store.snapshot().firstSeen]).toEqual([0, 1]);
    expect([...store.itemsOfUser(0).counts]).toEqual([2, 1]);
    // Counting it again keeps its first-seen 0 (now in the 12-byte layout); new pairs get their sequence.
    store.applyBatch(
      batch(0, 2, [
        ['u', 'i', 1],
        ['v', 'i', 1],
      ]),
    );
    const snapshot = store.snapshot();
    expect([...snapshot.interactions.byUser.counts]).toEqual([3, 1, 1]);
    expect([...snapshot.firstSeen]).toEqual([0, 1, 2]);
    await store.close();
  });

  it('a batch of only rejected messages advances the offset without a new sequence', async () => {
    const { store } = tempStore();
    expect(store.applyBatch(batch(3, 0, [], 10n))).toMatchObject({ applied: 0, sequence: 0 });
    expect(store.storedOffsets('t').get(3)).toBe(10n);
    await store.close();
  });

  it('another process reads what this one wrote', async () => {
    const { dir, store } = tempStore();
    const rows: [string, string, number][] = [];
    for (let k = 0; k < 5000; k++) rows.push([`user-${k % 97}`, `item-${k % 89}`, 1 + (k % 3)]);
    store.applyBatch(batch(0, 0, rows));
    const script = `import { InteractionStore } from '@pncf/store';
      const store = InteractionStore.open({ path: process.argv[1], readOnly: true });
      const s = store.snapshot();
      console.log(JSON.stringify({ pairs: s.interactions.byUser.indices.length, total: s.total, users: s.interactions.userIds.length }));`;
    const { stdout } = await promisify(execFile)('npx', ['tsx', '--eval', script, dir], { cwd: repoRoot });
    const local = store.snapshot();
    expect(JSON.parse(stdout)).toEqual({
      pairs: local.interactions.byUser.indices.length,
      total: local.total,
      users: local.interactions.userIds.length,
    });
    expect(local.total).toBe(rows.reduce((sum, row) => sum + row[2], 0));
    await store.close();
  });
});

describe('InteractionStore.applyBatches', () => {
  it('writes several partitions in one transaction, each with its own offset rule', async () => {
    const { store } = tempStore();
    store.applyBatch(batch(0, 0, [['a', 'x', 1]]));
    const result = store.applyBatches([
      batch(0, 0, [
        ['a', 'x', 1],
        ['a', 'y', 2],
      ]),
      batch(1, 0, [['b', 'x', 3]]),
      batch(0, 1, [['a', 'y', 2]]),
    ]);
    expect(result).toEqual({
      batches: [
        { applied: 1, duplicates: 1 },
        { applied: 1, duplicates: 0 },
        { applied: 0, duplicates: 1 },
      ],
      erasedPairs: 0,
      sequence: 2,
      newUsers: 1,
      newItems: 1,
    });
    expect(store.stats()).toMatchObject({ users: 2, items: 2, pairs: 3, total: 6, sequence: 2 });
    expect(store.storedOffsets('t')).toEqual(
      new Map([
        [0, 2n],
        [1, 1n],
      ]),
    );
    await store.close();
  });
});
