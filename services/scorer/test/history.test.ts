import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { InteractionStore } from '@pncf/store';
import { afterAll, describe, expect, it } from 'vitest';
import { HistorySource } from '../src/history.js';

describe('HistorySource', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pncf-scorer-history-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('unites the store’s items with consumed events until they expire', async () => {
    const writer = InteractionStore.open({ path: path.join(dir, 'store') });
    const history = new HistorySource(writer, 1000);
    history.record('alice', 'tag-1', 1, 0);
    expect(history.historyOf('alice')).toEqual({ items: ['tag-1'], counts: [1] });

    writer.applyBatch({
      topic: 't',
      partition: 0,
      events: [
        { offset: 0n, user: 'alice', item: 'tag-1', count: 1 },
        { offset: 1n, user: 'alice', item: 'tag-2', count: 3 },
        { offset: 2n, user: 'bob', item: 'tag-2', count: 1 },
      ],
      nextOffset: 3n,
    });
    history.record('alice', 'tag-3', 2, 500);
    // tag-1 is in the store now: its count is the store's, not added twice.
    expect(history.historyOf('alice')).toEqual({ items: ['tag-1', 'tag-2', 'tag-3'], counts: [1, 3, 2] });
    expect(history.historyOf('bob')).toEqual({ items: ['tag-2'], counts: [1] });
    expect(history.historyOf('nobody')).toEqual({ items: [], counts: [] });

    expect(history.prune(1400)).toBe(0);
    expect(history.prune(1600)).toBe(1);
    expect(history.recentUsers()).toBe(0);
    expect(history.historyOf('alice').items).toEqual(['tag-1', 'tag-2']);
    await writer.close();
  });

  it('after an erase, ignores the store’s pairs of the user while the overlay lives and never uses their vector', async () => {
    const store = InteractionStore.open({ path: path.join(dir, 'erase-store') });
    const history = new HistorySource(store, 1000);
    store.applyBatch({
      topic: 't',
      partition: 0,
      events: [
        { offset: 0n, user: 'alice', item: 'tag-1', count: 2 },
        { offset: 1n, user: 'bob', item: 'tag-1', count: 1 },
      ],
      nextOffset: 2n,
    });
    expect(history.request('alice')).toEqual({ user: 'alice', history: { items: ['tag-1'], counts: [2] } });
    const before = history.versionOf('alice');
    history.erase('alice', 0);
    expect(history.versionOf('alice')).not.toBe(before);
    // The view has not dropped alice's pairs yet: they are not hers to read any more.
    expect(history.request('alice')).toEqual({
      user: 'alice',
      history: { items: [], counts: [] },
      useTrainedVector: false,
    });
    // What she does after the erase counts, ranked without her trained vector.
    history.record('alice', 'tag-9', 1, 500);
    expect(history.request('alice')).toEqual({
      user: 'alice',
      history: { items: ['tag-9'], counts: [1] },
      useTrainedVector: false,
    });
    expect(history.request('bob')).toEqual({ user: 'bob', history: { items: ['tag-1'], counts: [1] } });
    // Once the overlay expires the store speaks again (by then it holds the erase and what came after).
    history.prune(1600);
    expect(history.request('alice')).toMatchObject({ history: { items: ['tag-1'] }, useTrainedVector: false });
    await store.close();
  });

  it('ranks a user with no history anywhere without a trained vector (erased before this process started)', async () => {
    const store = InteractionStore.open({ path: path.join(dir, 'no-history-store') });
    const history = new HistorySource(store, 1000);
    expect(history.request('carol')).toEqual({
      user: 'carol',
      history: { items: [], counts: [] },
      useTrainedVector: false,
    });
    history.record('carol', 'tag-1', 1, 0);
    expect(history.request('carol')).toEqual({ user: 'carol', history: { items: ['tag-1'], counts: [1] } });
    await store.close();
  });

  it('versions a user’s history: a new value at each interaction recorded for them, never one seen before', async () => {
    const store = InteractionStore.open({ path: path.join(dir, 'empty-store') });
    const history = new HistorySource(store, 1000);
    expect(history.versionOf('alice')).toBe(0);
    history.record('alice', 'tag-1', 1, 0);
    const first = history.versionOf('alice');
    expect(first).toBeGreaterThan(0);
    history.record('bob', 'tag-1', 1, 0);
    expect(history.versionOf('alice')).toBe(first); // another user's interaction leaves alice's list valid
    history.record('alice', 'tag-1', 1, 100); // the same item again: its count changed
    const second = history.versionOf('alice');
    expect(second).not.toBe(first);
    history.prune(2000);
    expect(history.versionOf('alice')).toBe(0); // expired: the history is the store's alone now
    history.record('alice', 'tag-2', 1, 2000);
    expect([0, first, second]).not.toContain(history.versionOf('alice'));
    await store.close();
  });

  it('versions a change the view applied for the user, which may come from an interaction another replica consumed', async () => {
    const store = InteractionStore.open({ path: path.join(dir, 'view-store') });
    const history = new HistorySource(store, 1000);
    history.record('alice', 'tag-1', 1, 0);
    const recorded = history.versionOf('alice');
    history.storeChanged('alice', 10);
    const changed = history.versionOf('alice');
    expect(changed).not.toBe(recorded);
    expect(history.historyOf('alice').items).toEqual(['tag-1']); // the overlay's items are kept
    history.storeChanged('bob', 20);
    expect(history.versionOf('bob')).toBeGreaterThan(changed);
    expect(history.historyOf('bob')).toEqual({ items: [], counts: [] });
    expect(history.prune(1500)).toBe(2);
    expect(history.versionOf('bob')).toBe(0);
    await store.close();
  });
});
