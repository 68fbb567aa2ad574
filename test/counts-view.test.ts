import fs from 'node:fs';
import { interactionCountMessage } from '@pncf/events';
import type { Admin, Producer } from 'kafkajs';
import { afterAll, describe, expect, it } from 'vitest';
import { countsFromTopic, produceEvents, startTestView, until, withTimeout } from './changelog-support.js';
import {
  countDifferences,
  createTopics,
  type InProcessIngester,
  ingesterEnv,
  pairCounts,
  startInProcessIngester,
  syntheticEvents,
  tearDownIngest,
  waitUntilStored,
} from './ingest-support.js';
import { testKafka } from './support/kafka.js';

const EVENTS = 60_000;

describe('counts view rebuilt from the interaction-counts changelog', () => {
  const env = ingesterEnv('view', { INTERACTIONS_PARTITIONS: '4', CHANGELOG_PARTITIONS: '3', STORE_NO_SYNC: 'true' });
  let admin: Admin | undefined;
  let ingester: InProcessIngester | undefined;
  let producer: Producer | undefined;
  const viewDirs: string[] = [];

  afterAll(async () => {
    await producer?.disconnect();
    await tearDownIngest(env, admin, ingester);
    for (const dir of viewDirs) fs.rmSync(dir, { recursive: true, force: true });
  });

  /** Everything produced is counted by the ingester and acknowledged by the changelog topic. */
  const settled = async (store: InProcessIngester['store']) => {
    await waitUntilStored(admin!, env.INTERACTIONS_TOPIC!, () => store.storedOffsets(env.INTERACTIONS_TOPIC!), 120_000);
    await until('the outbox to drain', () => store.outboxSize() === 0);
  };

  it('equals the ingester’s counts pair by pair after a replay, and resumes from its stored offsets', async () => {
    admin = await createTopics(env, 4);
    ingester = await startInProcessIngester(env);
    producer = testKafka('pncf-test-view').producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const expected = await produceEvents(producer, env.INTERACTIONS_TOPIC!, syntheticEvents(EVENTS / 2));
    await settled(ingester.store);

    // A view started on an empty directory catches up from the topic alone.
    const view = await startTestView(admin, env.CHANGELOG_TOPIC!);
    viewDirs.push(view.dir);
    await withTimeout(view.whenCaughtUp(), 60_000, 'first catch-up');
    expect(view.caughtUp()).toBe(true);
    const ingested = pairCounts(ingester.store.snapshot().interactions);
    expect(countDifferences(ingested, expected)).toEqual([]);
    expect(countDifferences(pairCounts(view.store.snapshot().interactions), ingested)).toEqual([]);
    expect(view.store.stats().total).toBe(ingester.store.stats().total);
    await view.stop();

    // More events while the view is down; restarted on the same directory it reads on from its stored offsets.
    await produceEvents(producer, env.INTERACTIONS_TOPIC!, syntheticEvents(EVENTS / 2, 0xbeef), expected);
    await settled(ingester.store);
    const resumed = await startTestView(admin, env.CHANGELOG_TOPIC!, view.dir);
    const offsetsBefore = resumed.store.storedOffsets(env.CHANGELOG_TOPIC!);
    expect([...offsetsBefore.values()].every((offset) => offset > 0n)).toBe(true);
    await withTimeout(resumed.whenCaughtUp(), 60_000, 'catch-up after the restart');
    const afterRestart = pairCounts(resumed.store.snapshot().interactions);
    expect(countDifferences(afterRestart, expected)).toEqual([]);
    expect(afterRestart.size).toBe(expected.size);

    // A tombstone removes the pair from the view.
    const [user, item] = [...expected.keys()][0]!.split('\t') as [string, string];
    await producer.send({
      topic: env.CHANGELOG_TOPIC!,
      acks: -1,
      messages: [interactionCountMessage({ user, item, total: null })],
    });
    await until('the tombstone to reach the view', () => {
      const index = resumed.store.lookup('user', user);
      return index !== undefined && resumed.store.itemsOfUser(index).indices.length < countItems(expected, user);
    });
    expect(resumed.store.stats().pairs).toBe(expected.size - 1);
    await resumed.stop();

    // And a third view, from nothing, agrees with that.
    const rebuilt = await countsFromTopic(admin, env.CHANGELOG_TOPIC!);
    expected.delete(`${user}\t${item}`);
    expect(countDifferences(rebuilt, expected)).toEqual([]);
    expect(rebuilt.size).toBe(expected.size);
  }, 300_000);
});

function countItems(expected: Map<string, number>, user: string): number {
  let n = 0;
  for (const pair of expected.keys()) if (pair.startsWith(`${user}\t`)) n++;
  return n;
}
