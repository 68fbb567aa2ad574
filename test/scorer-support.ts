import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Random } from '@pncf/data';
import { publishOutbox } from '@pncf/ingester';
import { type HistoryModel, initTower, presets, saveArtifact } from '@pncf/pncf';
import type { ModelRegistry } from '@pncf/registry';
import { createKafka } from '@pncf/runtime';
import { InteractionStore, type StoredEvent } from '@pncf/store';
import { AuthorTagGenerator, scaledOptions, streamEvents } from '@pncf/synthetic';

/** A store filled with a synthetic author-tag stream, written directly as the ingester would. */
export async function syntheticStore(
  dir: string,
  events: number,
  seed = 5,
): Promise<{ users: string[]; items: string[] }> {
  const stream = new AuthorTagGenerator(scaledOptions(events, seed)).generate();
  const store = InteractionStore.open({ path: dir, changelogOutbox: true });
  const batch: StoredEvent[] = [];
  let offset = 0n;
  for (const event of streamEvents(stream))
    batch.push({ offset: offset++, user: event.user, item: event.item, count: 1 });
  store.applyBatch({ topic: 'scorer-test', partition: 0, events: batch, nextOffset: offset });
  const { interactions } = store.snapshot();
  await store.close();
  return { users: interactions.userIds, items: interactions.itemIds };
}

/**
 * The counts of a synthetic author-tag stream published to a counts changelog topic (created compacted when
 * missing) through the ingester's own outbox relay, as an ingester that had ingested the stream would have: what a
 * scorer or trainer builds its view from. `dir` receives the source store.
 */
export async function syntheticChangelog(
  brokers: string[],
  topic: string,
  dir: string,
  events: number,
  seed = 5,
): Promise<{ users: string[]; items: string[] }> {
  const ids = await syntheticStore(dir, events, seed);
  const store = InteractionStore.open({ path: dir, changelogOutbox: true });
  try {
    await publishOutbox(createKafka({ brokers, clientId: 'pncf-test-changelog' }), topic, store);
  } finally {
    await store.close();
  }
  return ids;
}

/**
 * Publish a model version over the given ids with random weights (the service mechanics under test do not
 * depend on how well the model was trained; the artifact format is the trainer's). Returns the version.
 */
export function publishRandomModel(
  modelRegistry: ModelRegistry,
  ids: { users: string[]; items: string[] },
  seed: number,
): string {
  const dim = 16;
  const rng = new Random(seed);
  const table = (rows: number) => Float32Array.from({ length: rows * dim }, () => rng.next() * 2 - 1);
  const staged = modelRegistry.createStaging();
  saveArtifact(staged, {
    model: {
      numUsers: ids.users.length,
      numItems: ids.items.length,
      userVectors: table(ids.users.length),
      itemVectors: table(ids.items.length),
      tower: initTower(dim, [32, 16], true, seed, 0.3),
    },
    userIds: ids.users,
    itemIds: ids.items,
    config: presets.default,
    metrics: {},
  });
  return modelRegistry.publish(staged, { seed }).version;
}

/** Publish a history model (PNCF+) over the given ids with random weights, as publishRandomModel does a tower. */
export function publishRandomHistoryModel(
  modelRegistry: ModelRegistry,
  ids: { users: string[]; items: string[] },
  seed: number,
): string {
  const dim = 64;
  const rng = new Random(seed);
  const table = (rows: number, cols = dim) => Float32Array.from({ length: rows * cols }, () => rng.next() * 2 - 1);
  const model: HistoryModel = {
    kind: 'history',
    numUsers: ids.users.length,
    numItems: ids.items.length,
    dim,
    itemInput: table(ids.items.length),
    historyKernel: table(dim),
    userVectors: table(ids.users.length),
    userKernel: table(dim),
    itemOutput: table(ids.items.length),
    itemBias: table(ids.items.length, 1),
  };
  const staged = modelRegistry.createStaging();
  saveArtifact(staged, { model, userIds: ids.users, itemIds: ids.items, config: presets.plus, metrics: {} });
  return modelRegistry.publish(staged, { seed }).version;
}

export function scratchDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `pncf-${prefix}-`));
}
