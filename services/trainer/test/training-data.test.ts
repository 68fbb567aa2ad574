import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { InteractionStore, type TotalsBatch } from '@pncf/store';
import { afterAll, describe, expect, it } from 'vitest';
import { trainingData } from '../src/training-data.js';

describe('trainingData from a counts view after an erase', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pncf-training-data-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  let offset = 0n;
  const totals = (rows: [string, string, number | null][]): TotalsBatch => {
    const changes = rows.map(([user, item, total]) => ({ offset: offset++, user, item, total }));
    return { topic: 'counts', partition: 0, changes, nextOffset: offset };
  };

  it('has no row of the erased user, nor of an item only they had, and keeps every other pair', async () => {
    const view = InteractionStore.open({ path: dir });
    view.applyTotals([
      totals([
        ['erased', 'shared', 3],
        ['erased', 'theirs-only', 1],
        ['v', 'shared', 2],
        ['v', 'other', 1],
        ['w', 'other', 4],
      ]),
    ]);
    view.applyTotals([totals([['w', 'shared', 1]])]);
    // The changelog's tombstones of the erase.
    view.applyTotals([
      totals([
        ['erased', 'shared', null],
        ['erased', 'theirs-only', null],
      ]),
    ]);
    const snapshot = view.snapshot();
    // The view keeps the ids (dense indices), without pairs.
    expect(snapshot.interactions.userIds).toContain('erased');

    const { data, firstSeen } = trainingData(snapshot, 0);
    expect(data.userIds).toEqual(['v', 'w']);
    expect(data.itemIds).toEqual(['shared', 'other']);
    const pairs: string[] = [];
    for (let u = 0; u < data.byUser.rows; u++) {
      for (let p = data.byUser.indptr[u]!; p < data.byUser.indptr[u + 1]!; p++) {
        const item = data.itemIds[data.byUser.indices[p]!];
        pairs.push(`${data.userIds[u]}/${item}=${data.byUser.counts[p]}@${firstSeen[p]}`);
      }
    }
    // Each pair keeps its count and first-seen sequence (w/shared came in the view's second transaction).
    expect(pairs.sort()).toEqual(['v/other=1@1', 'v/shared=2@1', 'w/other=4@1', 'w/shared=1@2']);

    // The k-core filter still applies on top: at 2, only the users and items with two pairs remain.
    expect(trainingData(snapshot, 2).data.userIds).toEqual(['v', 'w']);
    await view.close();
  });

  it('hands a snapshot with no empty row over as it is', async () => {
    const view = InteractionStore.open({ path: fs.mkdtempSync(path.join(dir, 'full-')) });
    view.applyTotals([totals([['a', 'x', 1]])]);
    const snapshot = view.snapshot();
    expect(trainingData(snapshot, 0).data).toBe(snapshot.interactions);
    await view.close();
  });
});
