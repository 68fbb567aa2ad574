import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { countsCommitter, InteractionStore } from '@pncf/store';
import type { KafkaMessage } from 'kafkajs';
import { afterEach, describe, expect, it } from 'vitest';
import { classifyMessages, DEAD_LETTER_HEADERS, deadLetterMessage } from '../src/classify.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

const message = (offset: number, value: string | null, key: string | null = null): KafkaMessage => ({
  key: key === null ? null : Buffer.from(key),
  value: value === null ? null : Buffer.from(value),
  offset: String(offset),
  timestamp: '1700000000000',
  attributes: 0,
  headers: {},
});

describe('group commit (countsCommitter)', () => {
  it('puts batches submitted in one turn into one transaction and tells each caller its own outcome', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pncf-group-commit-'));
    dirs.push(dir);
    const store = InteractionStore.open({ path: dir });
    const committer = countsCommitter(store);
    const event = (offset: number, user: string) => ({ offset: BigInt(offset), user, item: 'i', count: 1 });
    const results = await Promise.all([
      committer.submit({ topic: 't', partition: 0, events: [event(0, 'a'), event(1, 'b')], nextOffset: 2n }),
      committer.submit({ topic: 't', partition: 1, events: [event(0, 'c')], nextOffset: 1n }),
    ]);
    expect(results).toEqual([
      { applied: 2, duplicates: 0, sequence: 1 },
      { applied: 1, duplicates: 0, sequence: 1 },
    ]);
    // A later turn is a new transaction; a redelivered batch counts nothing.
    const again = await committer.submit({ topic: 't', partition: 1, events: [event(0, 'c')], nextOffset: 1n });
    expect(again).toEqual({ applied: 0, duplicates: 1, sequence: 1 });
    expect(store.stats()).toMatchObject({ total: 3, sequence: 1 });
    await store.close();
  });
});

describe('classifyMessages and deadLetterMessage', () => {
  it('keeps offsets of valid events and the original bytes and origin of rejected ones', () => {
    const { events, rejected } = classifyMessages([
      message(7, '{"user":"u","item":"i","count":2}', 'u'),
      message(8, 'not json', 'u'),
      message(9, '{"user":"u","item":"j"}', null),
    ]);
    expect(events).toEqual([
      { offset: 7n, user: 'u', item: 'i', count: 2 },
      { offset: 9n, user: 'u', item: 'j', count: 1 },
    ]);
    expect(rejected).toHaveLength(1);
    const letter = deadLetterMessage(rejected[0]!, 'interactions', 3);
    expect(letter.key?.toString()).toBe('u');
    expect(letter.value?.toString()).toBe('not json');
    expect(letter.headers).toMatchObject({
      [DEAD_LETTER_HEADERS.reason]: 'not_json',
      [DEAD_LETTER_HEADERS.topic]: 'interactions',
      [DEAD_LETTER_HEADERS.partition]: '3',
      [DEAD_LETTER_HEADERS.offset]: '8',
      [DEAD_LETTER_HEADERS.timestamp]: '1700000000000',
    });
  });
});
