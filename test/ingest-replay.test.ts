import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { parseInteractions } from '@pncf/evaluation';
import type { Admin } from 'kafkajs';
import { afterAll, describe, expect, it } from 'vitest';
import { linesOf, parseLine, ReplayLineError } from '../packages/cli/src/commands/replay.js';
import {
  countDifferences,
  createTopics,
  type InProcessIngester,
  ingesterEnv,
  pairCounts,
  repoRoot,
  sharedData,
  startInProcessIngester,
  tearDownIngest,
  waitUntilStored,
} from './ingest-support.js';
import { testBrokers } from './support/kafka.js';

const run = promisify(execFile);
const cli = (args: string[]) =>
  run(process.execPath, ['--import', 'tsx', path.join(repoRoot, 'packages/cli/src/main.ts'), ...args], {
    cwd: repoRoot,
  });

describe('linesOf', () => {
  it('splits chunks into lines, keeping characters split across chunks whole', async () => {
    const euro = Buffer.from('€'); // 3 bytes
    async function* chunks() {
      yield Buffer.concat([Buffer.from('a,b\nc,'), euro.subarray(0, 1)]);
      yield Buffer.concat([euro.subarray(1), Buffer.from('\r\n\nlast')]);
    }
    const lines: string[] = [];
    for await (const line of linesOf(chunks())) lines.push(line);
    expect(lines).toEqual(['a,b', 'c,€\r', '', 'last']);
  });

  it('reads every line of a file even when the consumer awaits before and between lines', async () => {
    const file = path.join(os.tmpdir(), `pncf-lines-${process.pid}.txt`);
    fs.writeFileSync(file, Array.from({ length: 50_000 }, (_, k) => `line ${k}`).join('\n'));
    try {
      const lines = linesOf(fs.createReadStream(file));
      await new Promise((resolve) => setTimeout(resolve, 50)); // readline's iterator loses lines here
      let count = 0;
      for await (const line of lines) {
        expect(line).toBe(`line ${count}`);
        count++;
        if (count % 10_000 === 0) await new Promise((resolve) => setImmediate(resolve));
      }
      expect(count).toBe(50_000);
    } finally {
      fs.rmSync(file);
    }
  });
});

describe('parseLine', () => {
  it('reads the three formats', () => {
    expect(parseLine('196\t242\t3\t881250949', 1, 'ml-100k')).toEqual({ user: '196', item: '242', ts: 881250949000 });
    expect(parseLine('1::1193::5::978300760\r', 1, 'ml-1m')).toEqual({ user: '1', item: '1193', ts: 978300760000 });
    expect(parseLine('user,item,current', 1, 'author-tag')).toBeUndefined();
    expect(parseLine('\uFEFFuser,item,current', 1, 'author-tag')).toBeUndefined();
    expect(parseLine('42,7,3', 2, 'author-tag')).toEqual({ user: '42', item: '7', count: 3 });
    expect(parseLine('user,item', 1, 'generic')).toBeUndefined();
    expect(parseLine('alice, book', 1, 'generic')).toEqual({ user: 'alice', item: 'book' });
    expect(parseLine('alice,book,12', 5, 'generic')).toEqual({ user: 'alice', item: 'book', count: 12 });
    expect(parseLine('   ', 9, 'generic')).toBeUndefined();
  });

  it('names the file and line of a malformed row', () => {
    expect(() => parseLine('1\t2\t3', 4, 'ml-100k', 'u.data')).toThrow(
      new ReplayLineError('u.data', 4, 'expected user, item, rating, timestamp; got 3 fields'),
    );
    expect(() => parseLine('a,b', 2, 'author-tag', 'f.csv')).toThrow(/f\.csv:2: expected user,item,current/);
    expect(() => parseLine('a,b,0', 2, 'generic')).toThrow(/count "0" is not a positive integer/);
    expect(() => parseLine('a,b,1.5', 2, 'generic')).toThrow(/not a positive integer/);
    expect(() => parseLine(',b', 3, 'generic')).toThrow(/empty user or item id/);
    expect(() => parseLine('a,b,1,2', 3, 'generic')).toThrow(/got 4 fields/);
  });
});

describe.skipIf(!fs.existsSync(sharedData('bilibili', 'bt_test_set.csv')))('pncf replay, the command', () => {
  const env = ingesterEnv('replay');
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'pncf-replay-test-'));
  let admin: Admin;
  let ingester: InProcessIngester | undefined;

  afterAll(async () => {
    await tearDownIngest(env, admin, ingester);
    fs.rmSync(scratch, { recursive: true, force: true });
  });

  it('streams an ML-1M style file and an author-tag slice into Kafka; the store holds their counts', async () => {
    admin = await createTopics(env, 2);
    const topic = env.INTERACTIONS_TOPIC!;
    const brokers = testBrokers().join(',');

    const ml1m = path.join(scratch, 'ratings.dat');
    const ml1mRows = ['1::1193::5::978300760', '1::661::3::978302109', '2::1193::4::978298413', '3::260::5::978297039'];
    fs.writeFileSync(ml1m, `${ml1mRows.join('\n')}\n`);
    const first = await cli(['replay', '--file', ml1m, '--format', 'ml-1m', '--topic', topic, '--brokers', brokers]);
    expect(first.stdout).toMatch(/replayed 4 events/);

    // The first 3000 rows of the Bilibili author-tag file (counts > 1), paced at 2000 events/s.
    const bilibili = sharedData('bilibili', 'bt_test_set.csv');
    const rows = 3000;
    const slice = fs
      .readFileSync(bilibili, 'utf8')
      .split('\n')
      .slice(0, rows + 1)
      .join('\n');
    const started = Date.now();
    const second = await cli(
      ['replay', '--file', bilibili, '--format', 'author-tag', '--topic', topic, '--brokers', brokers].concat([
        '--rate',
        '2000',
        '--limit',
        String(rows),
      ]),
    );
    expect(second.stdout).toMatch(new RegExp(`replayed ${rows} events`));
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000); // paced: 3000 events at 2000/s

    ingester = await startInProcessIngester(env);
    const store = ingester.store;
    await waitUntilStored(admin, topic, () => store.storedOffsets(topic), 60_000);
    const expected = pairCounts(
      parseInteractions(
        `${ml1mRows.map((row) => row.split('::').slice(0, 2).join(',')).join('\n')}\n${slice.split('\n').slice(1).join('\n')}`,
        'generic',
      ),
    );
    const stored = pairCounts(store.snapshot().interactions);
    expect(countDifferences(stored, expected)).toEqual([]);
    expect(stored.size).toBe(expected.size);
  }, 120_000);

  it('checks its file before touching Kafka, and names a broker that does not answer within seconds', async () => {
    const missing = path.join(scratch, 'no-such-file.csv');
    // A broker address nothing listens on: the file check must come first, so no Kafka wait happens.
    const started = Date.now();
    await expect(cli(['replay', '--file', missing, '--format', 'generic', '--brokers', '127.0.0.1:1'])).rejects.toThrow(
      `replay: ${missing} is not a readable file`,
    );
    expect(Date.now() - started).toBeLessThan(8000);
    const file = path.join(scratch, 'one.csv');
    fs.writeFileSync(file, 'u1,i1\n');
    await expect(
      cli(['replay', '--file', file, '--format', 'generic', '--brokers', 'nowhere.invalid:9092']),
    ).rejects.toThrow('Kafka broker address nowhere.invalid:9092: host name not found');
    await expect(cli(['replay', '--file', file, '--format', 'generic', '--brokers', 'localhost'])).rejects.toThrow(
      '"localhost" is not host:port',
    );
  });

  it('rejects an unknown format', async () => {
    await expect(cli(['replay', '--file', 'x', '--format', 'parquet'])).rejects.toThrow(
      /Allowed choices are ml-100k, ml-1m, author-tag, generic/,
    );
  });
});
