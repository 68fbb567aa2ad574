import fs from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import type { DataFormat } from '@pncf/evaluation';
import type { InteractionEvent } from '@pncf/events';
import { brokerAddressProblem, createKafka, ensureTopics, kafkaSecurity, waitForKafka } from '@pncf/runtime';
import { SingleBar } from 'cli-progress';
import { Command, InvalidArgumentError, Option } from 'commander';
import type { Kafka } from 'kafkajs';
import { cliConfig } from '../config.js';
import { DATA_FORMATS, DATA_SOURCES } from '../data-set.js';
import { publishEvents } from '../publish-events.js';

/**
 * The names `train` and `experiment` use too (@pncf/evaluation's DataFormat):
 * - ml-100k: `user<TAB>item<TAB>rating<TAB>ts` (u.data); ml-1m: `user::item::rating::ts` (ratings.dat);
 *   every rating is one interaction, its timestamp (seconds) becomes ts.
 * - author-tag: CSV with header `user,item,current`; current is the count.
 * - generic: `user,item[,count]` separated by commas or tabs, optional header line starting with "user".
 */
export const REPLAY_FORMATS = DATA_FORMATS;
export type ReplayFormat = DataFormat;

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
  if (format === 'ml-100k' || format === 'ml-1m') {
    const fields = format === 'ml-1m' ? text.split('::') : text.split('\t');
    if (fields.length !== 4) fail(`expected user, item, rating, timestamp; got ${fields.length} fields`);
    const [user, item, , seconds] = fields as [string, string, string, string];
    if (!user || !item) fail('empty user or item id');
    return POSITIVE_INTEGER.test(seconds) ? { user, item, ts: Number(seconds) * 1000 } : { user, item };
  }
  const separator = format === 'generic' && !text.includes(',') ? '\t' : ',';
  const fields = text.split(separator).map((field) => field.trim());
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

/**
 * The lines of a stream, without the line breaks. Pulls chunks from the stream's own async iterator: the
 * readline async iterator drops lines emitted before iteration starts or while the loop awaits
 * (nodejs/node#33463, #28565), e.g. while the producer connects.
 */
export async function* linesOf(input: AsyncIterable<Buffer | string>): AsyncGenerator<string> {
  const decoder = new StringDecoder('utf8');
  let carry = '';
  for await (const chunk of input) {
    const text = carry + (typeof chunk === 'string' ? chunk : decoder.write(chunk));
    const lines = text.split('\n');
    carry = lines.pop() ?? '';
    yield* lines;
  }
  const rest = carry + decoder.end();
  if (rest.length > 0) yield rest;
}

/** The events of a data-set file, in file order; throws ReplayLineError on the first malformed line. */
async function* fileEvents(file: string, format: ReplayFormat, input: fs.ReadStream): AsyncGenerator<InteractionEvent> {
  let lineNo = 0;
  for await (const line of linesOf(input)) {
    lineNo++;
    const event = parseLine(line, lineNo, format, file);
    if (event) yield event;
  }
}

/** Stream a data-set file into Kafka as interaction events (key = user), paced to `rate`. */
export async function replayFile(options: ReplayOptions): Promise<ReplayResult> {
  const input = fs.createReadStream(options.file);
  try {
    return await publishEvents({
      kafka: options.kafka,
      topic: options.topic,
      events: fileEvents(options.file, options.format, input),
      ...(options.rate !== undefined ? { rate: options.rate } : {}),
      ...(options.batchSize !== undefined ? { batchSize: options.batchSize } : {}),
      ...(options.limit !== undefined ? { limit: options.limit } : {}),
      onProgress: (events) => options.onProgress?.(events, input.bytesRead),
    });
  } finally {
    input.destroy();
  }
}

const positiveNumber = (what: string) => (value: string) => {
  const number = Number(value);
  if (!Number.isFinite(number) || number < 0) throw new InvalidArgumentError(`${what} must be a number ≥ 0`);
  return number;
};

export function replayCommand(): Command {
  return new Command('replay')
    .description('Stream a data set into Kafka as interaction events, with a progress bar')
    .requiredOption('--file <file>', 'data-set file (where the data sets come from: see the end of this help)')
    .addOption(new Option('--format <format>', 'file format').choices(REPLAY_FORMATS).makeOptionMandatory())
    .option('--topic <topic>', 'topic to publish to', 'interactions')
    .option('--rate <events/s>', 'events per second, 0 = as fast as possible', positiveNumber('rate'), 0)
    .option(
      '--brokers <list>',
      'Kafka bootstrap brokers, comma-separated',
      cliConfig().KAFKA_BROKERS ?? '127.0.0.1:9092',
    )
    .option('--partitions <n>', 'partitions when the topic has to be created', positiveNumber('partitions'), 4)
    .option('--limit <n>', 'stop after this many events', positiveNumber('limit'))
    .addHelpText('after', DATA_SOURCES)
    .action(async (options) => {
      // The file first: a wrong path should not wait on (or create topics in) Kafka.
      const stat = fs.statSync(options.file, { throwIfNoEntry: false });
      if (!stat?.isFile()) throw new Error(`replay: ${options.file} is not a readable file`);
      fs.accessSync(options.file, fs.constants.R_OK);
      const brokers = String(options.brokers)
        .split(',')
        .map((broker) => broker.trim())
        .filter((broker) => broker.length > 0);
      const problems = brokers.map(brokerAddressProblem).filter((problem) => problem !== undefined);
      if (brokers.length === 0 || problems.length > 0) {
        throw new Error(`replay: --brokers ${options.brokers}: ${problems.join('; ') || 'no address'}`);
      }
      // A clear error in seconds rather than kafkajs's retries; a name that does not resolve fails at once.
      const security = kafkaSecurity(cliConfig());
      await waitForKafka(brokers, 10_000, {}, security);
      const kafka = createKafka({ brokers, clientId: 'pncf-replay', security });
      const admin = kafka.admin();
      await admin.connect();
      await ensureTopics(admin, [{ topic: options.topic, partitions: options.partitions }]);
      await admin.disconnect();
      const size = stat.size;
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
