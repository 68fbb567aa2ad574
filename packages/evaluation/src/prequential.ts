import { readFileSync } from 'node:fs';
import { fromPairs, fromTriples, type Interactions, indexOfIds, sortedContains } from '@pncf/data';
import { testUsers } from './evaluate.js';
import { IdSpace, parseTriples } from './loaders.js';

/**
 * Prequential (test-then-train) evaluation over a time-ordered interaction log, the pure part of
 * `npm run bench:online`:
 * - the log is sorted by timestamp, ties in file order (`sortByTime`);
 * - the first `warmup` share of the events is the warm-up, then `chunks` chunks of `chunkShare` each
 *   (`chunkBoundaries`: event positions ⌊n·f⌋ for f = warmup, warmup + chunkShare, …);
 * - for chunk t the models are trained on every event before it (`prefixInteractions`, ids numbered in order of
 *   first appearance, as the store numbers them);
 * - the chunk is evaluated on its distinct (user, item) pairs whose user and item were both seen before and which
 *   are new for that user (`chunkTestSet`), ranking every item seen before with the user's earlier items
 *   excluded: `evaluateModel(model, prefix, test)` with the prefix as "train", i.e. the harness's one metric
 *   implementation and the one top-K (ties go to the lower index: the item seen first);
 * - metrics are averaged over the evaluated users (users with at least one such pair) per chunk, and the figure of
 *   a model is the plain mean of its chunk values.
 * No k-core anywhere.
 */
export interface PrequentialProtocol {
  /** Share of the events (from the start) that is only trained on. */
  warmup: number;
  /** Evaluated chunks after the warm-up. */
  chunks: number;
  /** Share of the events in each chunk. */
  chunkShare: number;
}

export const PREQUENTIAL_PROTOCOL: PrequentialProtocol = { warmup: 0.5, chunks: 5, chunkShare: 0.1 };
export const PREQUENTIAL_KS: readonly number[] = [10, 20];

/** An interaction log: one entry per event, parallel arrays. */
export interface EventLog {
  users: string[];
  items: string[];
  counts: Uint32Array;
  timestamps: Float64Array;
}

/**
 * Parse a MovieLens ratings file (`ml-100k`: `user\titem\trating\ttimestamp`; `ml-1m`: `::`-separated) into a
 * log in file order, each rating one event with count 1 and its timestamp (seconds, as in the file).
 */
export function parseTimedLog(text: string, format: 'ml-100k' | 'ml-1m', file = '<text>'): EventLog {
  // The harness's own MovieLens parser (same checks and errors as loadInteractions), keeping the timestamps.
  const ids = new IdSpace();
  const timestamps: number[] = [];
  const triples = parseTriples(text, format, file, ids, timestamps);
  return {
    users: Array.from(triples.users, (u) => ids.userIds[u]!),
    items: Array.from(triples.items, (i) => ids.itemIds[i]!),
    counts: triples.counts,
    timestamps: Float64Array.from(timestamps),
  };
}

export function loadTimedLog(path: string, format: 'ml-100k' | 'ml-1m'): EventLog {
  return parseTimedLog(readFileSync(path, 'utf8'), format, path);
}

/** The log sorted by timestamp; events with equal timestamps keep their order in the input (stable). */
export function sortByTime(log: EventLog): EventLog {
  const order = Array.from({ length: log.users.length }, (_, k) => k);
  order.sort((a, b) => log.timestamps[a]! - log.timestamps[b]! || a - b);
  return {
    users: order.map((k) => log.users[k]!),
    items: order.map((k) => log.items[k]!),
    counts: Uint32Array.from(order, (k) => log.counts[k]!),
    timestamps: Float64Array.from(order, (k) => log.timestamps[k]!),
  };
}

/** Event positions [start, end) of each evaluated chunk, and the end of the warm-up. */
export interface ChunkBounds {
  warmupEnd: number;
  chunks: { start: number; end: number }[];
}

/** Boundaries at ⌊n·f⌋ for f = warmup, warmup + chunkShare, …, warmup + chunks·chunkShare. */
export function chunkBoundaries(n: number, protocol: PrequentialProtocol = PREQUENTIAL_PROTOCOL): ChunkBounds {
  const { warmup, chunks, chunkShare } = protocol;
  if (!(warmup > 0) || !(chunkShare > 0) || chunks < 1 || warmup + chunks * chunkShare > 1 + 1e-9)
    throw new RangeError('warm-up plus chunks must be a positive share of at most 1');
  // The small epsilon keeps n·0.7 = 69999.99999… from losing an event to float rounding.
  const at = (share: number) => Math.min(n, Math.floor(n * share + 1e-9));
  const bounds: number[] = [];
  for (let j = 0; j <= chunks; j++) bounds.push(at(warmup + j * chunkShare));
  return {
    warmupEnd: bounds[0]!,
    chunks: bounds.slice(1).map((end, j) => ({ start: bounds[j]!, end })),
  };
}

/**
 * Events [0, end) of the log as counts, users and items numbered in order of first appearance (the store's
 * numbering, so a snapshot of a store fed these events in order is the same Interactions).
 */
export function prefixInteractions(log: EventLog, end: number): Interactions {
  const ids = new IdSpace();
  const users = new Uint32Array(end);
  const items = new Uint32Array(end);
  for (let k = 0; k < end; k++) {
    users[k] = ids.user(log.users[k]!);
    items[k] = ids.item(log.items[k]!);
  }
  return fromTriples(ids.userIds, ids.itemIds, users, items, log.counts.slice(0, end));
}

/** How a chunk's distinct pairs were sorted (each pair counted once, in the first category it falls into). */
export interface ChunkStats {
  events: number;
  distinctPairs: number;
  /** The user was not seen before the chunk. */
  newUser: number;
  /** The user was seen before, the item was not. */
  newItem: number;
  /** Both seen, and the user already had the item before the chunk (not new for the user). */
  repeat: number;
  /** The rest: the evaluated pairs, and the users they belong to. */
  evaluatedPairs: number;
  evaluatedUsers: number;
}

/**
 * The test set of one chunk (events [start, end) of the log) against the prefix it follows: its distinct pairs
 * whose user and item occur in `prefix` and which the user does not have in `prefix`, in the prefix's id space
 * (count 1 each), ready for `evaluateModel(model, prefix, test)`.
 */
export function chunkTestSet(
  prefix: Interactions,
  log: EventLog,
  start: number,
  end: number,
): { test: Interactions; stats: ChunkStats } {
  const userIndex = indexOfIds(prefix.userIds);
  const itemIndex = indexOfIds(prefix.itemIds);
  const { indptr, indices } = prefix.byUser;
  const seenPairs = new Set<string>();
  const stats: ChunkStats = {
    events: end - start,
    distinctPairs: 0,
    newUser: 0,
    newItem: 0,
    repeat: 0,
    evaluatedPairs: 0,
    evaluatedUsers: 0,
  };
  const users: number[] = [];
  const items: number[] = [];
  for (let k = start; k < end; k++) {
    const user = log.users[k]!;
    const item = log.items[k]!;
    const key = `${user.length}:${user}${item}`;
    if (seenPairs.has(key)) continue;
    seenPairs.add(key);
    stats.distinctPairs++;
    const u = userIndex.get(user);
    if (u === undefined) {
      stats.newUser++;
      continue;
    }
    const i = itemIndex.get(item);
    if (i === undefined) {
      stats.newItem++;
      continue;
    }
    if (sortedContains(indices, indptr[u]!, indptr[u + 1]!, i)) {
      stats.repeat++;
      continue;
    }
    users.push(u);
    items.push(i);
  }
  const test = fromPairs(prefix.userIds, prefix.itemIds, users, items);
  stats.evaluatedPairs = users.length;
  stats.evaluatedUsers = testUsers(test).length;
  return { test, stats };
}

export interface PrequentialStep {
  /** 1-based chunk number. */
  chunk: number;
  start: number;
  end: number;
  /** Every event before the chunk. */
  prefix: Interactions;
  test: Interactions;
  stats: ChunkStats;
}

/**
 * Every step of the protocol in memory: the reference the benchmark's store snapshots are checked against, and
 * what the unit tests exercise. The log must already be in time order (`sortByTime`).
 */
export function prequentialSteps(
  log: EventLog,
  protocol: PrequentialProtocol = PREQUENTIAL_PROTOCOL,
): PrequentialStep[] {
  const { chunks } = chunkBoundaries(log.users.length, protocol);
  return chunks.map(({ start, end }, j) => {
    const prefix = prefixInteractions(log, start);
    return { chunk: j + 1, start, end, prefix, ...chunkTestSet(prefix, log, start, end) };
  });
}

/** Whether two Interactions hold the same ids, pairs and counts (e.g. a store snapshot and `prefixInteractions`). */
export function sameInteractions(a: Interactions, b: Interactions): boolean {
  const same = (x: ArrayLike<number | string>, y: ArrayLike<number | string>) => {
    if (x.length !== y.length) return false;
    for (let k = 0; k < x.length; k++) if (x[k] !== y[k]) return false;
    return true;
  };
  return (
    same(a.userIds, b.userIds) &&
    same(a.itemIds, b.itemIds) &&
    same(a.byUser.indptr, b.byUser.indptr) &&
    same(a.byUser.indices, b.byUser.indices) &&
    same(a.byUser.counts, b.byUser.counts)
  );
}
