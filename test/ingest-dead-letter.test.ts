import { DEAD_LETTER_HEADERS } from '@pncf/ingester';
import type { Admin, IHeaders, Kafka, KafkaMessage, Producer } from 'kafkajs';
import { afterAll, describe, expect, it } from 'vitest';
import { type MalformedSample, malformedSamples } from './ingest-malformed-fixtures.js';
import {
  countDifferences,
  createTopics,
  type InProcessIngester,
  ingesterEnv,
  pairCounts,
  startInProcessIngester,
  tearDownIngest,
  waitUntilStored,
} from './ingest-support.js';
import { testKafka, uniqueName } from './support/kafka.js';

const ROUNDS = 3;
const header = (headers: IHeaders | undefined, name: string) => headers?.[name]?.toString();

/** Send valid events keyed by user, returning what they add up to. */
async function sendValid(producer: Producer, topic: string, from: number, n: number, expected: Map<string, number>) {
  const messages = [];
  for (let k = from; k < from + n; k++) {
    const user = `user-${k % 53}`;
    const item = `item-${(k * 7) % 31}`;
    const count = 1 + (k % 4);
    expected.set(`${user}\t${item}`, (expected.get(`${user}\t${item}`) ?? 0) + count);
    messages.push({ key: user, value: JSON.stringify(count === 1 ? { user, item } : { user, item, count }) });
  }
  await producer.send({ topic, acks: -1, messages });
}

async function readTopic(kafka: Kafka, topic: string, expected: number): Promise<KafkaMessage[]> {
  const consumer = kafka.consumer({ groupId: uniqueName('dlq-reader') });
  const messages: KafkaMessage[] = [];
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const done = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`only ${messages.length}/${expected} dead letters`)), 30_000);
    void consumer.run({
      eachMessage: async ({ message }) => {
        messages.push(message);
        if (messages.length >= expected) {
          clearTimeout(timer);
          resolve();
        }
      },
    });
  });
  try {
    await done;
    await new Promise((resolve) => setTimeout(resolve, 500)); // let a duplicate show itself
  } finally {
    await consumer.disconnect();
  }
  return messages;
}

describe('malformed messages mixed into a valid stream', () => {
  const env = ingesterEnv('dlq');
  const kafka = testKafka('pncf-test-dlq');
  let admin: Admin;
  let ingester: InProcessIngester | undefined;

  afterAll(async () => {
    await tearDownIngest(env, admin, ingester);
  });

  it('dead-letters each bad one with its reason and origin, counts each good one, and keeps going', async () => {
    const topic = env.INTERACTIONS_TOPIC!;
    admin = await createTopics(env, 4);
    ingester = await startInProcessIngester(env);
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();

    const expected = new Map<string, number>();
    const sent = new Map<string, MalformedSample>(); // "partition:offset" → sample
    let valid = 0;
    for (let round = 0; round < ROUNDS; round++) {
      for (const sample of malformedSamples) {
        await sendValid(producer, topic, valid, 40, expected);
        valid += 40;
        const [meta] = await producer.send({ topic, acks: -1, messages: [{ key: sample.key, value: sample.value }] });
        sent.set(`${meta!.partition}:${meta!.baseOffset}`, sample);
      }
    }
    await waitUntilStored(admin, topic, () => ingester!.store.storedOffsets(topic), 60_000);

    // The service is still consuming after all of that.
    await sendValid(producer, topic, valid, 500, expected);
    valid += 500;
    await producer.disconnect();
    await waitUntilStored(admin, topic, () => ingester!.store.storedOffsets(topic), 30_000);

    const snapshot = ingester.store.snapshot();
    expect(countDifferences(pairCounts(snapshot.interactions), expected)).toEqual([]);
    expect(pairCounts(snapshot.interactions).size).toBe(expected.size);

    const letters = await readTopic(kafka, env.DEAD_LETTER_TOPIC!, sent.size);
    expect(letters.length).toBe(sent.size);
    const seen = new Set<string>();
    for (const letter of letters) {
      expect(header(letter.headers, DEAD_LETTER_HEADERS.topic)).toBe(topic);
      const origin = `${header(letter.headers, DEAD_LETTER_HEADERS.partition)}:${header(letter.headers, DEAD_LETTER_HEADERS.offset)}`;
      const sample = sent.get(origin);
      expect(sample, `dead letter from ${origin} matches a sent bad message`).toBeDefined();
      expect(seen.has(origin)).toBe(false);
      seen.add(origin);
      expect(header(letter.headers, DEAD_LETTER_HEADERS.reason), sample!.name).toBe(sample!.reason);
      expect(header(letter.headers, DEAD_LETTER_HEADERS.detail)?.length).toBeGreaterThan(0);
      expect(Buffer.from(letter.value ?? [])).toEqual(Buffer.from(sample!.value ?? []));
    }

    const metrics = await (await fetch(ingester.metricsUrl)).text();
    const byReason = new Map<string, number>();
    for (const sample of malformedSamples) byReason.set(sample.reason, (byReason.get(sample.reason) ?? 0) + ROUNDS);
    for (const [reason, count] of byReason) {
      expect(metrics).toContain(
        `pncf_ingester_events_dead_lettered_total{reason="${reason}",service="ingester"} ${count}`,
      );
    }
    expect(metrics).toContain(`pncf_ingester_events_consumed_total{service="ingester"} ${valid + sent.size}`);
    expect(metrics).toContain(`pncf_ingester_events_stored_total{service="ingester"} ${valid}`);
    expect(metrics).toMatch(/pncf_ingester_batch_messages_count\{service="ingester"\} [1-9]/);
    expect(metrics).toMatch(/pncf_ingester_batch_duration_seconds_bucket\{le="\+Inf",service="ingester"\} [1-9]/);
    expect(metrics).toMatch(/pncf_ingester_store_size_bytes\{service="ingester"\} [1-9]/);
  }, 120_000);
});
