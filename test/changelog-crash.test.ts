import fs from 'node:fs';
import { InteractionStore } from '@pncf/store';
import type { Admin } from 'kafkajs';
import { afterAll, describe, expect, it } from 'vitest';
import { countsFromTopic, produceEvents, until } from './changelog-support.js';
import {
  countDifferences,
  createTopics,
  ingesterEnv,
  pairCounts,
  syntheticEvents,
  waitUntilStored,
} from './ingest-support.js';
import { testKafka } from './support/kafka.js';
import { type ServiceProcess, spawnService, stopService, waitForHttp } from './support/services.js';

const EVENTS = 80_000;
const KILLS: { when: 'before' | 'after'; atSend: number }[] = [
  { when: 'before', atSend: 3 },
  { when: 'after', atSend: 2 },
  { when: 'before', atSend: 1 },
  { when: 'before', atSend: 5 },
  { when: 'after', atSend: 4 },
];

describe('the ingester killed between its LMDB commit and the changelog send', () => {
  const env = ingesterEnv('changelog-crash', {
    INTERACTIONS_PARTITIONS: '4',
    LOG_LEVEL: 'info',
    // Small fetches and sends: many commits and many changelog sends per run, so every kill lands mid-stream.
    FETCH_MAX_BYTES_PER_PARTITION: '32768',
    CHANGELOG_BATCH_PAIRS: '300',
  });
  let admin: Admin | undefined;
  let running: ServiceProcess | undefined;

  afterAll(async () => {
    running?.child.kill('SIGKILL');
    await admin
      ?.deleteTopics({ topics: [env.INTERACTIONS_TOPIC!, env.DEAD_LETTER_TOPIC!, env.CHANGELOG_TOPIC!] })
      .catch(() => undefined);
    await admin?.disconnect();
    fs.rmSync(env.STORE_PATH!, { recursive: true, force: true });
  });

  /** The outbox as the killed process left it: pairs committed to LMDB whose totals the topic may lack. */
  const outboxLeft = async () => {
    const store = InteractionStore.open({ path: env.STORE_PATH!, readOnly: true, changelogOutbox: true });
    try {
      return store.outboxSize();
    } finally {
      await store.close();
    }
  };

  it('loses no total and counts nothing twice: the counts rebuilt from the topic equal the source, pair by pair', async () => {
    admin = await createTopics(env, 4);
    const producer = testKafka('pncf-test-changelog-crash').producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const expected = await produceEvents(producer, env.INTERACTIONS_TOPIC!, syntheticEvents(EVENTS, 0xc0ffee));
    await producer.disconnect();

    const left: string[] = [];
    for (const kill of KILLS) {
      const victim = await spawnService(
        'ingester',
        {
          ...env,
          CRASH_CHANGELOG_TOPIC: env.CHANGELOG_TOPIC!,
          CRASH_AT_SEND: String(kill.atSend),
          CRASH_WHEN: kill.when,
        },
        ['--import', './test/support/crash-at-changelog-send.mjs'],
      );
      running = victim;
      await victim.exited;
      expect(victim.child.signalCode, victim.output()).toBe('SIGKILL');
      const pairs = await outboxLeft();
      left.push(`${kill.when} send ${kill.atSend}: ${pairs} pairs in the outbox`);
      // Killed before a send: that send's pairs are committed and not published, so they must still be there.
      if (kill.when === 'before') expect(pairs).toBeGreaterThan(0);
    }
    console.log(`[changelog-crash] ${KILLS.length} SIGKILLs:\n  ${left.join('\n  ')}`);

    // A clean run re-sends what the last kill left, then ingests the rest.
    running = await spawnService('ingester', env);
    await waitForHttp(running, '/readyz', 90_000);
    const store = InteractionStore.open({ path: env.STORE_PATH!, readOnly: true, changelogOutbox: true });
    try {
      await waitUntilStored(
        admin,
        env.INTERACTIONS_TOPIC!,
        () => store.storedOffsets(env.INTERACTIONS_TOPIC!),
        180_000,
      );
      await until('the outbox to drain', () => store.outboxSize() === 0, 60_000);
      expect(countDifferences(pairCounts(store.snapshot().interactions), expected)).toEqual([]);
    } finally {
      await store.close();
    }
    expect(running.output()).toMatch(/sending the changelog outbox left by the last run/);
    const metrics = await (await fetch(`${running.url}/metrics`)).text();
    expect(metrics).toMatch(/pncf_ingester_changelog_records_sent_total\{service="ingester"\} [1-9]/);
    expect(metrics).toContain('pncf_ingester_changelog_outbox_pairs{service="ingester"} 0');
    expect(await stopService(running)).toBe(0);
    running = undefined;

    const rebuilt = await countsFromTopic(admin, env.CHANGELOG_TOPIC!);
    expect(countDifferences(rebuilt, expected)).toEqual([]);
    expect(rebuilt.size).toBe(expected.size);
  }, 400_000);
});
