import fs from 'node:fs';
import { loadInteractions } from '@pncf/evaluation';
import type { Admin } from 'kafkajs';
import { afterAll, describe, expect, it } from 'vitest';
import { replayFile } from '../packages/cli/src/commands/replay.js';
import {
  countDifferences,
  createTopics,
  type InProcessIngester,
  ingesterEnv,
  pairCounts,
  sharedData,
  startInProcessIngester,
  tearDownIngest,
  waitUntilStored,
} from './ingest-support.js';
import { testKafka } from './support/kafka.js';

const file = sharedData('movielens', 'ml-100k', 'u.data');

describe.skipIf(!fs.existsSync(file))('replaying ML-100K through Kafka into the store', () => {
  // Small fetches: many write transactions must add up to exact counts.
  const env = ingesterEnv('ml100k', {
    INTERACTIONS_PARTITIONS: '4',
    FETCH_MAX_BYTES_PER_PARTITION: String(64 * 1024),
  });
  let admin: Admin;
  let ingester: InProcessIngester | undefined;

  afterAll(async () => {
    await tearDownIngest(env, admin, ingester);
  });

  it('leaves counts identical to the file', async () => {
    admin = await createTopics(env, 4);
    const replayed = await replayFile({
      kafka: testKafka('pncf-test-replay'),
      topic: env.INTERACTIONS_TOPIC!,
      file,
      format: 'ml-100k',
    });
    expect(replayed.events).toBe(100_000);

    ingester = await startInProcessIngester(env);
    const store = ingester.store;
    await waitUntilStored(admin, env.INTERACTIONS_TOPIC!, () => store.storedOffsets(env.INTERACTIONS_TOPIC!), 90_000);

    const snapshot = store.snapshot();
    // An independent parser of the same file (the evaluation harness's loader) is the reference.
    const expected = loadInteractions(file, 'ml-100k');
    expect(snapshot.total).toBe(100_000);
    expect(snapshot.interactions.userIds.length).toBe(expected.userIds.length);
    expect(snapshot.interactions.itemIds.length).toBe(expected.itemIds.length);
    const stored = pairCounts(snapshot.interactions);
    expect(stored.size).toBe(pairCounts(expected).size);
    expect(countDifferences(stored, pairCounts(expected))).toEqual([]);

    const metrics = await (await fetch(ingester.metricsUrl)).text();
    expect(metrics).toMatch(/^pncf_ingester_events_stored_total\{service="ingester"\} 100000$/m);
    expect(metrics).toMatch(/^pncf_ingester_store_pairs\{service="ingester"\} 100000$/m);
    expect(metrics).toMatch(
      /^pncf_ingester_consumer_lag_messages\{topic="[^"]+",partition="\d",service="ingester"\} 0$/m,
    );
    expect(snapshot.sequence).toBeGreaterThan(5);
    expect(metrics).toMatch(
      new RegExp(`^pncf_ingester_store_sequence\\{service="ingester"\\} ${snapshot.sequence}$`, 'm'),
    );
  }, 150_000);
});
