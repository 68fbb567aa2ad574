import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createLogger } from '@pncf/runtime';
import { type CountsView, startCountsView } from '@pncf/store';
import type { Admin, Producer } from 'kafkajs';
import { pairCounts } from './ingest-support.js';
import { testBrokers } from './support/kafka.js';

/** A counts view of `topic` in the test process, on `dir` (a fresh temporary directory unless given). */
export async function startTestView(
  admin: Admin,
  topic: string,
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pncf-view-')),
): Promise<CountsView & { dir: string }> {
  const view = await startCountsView({
    brokers: testBrokers(),
    topic,
    path: dir,
    noSync: true,
    groupPrefix: `pncf-test-view-${path.basename(dir)}`,
    clientId: 'pncf-test-view',
    logger: createLogger('view', 'warn'),
    admin,
  });
  return Object.assign(view, { dir });
}

/** Every pair's total rebuilt from the changelog alone: a fresh view, caught up, read, and removed. */
export async function countsFromTopic(admin: Admin, topic: string, timeoutMs = 120_000): Promise<Map<string, number>> {
  const view = await startTestView(admin, topic);
  try {
    await withTimeout(view.whenCaughtUp(), timeoutMs, `the view of ${topic} did not catch up`);
    return pairCounts(view.store.snapshot().interactions);
  } finally {
    await view.stop();
    fs.rmSync(view.dir, { recursive: true, force: true });
  }
}

/** Produce `events` to `topic` in sends of 1,000 and return each pair's expected total ("user\titem" keys). */
export async function produceEvents(
  producer: Producer,
  topic: string,
  events: Iterable<{ user: string; item: string; count: number }>,
  expected = new Map<string, number>(),
): Promise<Map<string, number>> {
  let batch: { key: string; value: string }[] = [];
  for (const event of events) {
    const pair = `${event.user}\t${event.item}`;
    expected.set(pair, (expected.get(pair) ?? 0) + event.count);
    batch.push({ key: event.user, value: JSON.stringify(event) });
    if (batch.length === 1000) {
      await producer.send({ topic, acks: -1, messages: batch });
      batch = [];
    }
  }
  if (batch.length > 0) await producer.send({ topic, acks: -1, messages: batch });
  return expected;
}

/** Poll until `done()` holds; reject with `what` after timeoutMs. */
export async function until(what: string, done: () => boolean | Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

export function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${message} within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
