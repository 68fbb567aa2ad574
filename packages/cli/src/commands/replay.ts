import fs from 'node:fs';
import readline from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { type InteractionEvent, toKafkaMessage } from '@pncf/events';
import { createKafka, ensureTopics } from '@pncf/runtime';
import { SingleBar } from 'cli-progress';
import { Command, InvalidArgumentError, Option } from 'commander';
import type { Kafka } from 'kafkajs';

/**
 * - movielens: `user<TAB>item<TAB>rating<TAB>ts` (ML-100K u.data) or `user::item::rating::ts` (ML-1M);
 *   every rating is one interaction, its timestamp (seconds) becomes ts.
 * - author-tag: CSV with header `user,item,current`; current is the count.
 * - csv: `user,item[,count]`, optional header line starting with "user".
 */
export const REPLAY_FORMATS = ['movielens', 'author-tag', 'csv'] as const;
export type ReplayFormat = (typeof REPLAY_FORMATS)[number];

export class ReplayLineError extends Error {
  constructor(file: string, line: number, reason: string) {
    super(`${file}:${line}: ${reason}`);
    this.name = 'ReplayLineError';
  }
}

const POSITIVE_INTEGER = /^[1-9]\d*$/;

/** One line of a data set → an event; undefined for blank lines and headers. Throws on a malformed line. */
export function parseLine(
  line: string,
  lineNo: number,
  format: ReplayFormat,
  file = '<input>',
): InteractionEvent | undefined {
  const text = line.endsWith('\r') ? line.slice(0, -1) : line;
  if (text.trim().length === 0) return undefined;
  const fail = (reason: string): never => {
    throw new ReplayLineError(file, lineNo, reason);
  };
  if (format === 'movielens') {
    const fields = text.includes('::') ? text.split('::') : text.split('\t');
    if (fields.length !== 4) fail(`expected user, item, rating, timestamp; got ${fields.length} fields`);
    const [user, item, , seconds] = fields as [string, string, string, string];
    if (!user || !item) fail('empty user or item id');
    return POSITIVE_INTEGER.test(seconds) ? { user, item, ts: Number(seconds) * 1000 } : { user, item };
  }
  const fields = text.split(',').map((field) => field.trim());
  if (lineNo === 1 && /^\uFEFF?user$/i.test(fields[0] ?? '')) return undefined;
  if (format === 'author-tag' && fields.length !== 3) fail(`expected user,item,current; got ${fields.length} fields`);
  if (fields.length < 2 || fields.length > 3) fail(`expected user,item[,count]; got ${fields.length} fields`);
  const [user, item, count] = fields as [string, string, string | undefined];
  if (!user || !item) fail('empty user or item id');
  if (count === undefined) return { user, item };
  if (!POSITIVE_INTEGER.test(count)) fail(`count "${count}" is not a positive integer`);
  return { user, item, count: Number(count) };
}

export interface ReplayOptions {
  kafka: Kafka;
  topic: string;
  file: string;
  format: ReplayFormat;
  /** Events per second; 0 or undefined for as fast as the broker takes them. */
  rate?: number;
  /** Events per produce request. */
  batchSize?: number;
  /** Stop after this many events. */
  limit?: number;
  onProgress?: (events: number, bytesRead: number) => void;
}

export interface ReplayResult {
  events: number;
  seconds: number;
}

/** Stream a data-set file into Kafka as interaction events (key = user), paced to `rate`. */
export async function replayFile(options: ReplayOptions): Promise<ReplayResult> {
  const batchSize = options.batchSize ?? 2000;
  const limit = options.limit ?? Number.POSITIVE_INFINITY;
  const producer = options.kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
  await producer.connect();
  const input = fs.createReadStream(options.file);
  const lines = readline.createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
  const started = performance.now();
  let sent = 0;
  let lineNo = 0;
  let pending: { key: string; value: string }[] = [];
  const flush = async () => {
    if (pending.length === 0) return;
    await producer.send({ topic: options.topic, acks: -1, messages: pending });
    sent += pending.length;
    pending = [];
    options.onProgress?.(sent, input.bytesRead);
    if (options.rate) {
      const due = (sent / options.rate) * 1000 - (performance.now() - started);
      if (due > 0) await sleep(due);
    }
  };
  try {
    for await (const line of lines) {
      lineNo++;
      const event = parseLine(line, lineNo, options.format, options.file);
      if (!event) continue;
      pending.push(toKafkaMessage(event));
      if (sent + pending.length >= limit) break;
      // Small batches at low rates keep the pacing smooth.
      if (pending.length >= (options.rate ? Math.max(1, Math.min(batchSize, Math.ceil(options.rate / 20))) : batchSize))
        await flush();
    }
    await flush();
  } finally {
    lines.close();
    input.destroy();
    await producer.disconnect();
  }
  return { events: sent, seconds: (performance.now() - started) / 1000 };
}

const positiveNumber = (what: string) => (value: string) => {
  const number = Number(value);
  if (!Number.isFinite(number) || number < 0) throw new InvalidArgumentError(`${what} must be a number ≥ 0`);
  return number;
};

export function replayCommand(): Command {
  return new Command('replay')
    .description('Stream a data set into Kafka as interaction events, with a progress bar')
    .requiredOption('--file <file>', 'data-set file')
    .addOption(new Option('--format <format>', 'file format').choices(REPLAY_FORMATS).makeOptionMandatory())
    .option('--topic <topic>', 'topic to publish to', 'interactions')
    .option('--rate <events/s>', 'events per second, 0 = as fast as possible', positiveNumber('rate'), 0)
    .option('--brokers <list>', 'Kafka bootstrap brokers', process.env.KAFKA_BROKERS ?? '127.0.0.1:9092')
    .option('--partitions <n>', 'partitions when the topic has to be created', positiveNumber('partitions'), 4)
    .option('--limit <n>', 'stop after this many events', positiveNumber('limit'))
    .action(async (options) => {
      const kafka = createKafka({ brokers: String(options.brokers).split(','), clientId: 'pncf-replay' });
      const admin = kafka.admin();
      await admin.connect();
      await ensureTopics(admin, [{ topic: options.topic, partitions: options.partitions }]);
      await admin.disconnect();
      const size = fs.statSync(options.file).size;
      const bar = new SingleBar({
        format: 'replay |{bar}| {percentage}% | {events} events | {speed} events/s | ETA {eta_formatted}',
        hideCursor: true,
      });
      bar.start(size, 0, { events: 0, speed: 0 });
      const started = performance.now();
      const result = await replayFile({
        kafka,
        topic: options.topic,
        file: options.file,
        format: options.format,
        rate: options.rate,
        ...(options.limit ? { limit: options.limit } : {}),
        onProgress: (events, bytes) =>
          bar.update(Math.min(bytes, size), {
            events,
            speed: Math.round(events / ((performance.now() - started) / 1000)),
          }),
      }).finally(() => bar.stop());
      console.log(
        `replayed ${result.events} events from ${options.file} to ${options.topic} in ${result.seconds.toFixed(1)} s ` +
          `(${Math.round(result.events / result.seconds)} events/s)`,
      );
    });
}
