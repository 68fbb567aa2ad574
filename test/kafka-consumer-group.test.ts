import { ensureTopics } from '@pncf/runtime';
import type { Admin, Consumer, Kafka } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testKafka, uniqueName } from './support/kafka.js';

const EVENTS = 100_000;
const PARTITIONS = 4;
const USERS = 997;

async function produce(kafka: Kafka, topic: string, from: number, to: number): Promise<void> {
  const producer = kafka.producer({ allowAutoTopicCreation: false, idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const batch = 5000;
  for (let start = from; start < to; start += batch) {
    const messages = [];
    for (let id = start; id < Math.min(to, start + batch); id++) {
      messages.push({ key: `user-${id % USERS}`, value: JSON.stringify({ id, user: `user-${id % USERS}` }) });
    }
    await producer.send({ topic, acks: -1, messages });
  }
  await producer.disconnect();
}

/**
 * Consume with manual commits until `expected` events arrived; an id is recorded only after the offset of
 * its batch is committed, which is what "exactly once in effect" means for a consumer.
 */
async function consumeUntil(
  kafka: Kafka,
  topic: string,
  groupId: string,
  expected: number,
): Promise<{ counts: Map<number, number>; keysByPartition: Map<number, Set<string>> }> {
  const consumer: Consumer = kafka.consumer({ groupId, maxBytes: 4 << 20 });
  const counts = new Map<number, number>();
  const keysByPartition = new Map<number, Set<string>>();
  let received = 0;
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const done = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`only ${received}/${expected} events within 60 s`)), 60_000);
    consumer
      .run({
        autoCommit: false,
        eachBatch: async ({ batch }) => {
          const ids: number[] = [];
          const keys = keysByPartition.get(batch.partition) ?? new Set<string>();
          for (const message of batch.messages) {
            ids.push((JSON.parse(String(message.value)) as { id: number }).id);
            keys.add(String(message.key));
          }
          keysByPartition.set(batch.partition, keys);
          const last = batch.messages.at(-1);
          if (!last) return;
          await consumer.commitOffsets([
            { topic, partition: batch.partition, offset: (BigInt(last.offset) + 1n).toString() },
          ]);
          for (const id of ids) counts.set(id, (counts.get(id) ?? 0) + 1);
          received += ids.length;
          if (received >= expected) {
            clearTimeout(timer);
            resolve();
          }
        },
      })
      .catch(reject);
  });
  try {
    await done;
    // Give a late duplicate the chance to show up before the consumer leaves.
    await new Promise((resolve) => setTimeout(resolve, 500));
  } finally {
    await consumer.disconnect();
  }
  return { counts, keysByPartition };
}

describe('Kafka consumer group on the real broker', () => {
  let kafka: Kafka;
  let admin: Admin;
  const topic = uniqueName('roundtrip');
  const groupId = uniqueName('roundtrip-group');

  beforeAll(async () => {
    kafka = testKafka();
    admin = kafka.admin();
    await admin.connect();
    await ensureTopics(admin, [{ topic, partitions: PARTITIONS }]);
  });
  afterAll(async () => {
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect();
  });

  it('delivers 100k keyed events exactly once, keys sticking to one partition', async () => {
    await produce(kafka, topic, 0, EVENTS);
    const { counts, keysByPartition } = await consumeUntil(kafka, topic, groupId, EVENTS);

    expect(counts.size).toBe(EVENTS);
    for (let id = 0; id < EVENTS; id++) expect(counts.get(id)).toBe(1);

    expect([...keysByPartition.keys()].sort()).toEqual([0, 1, 2, 3]);
    const owner = new Map<string, number>();
    for (const [partition, keys] of keysByPartition) {
      for (const key of keys) {
        expect(owner.get(key) ?? partition).toBe(partition);
        owner.set(key, partition);
      }
    }
    expect(owner.size).toBe(USERS);

    const committed = await admin.fetchOffsets({ groupId, topics: [topic] });
    const ends = await admin.fetchTopicOffsets(topic);
    const committedTotal = committed[0]?.partitions.reduce((sum, p) => sum + Number(p.offset), 0);
    expect(committedTotal).toBe(EVENTS);
    expect(committed[0]?.partitions.map((p) => p.offset).sort()).toEqual(ends.map((p) => p.offset).sort());
  });

  it('a restarted consumer resumes from the committed offsets', async () => {
    const more = 10_000;
    await produce(kafka, topic, EVENTS, EVENTS + more);
    const { counts } = await consumeUntil(kafka, topic, groupId, more);

    expect(counts.size).toBe(more);
    for (const [id, count] of counts) {
      expect(id).toBeGreaterThanOrEqual(EVENTS);
      expect(count).toBe(1);
    }
  });
});
