import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { fromTriples } from '@pncf/data';
import { afterEach, describe, expect, it } from 'vitest';
import { aggregatePairs, InteractionStore, type StoredEvent } from '../src/index.js';

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

function events(from: number, rows: [string, string, number][]): StoredEvent[] {
  return rows.map(([user, item, count], k) => ({ offset: BigInt(from + k), user, item, count }));
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

describe('InteractionStore', () => {
  it('accumulates counts, skips redelivered offsets and snapshots the CSR of the same triples', async () => {
    const { store } = tempStore();
    const first = events(0, [
      ['alice', 'book', 1],
      ['bob', 'film', 2],
      ['alice', 'film', 1],
      ['alice', 'book', 3],
    ]);
    expect(store.applyBatch({ topic: 't', partition: 0, events: first, nextOffset: 4n })).toMatchObject({
      applied: 4,
      duplicates: 0,
      sequence: 1,
      newUsers: 2,
      newItems: 2,
    });
    // The same batch again (a crash before the Kafka commit) changes nothing.
    expect(store.applyBatch({ topic: 't', partition: 0, events: first, nextOffset: 4n })).toMatchObject({
      applied: 0,
      duplicates: 4,
      sequence: 1,
    });
    // An overlapping batch applies only its new tail.
    const overlap = events(2, [
      ['alice', 'film', 1],
      ['alice', 'book', 3],
      ['carol', 'song', 5],
    ]);
    expect(store.applyBatch({ topic: 't', partition: 0, events: overlap, nextOffset: 5n })).toMatchObject({
      applied: 1,
      duplicates: 2,
      sequence: 2,
    });
    // Another partition has offsets of its own.
    store.applyBatch({ topic: 't', partition: 1, events: events(0, [['bob', 'book', 1]]), nextOffset: 1n });

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
    expect([...store.usersOfItem(store.lookup('item', 'book')!).counts]).toEqual([4, 1]);
    expect(store.lookup('user', 'nobody')).toBeUndefined();
    expect(store.idOf('item', 2)).toBe('song');
    expect(store.totalOf('user', alice)).toBe(5);
    expect(store.totalOf('item', 1)).toBe(3);
    await store.close();
  });

  it('reports what changed since a sequence number, and prunes the log', async () => {
    const { store } = tempStore();
    store.applyBatch({ topic: 't', partition: 0, events: events(0, [['u1', 'i1', 1]]), nextOffset: 1n });
    const seen = store.snapshot().sequence;
    store.applyBatch({
      topic: 't',
      partition: 0,
      events: events(1, [
        ['u2', 'i1', 2],
        ['u1', 'i1', 1],
      ]),
      nextOffset: 3n,
    });
    store.applyBatch({ topic: 't', partition: 0, events: events(3, [['u2', 'i2', 4]]), nextOffset: 4n });

    const changes = store.changesSince(seen);
    expect(changes).toMatchObject({ fromSequence: 1, toSequence: 3, userCount: 2, itemCount: 2, complete: true });
    expect([...changes.users]).toEqual([0, 1, 1]);
    expect([...changes.items]).toEqual([0, 0, 1]);
    expect([...changes.deltas]).toEqual([1, 2, 4]);
    expect(store.changesSince(3).users.length).toBe(0);

    expect(store.pruneChanges(2)).toBe(2);
    expect(store.changesSince(2).complete).toBe(true);
    expect(store.changesSince(0).complete).toBe(false);
    await store.close();
  });

  it('keeps a fixed window of the change log, and prunes an older backlog on opening', async () => {
    const { dir, store } = tempStore();
    const write = (s: InteractionStore, offset: number) =>
      s.applyBatch({
        topic: 't',
        partition: 0,
        events: events(offset, [['u', `i${offset}`, 1]]),
        nextOffset: BigInt(offset + 1),
      });
    for (let offset = 0; offset < 8; offset++) write(store, offset);
    expect(store.stats()).toMatchObject({ sequence: 8, changeLogEntries: 8 });
    await store.close();

    const kept = InteractionStore.open({ path: dir, changeLogKeep: 3 });
    expect(kept.stats()).toMatchObject({ sequence: 8, changeLogEntries: 3 });
    for (let offset = 8; offset < 12; offset++) write(kept, offset);
    expect(kept.stats()).toMatchObject({ sequence: 12, changeLogEntries: 3 });
    expect(kept.changesSince(8).complete).toBe(false);
    const recent = kept.changesSince(9);
    expect(recent.complete).toBe(true);
    expect([...recent.items]).toEqual([9, 10, 11]);
    // Counts are untouched by pruning: the log is only a view of recent writes.
    expect(kept.snapshot().interactions.byUser.indices).toHaveLength(12);
    expect(() => InteractionStore.open({ path: dir, changeLogKeep: 0 })).toThrow(/positive integer/);
    await kept.close();
  });

  it('a batch of only rejected messages advances the offset without a new sequence', async () => {
    const { store } = tempStore();
    expect(store.applyBatch({ topic: 't', partition: 3, events: [], nextOffset: 10n })).toMatchObject({
      applied: 0,
      sequence: 0,
    });
    expect(store.storedOffsets('t').get(3)).toBe(10n);
    await store.close();
  });

  it('another process reads what this one wrote', async () => {
    const { dir, store } = tempStore();
    const rows: [string, string, number][] = [];
    for (let k = 0; k < 5000; k++) rows.push([`user-${k % 97}`, `item-${k % 89}`, 1 + (k % 3)]);
    store.applyBatch({ topic: 't', partition: 0, events: events(0, rows), nextOffset: 5000n });
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
    store.applyBatch({ topic: 't', partition: 0, events: events(0, [['a', 'x', 1]]), nextOffset: 1n });
    const result = store.applyBatches([
      {
        topic: 't',
        partition: 0,
        events: events(0, [
          ['a', 'x', 1],
          ['a', 'y', 2],
        ]),
        nextOffset: 2n,
      },
      { topic: 't', partition: 1, events: events(0, [['b', 'x', 3]]), nextOffset: 1n },
      { topic: 't', partition: 0, events: events(1, [['a', 'y', 2]]), nextOffset: 2n },
    ]);
    expect(result).toEqual({
      batches: [
        { applied: 1, duplicates: 1 },
        { applied: 1, duplicates: 0 },
        { applied: 0, duplicates: 1 },
      ],
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
