import fs from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { InteractionStore } from '@pncf/store';
import type { Admin } from 'kafkajs';
import { afterAll, describe, expect, it } from 'vitest';
import {
  type ChildIngester,
  countDifferences,
  createTopics,
  ingesterEnv,
  pairCounts,
  spawnIngester,
  waitUntilStored,
} from './ingest-support.js';
import { testKafka } from './support/kafka.js';

const EVENTS = 300_000;

async function waitReady(ingester: ChildIngester): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (ingester.child.exitCode !== null) throw new Error(`ingester exited early:\n${ingester.output()}`);
    const response = await fetch(`http://127.0.0.1:${ingester.port}/readyz`).catch(() => undefined);
    if (response?.ok) return;
    await sleep(100);
  }
  throw new Error(`ingester not ready:\n${ingester.output()}`);
}

describe('SIGTERM during ingestion', () => {
  const env = ingesterEnv('sigterm', { LOG_LEVEL: 'info' });
  const topic = env.INTERACTIONS_TOPIC!;
  let admin: Admin;
  let ingester: ChildIngester | undefined;

  afterAll(async () => {
    ingester?.child.kill('SIGKILL');
    await admin?.deleteTopics({ topics: [topic, env.DEAD_LETTER_TOPIC!] }).catch(() => undefined);
    await admin?.disconnect();
    fs.rmSync(env.STORE_PATH!, { recursive: true, force: true });
  });

  it('finishes the batch in flight, exits 0, and a restart continues without loss or double counting', async () => {
    admin = await createTopics(env, 4);
    const expected = new Map<string, number>();
    const producer = testKafka('pncf-test-sigterm').producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    for (let from = 0; from < EVENTS; from += 10_000) {
      const messages = [];
      for (let k = from; k < from + 10_000; k++) {
        const event = { user: `u${(k * 7919) % 30_011}`, item: `i${(k * 104_729) % 9_973}`, count: 1 + (k % 2) };
        const pair = `${event.user}\t${event.item}`;
        expected.set(pair, (expected.get(pair) ?? 0) + event.count);
        messages.push({ key: event.user, value: JSON.stringify(event) });
      }
      await producer.send({ topic, acks: -1, messages });
    }
    await producer.disconnect();

    ingester = await spawnIngester(env);
    await waitReady(ingester);
    const store = InteractionStore.open({ path: env.STORE_PATH!, readOnly: true });
    try {
      // Stop it as soon as it has started writing: the backlog is far from drained then.
      while (store.stats().total === 0) await sleep(5);
      ingester.child.kill('SIGTERM');
      expect(await ingester.exited).toBe(0);
      const atStop = store.stats();
      console.log(`[ingest-sigterm] stopped with ${atStop.total} counted of ${EVENTS * 1.5}`);
      expect(ingester.output()).toMatch(/"msg":"stopped"/);

      ingester = await spawnIngester(env);
      await waitUntilStored(admin, topic, () => store.storedOffsets(topic), 90_000);
      const stored = pairCounts(store.snapshot().interactions);
      expect(countDifferences(stored, expected)).toEqual([]);
      expect(stored.size).toBe(expected.size);
      expect(store.stats().total).toBe(EVENTS * 1.5);
    } finally {
      await store.close();
    }
  }, 180_000);
});
