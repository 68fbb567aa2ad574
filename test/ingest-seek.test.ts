import fs from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { InteractionStore } from '@pncf/store';
import type { Admin, Kafka } from 'kafkajs';
import { afterAll, describe, expect, it } from 'vitest';
import {
  countDifferences,
  createTopics,
  type InProcessIngester,
  ingesterEnv,
  pairCounts,
  startInProcessIngester,
  waitUntilStored,
} from './ingest-support.js';
import { testKafka } from './support/kafka.js';

async function produce(kafka: Kafka, topic: string, from: number, to: number, expected: Map<string, number>) {
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const messages = [];
  for (let k = from; k < to; k++) {
    const event = { user: `u${k % 101}`, item: `i${(k * 13) % 67}`, count: 1 + (k % 5) };
    const pair = `${event.user}\t${event.item}`;
    expected.set(pair, (expected.get(pair) ?? 0) + event.count);
    messages.push({ key: event.user, value: JSON.stringify(event) });
  }
  await producer.send({ topic, acks: -1, messages });
  await producer.disconnect();
}

/** Kafka's committed offsets of the group reach the partition ends (what lag tools look at). */
async function waitForKafkaCommit(admin: Admin, groupId: string, topic: string): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    const answer = await Promise.all([
      admin.fetchOffsets({ groupId, topics: [topic] }),
      admin.fetchTopicOffsets(topic),
    ]).catch(() => undefined); // a coordinator still loading answers with a retriable error
    if (!answer) {
      await sleep(200);
      continue;
    }
    const [[committed], ends] = answer;
    const behind = ends.filter(
      (end) => committed?.partitions.find((p) => p.partition === end.partition)?.offset !== end.high,
    );
    if (behind.length === 0) return;
    await sleep(200);
  }
  throw new Error('Kafka commits did not reach the partition ends');
}

describe('the store, not Kafka, decides where consumption resumes', () => {
  const env = ingesterEnv('seek', { KAFKA_COMMIT_INTERVAL_MS: '200' });
  const topic = env.INTERACTIONS_TOPIC!;
  const backup = `${env.STORE_PATH}-backup`;
  const kafka = testKafka('pncf-test-seek');
  let admin: Admin;
  let ingester: InProcessIngester | undefined;

  afterAll(async () => {
    await ingester?.stop();
    await admin?.deleteTopics({ topics: [topic, env.DEAD_LETTER_TOPIC!] }).catch(() => undefined);
    await admin?.disconnect();
    for (const dir of [env.STORE_PATH!, backup]) fs.rmSync(dir, { recursive: true, force: true });
  });

  async function drain(): Promise<void> {
    ingester = await startInProcessIngester(env);
    const store = ingester.store;
    await waitUntilStored(admin, topic, () => store.storedOffsets(topic), 60_000);
    await waitForKafkaCommit(admin, env.CONSUMER_GROUP!, topic);
    await ingester.stop();
    ingester = undefined;
  }

  it('a store restored from an older copy re-reads what it lacks although Kafka committed further', async () => {
    admin = await createTopics(env, 2);
    const expected = new Map<string, number>();
    await produce(kafka, topic, 0, 2000, expected);
    await drain();
    fs.cpSync(env.STORE_PATH!, backup, { recursive: true });

    await produce(kafka, topic, 2000, 5000, expected);
    await drain(); // Kafka's committed offsets are now at the end of both partitions.

    fs.rmSync(env.STORE_PATH!, { recursive: true, force: true });
    fs.cpSync(backup, env.STORE_PATH!, { recursive: true });
    const restored = InteractionStore.open({ path: env.STORE_PATH!, readOnly: true });
    const restoredOffsets = restored.storedOffsets(topic);
    await restored.close();
    const ends = await admin.fetchTopicOffsets(topic);
    expect(ends.some((end) => (restoredOffsets.get(end.partition) ?? 0n) < BigInt(end.high))).toBe(true);

    ingester = await startInProcessIngester(env);
    const store = ingester.store;
    await waitUntilStored(admin, topic, () => store.storedOffsets(topic), 60_000);
    // Settle: a seek that went wrong would show up as extra or missing counts now.
    await sleep(500);
    const stored = pairCounts(store.snapshot().interactions);
    expect(countDifferences(stored, expected)).toEqual([]);
    expect(stored.size).toBe(expected.size);
  }, 120_000);
});
