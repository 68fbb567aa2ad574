import fs from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { InteractionStore } from '@pncf/store';
import type { Admin } from 'kafkajs';
import { afterAll, describe, expect, it } from 'vitest';
import { countsFromTopic } from './changelog-support.js';
import {
  type ChildIngester,
  countDifferences,
  createTopics,
  syntheticEvents as events,
  ingesterEnv,
  pairCounts,
  spawnIngester,
  waitUntilStored,
} from './ingest-support.js';
import { testKafka } from './support/kafka.js';

/** The issue asks for 500k events; INGEST_CRASH_EVENTS lowers it for a quick local run. */
const EVENTS = Number(process.env.INGEST_CRASH_EVENTS ?? 500_000);
/** Paced so the replay lasts long enough for the kills to land while events are still arriving. */
const RATE = Number(process.env.INGEST_CRASH_RATE ?? 8_000);
const MIN_KILLS = 5;

async function ready(ingester: ChildIngester, timeoutMs = 60_000): Promise<number[]> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (ingester.child.exitCode !== null) throw new Error(`ingester exited early:\n${ingester.output()}`);
    try {
      const response = await fetch(`http://127.0.0.1:${ingester.port}/readyz`);
      if (response.ok) return ((await response.json()) as { partitions: number[] }).partitions;
    } catch {
      // not listening yet
    }
    await sleep(200);
  }
  throw new Error(`ingester not ready within ${timeoutMs} ms:\n${ingester.output()}`);
}

describe('ingester processes killed with SIGKILL during a replay', () => {
  const env = ingesterEnv('crash', { INTERACTIONS_PARTITIONS: '4', LOG_LEVEL: 'info' });
  const topic = env.INTERACTIONS_TOPIC!;
  let admin: Admin;
  const running: ChildIngester[] = [];
  let reader: InteractionStore | undefined;

  afterAll(async () => {
    for (const ingester of running) ingester.child.kill('SIGKILL');
    await reader?.close();
    await admin?.deleteTopics({ topics: [topic, env.DEAD_LETTER_TOPIC!, env.CHANGELOG_TOPIC!] }).catch(() => undefined);
    await admin?.disconnect();
    fs.rmSync(env.STORE_PATH!, { recursive: true, force: true });
  });

  it(`two ingesters in one group, killed at random moments, store ${EVENTS} events exactly once`, async () => {
    admin = await createTopics(env, 4);
    running.push(await spawnIngester(env), await spawnIngester(env));
    await Promise.all(running.map((ingester) => ready(ingester)));
    reader = InteractionStore.open({ path: env.STORE_PATH!, readOnly: true });
    const store = reader;

    const expected = new Map<string, number>();
    const producer = testKafka('pncf-test-crash-replay').producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    let produced = 0;
    const replay = (async () => {
      const started = performance.now();
      let batch: { key: string; value: string }[] = [];
      for (const event of events(EVENTS)) {
        const pair = `${event.user}\t${event.item}`;
        expected.set(pair, (expected.get(pair) ?? 0) + event.count);
        batch.push({ key: event.user, value: JSON.stringify(event) });
        if (batch.length === 1000) {
          await producer.send({ topic, acks: -1, messages: batch });
          produced += batch.length;
          batch = [];
          const due = (produced / RATE) * 1000 - (performance.now() - started);
          if (due > 0) await sleep(due);
        }
      }
      if (batch.length > 0) await producer.send({ topic, acks: -1, messages: batch });
      produced += batch.length;
      await producer.disconnect();
    })();
    let replayDone = false;
    void replay.finally(() => {
      replayDone = true;
    });

    /** Resolve once the store has grown past `total`, i.e. the group is writing again after a kill. */
    const writing = async (total: number) => {
      const deadline = Date.now() + 60_000;
      while (!replayDone && store.stats().total <= total && Date.now() < deadline) await sleep(50);
    };
    const kills: string[] = [];
    while (!replayDone) {
      // A random moment while batches are being written, not while the group is still rebalancing.
      await writing(store.stats().total);
      await sleep(Math.random() * 2000);
      if (replayDone) break;
      const victim = Math.floor(Math.random() * running.length);
      const ingester = running[victim]!;
      const storedBefore = store.stats().total;
      ingester.child.kill('SIGKILL');
      await ingester.exited;
      kills.push(`pid ${ingester.child.pid} at ${produced} produced, ${storedBefore} counted`);
      running[victim] = await spawnIngester(env);
    }
    await replay;
    console.log(`[ingest-crash] ${kills.length} SIGKILLs:\n  ${kills.join('\n  ')}`);
    expect(kills.length).toBeGreaterThanOrEqual(MIN_KILLS);
    expect(produced).toBe(EVENTS);

    await waitUntilStored(admin, topic, () => store.storedOffsets(topic), 180_000);

    // Once the group settles, the two processes share the four partitions.
    const deadline = Date.now() + 60_000;
    let assignments: number[][] = [];
    while (Date.now() < deadline) {
      assignments = await Promise.all(running.map((ingester) => ready(ingester)));
      if (assignments.every((partitions) => partitions.length > 0) && assignments.flat().length === 4) break;
      await sleep(500);
    }
    expect(assignments.flat().sort()).toEqual([0, 1, 2, 3]);
    expect(assignments.every((partitions) => partitions.length > 0)).toBe(true);

    // The real processes' /metrics: nothing left behind on their partitions, the shared store's size.
    for (const ingester of running) {
      const metrics = await (await fetch(`http://127.0.0.1:${ingester.port}/metrics`)).text();
      const lags = [...metrics.matchAll(/^pncf_ingester_consumer_lag_messages\{[^}]*\} (\d+)$/gm)].map((match) =>
        Number(match[1]),
      );
      expect(lags.length).toBeGreaterThan(0);
      expect(lags.every((value) => value === 0)).toBe(true);
      expect(metrics).toContain(`pncf_ingester_store_pairs{service="ingester"} ${expected.size}`);
    }

    // SIGTERM: each finishes its batch and exits cleanly.
    for (const ingester of running) ingester.child.kill('SIGTERM');
    const codes = await Promise.all(running.map((ingester) => ingester.exited));
    expect(codes).toEqual([0, 0]);
    running.length = 0;

    const snapshot = store.snapshot();
    const stored = pairCounts(snapshot.interactions);
    expect(countDifferences(stored, expected)).toEqual([]);
    expect(stored.size).toBe(expected.size);
    let total = 0;
    for (const count of expected.values()) total += count;
    expect(snapshot.total).toBe(total);

    // Both processes published through the shared store's outbox, each killed mid-way several times: the counts
    // rebuilt from the changelog alone equal the source too.
    const published = await countsFromTopic(admin, env.CHANGELOG_TOPIC!);
    expect(countDifferences(published, expected)).toEqual([]);
    expect(published.size).toBe(expected.size);
  }, 420_000);
});
