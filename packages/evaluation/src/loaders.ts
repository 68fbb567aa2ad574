import { readFileSync } from 'node:fs';
import { fromTriples, type Interactions, internId } from '@pncf/data';

/** A malformed input line: the message names the file and the 1-based line number. */
export class DataFormatError extends Error {
  constructor(
    readonly file: string,
    readonly line: number,
    reason: string,
  ) {
    super(`${file}:${line}: ${reason}`);
    this.name = 'DataFormatError';
  }
}

/**
 * - `ml-100k`: MovieLens `u.data`, tab-separated `user item rating timestamp`; each rating is one interaction.
 * - `ml-1m`: MovieLens `ratings.dat`, `user::item::rating::timestamp`; each rating is one interaction.
 * - `author-tag`: CSV with header `user,item,current` (current = number of the author's videos with the tag).
 * - `generic`: CSV or TSV (delimiter taken from the first line) of `user,item[,count]`, optional header.
 */
export type DataFormat = 'ml-100k' | 'ml-1m' | 'author-tag' | 'generic';

/** Raw string ids ↔ dense indices, shared between files (e.g. a given train and test file). */
export class IdSpace {
  readonly userIds: string[] = [];
  readonly itemIds: string[] = [];
  private readonly users = new Map<string, number>();
  private readonly items = new Map<string, number>();

  user(id: string): number {
    return internId(id, this.users, this.userIds);
  }

  item(id: string): number {
    return internId(id, this.items, this.itemIds);
  }
}

/** Dense (user, item, count) triples as parsed from one file, before duplicates are merged. */
export interface Triples {
  users: Uint32Array;
  items: Uint32Array;
  counts: Uint32Array;
}

class TripleBuilder {
  private users = new Uint32Array(1024);
  private items = new Uint32Array(1024);
  private counts = new Uint32Array(1024);
  length = 0;

  push(user: number, item: number, count: number): void {
    if (this.length === this.users.length) {
      const grow = (a: Uint32Array) => {
        const b = new Uint32Array(a.length * 2);
        b.set(a);
        return b;
      };
      this.users = grow(this.users);
      this.items = grow(this.items);
      this.counts = grow(this.counts);
    }
    this.users[this.length] = user;
    this.items[this.length] = item;
    this.counts[this.length] = count;
    this.length++;
  }

  build(): Triples {
    return {
      users: this.users.slice(0, this.length),
      items: this.items.slice(0, this.length),
      counts: this.counts.slice(0, this.length),
    };
  }
}

const INTEGER = /^\d+$/;
const NUMBER = /^-?\d+(\.\d+)?$/;

function parseCount(field: string, file: string, line: number): number {
  if (!INTEGER.test(field)) throw new DataFormatError(file, line, `count "${field}" is not a positive integer`);
  const count = Number(field);
  if (count < 1 || count > 0xffffffff) throw new DataFormatError(file, line, `count ${field} is out of range (≥ 1)`);
  return count;
}

function requireId(field: string | undefined, what: string, file: string, line: number): string {
  if (field === undefined || field.length === 0) throw new DataFormatError(file, line, `missing ${what} id`);
  return field;
}

/**
 * Parse the text of one file into triples over `ids`. `file` is only used in error messages. With `timestamps`
 * (MovieLens formats only), each event's timestamp is appended to it, checked to be an integer.
 */
export function parseTriples(
  text: string,
  format: DataFormat,
  file: string,
  ids: IdSpace,
  timestamps?: number[],
): Triples {
  const lines = text.split('\n');
  const out = new TripleBuilder();
  let first = 0;
  if (lines[0]?.charCodeAt(0) === 0xfeff) lines[0] = lines[0].slice(1);
  let delimiter: string;
  let expectHeader: 'yes' | 'no' | 'maybe';
  switch (format) {
    case 'ml-100k':
      delimiter = '\t';
      expectHeader = 'no';
      break;
    case 'ml-1m':
      delimiter = '::';
      expectHeader = 'no';
      break;
    case 'author-tag':
      delimiter = ',';
      expectHeader = 'yes';
      break;
    case 'generic':
      delimiter = (lines[0] ?? '').includes('\t') ? '\t' : ',';
      expectHeader = 'maybe';
      break;
  }
  const header = (lines[0] ?? '').replace(/\r$/, '');
  if (expectHeader === 'yes') {
    if (header.trim() !== 'user,item,current')
      throw new DataFormatError(file, 1, `expected header "user,item,current", got "${header.slice(0, 80)}"`);
    first = 1;
  } else if (expectHeader === 'maybe') {
    // A header is a first line whose count column is not a number, or whose first field names the user.
    const fields = header.split(delimiter);
    if (/^user/i.test(fields[0] ?? '') || (fields.length >= 3 && !NUMBER.test(fields[2]!.trim()))) first = 1;
  }
  const numeric = format === 'ml-100k' || format === 'ml-1m';
  for (let n = first; n < lines.length; n++) {
    let line = lines[n]!;
    if (line.endsWith('\r')) line = line.slice(0, -1);
    if (line.trim().length === 0) continue;
    const lineNo = n + 1;
    const fields = line.split(delimiter);
    if (numeric) {
      if (fields.length !== 4)
        throw new DataFormatError(
          file,
          lineNo,
          `expected 4 fields (user, item, rating, timestamp), got ${fields.length}`,
        );
      if (!NUMBER.test(fields[2]!)) throw new DataFormatError(file, lineNo, `rating "${fields[2]}" is not a number`);
      const user = requireId(fields[0], 'user', file, lineNo);
      const item = requireId(fields[1], 'item', file, lineNo);
      if (timestamps) {
        const ts = fields[3]!;
        if (!/^\d+$/.test(ts)) throw new DataFormatError(file, lineNo, `timestamp "${ts}" is not an integer`);
        timestamps.push(Number(ts));
      }
      out.push(ids.user(user), ids.item(item), 1);
    } else {
      if (fields.length < 2 || fields.length > 3)
        throw new DataFormatError(
          file,
          lineNo,
          `expected user${delimiter}item[${delimiter}count], got ${fields.length} fields`,
        );
      if (format === 'author-tag' && fields.length !== 3)
        throw new DataFormatError(file, lineNo, `expected 3 fields (user, item, current), got ${fields.length}`);
      const user = requireId(fields[0]?.trim(), 'user', file, lineNo);
      const item = requireId(fields[1]?.trim(), 'item', file, lineNo);
      const count = fields.length === 3 ? parseCount(fields[2]!.trim(), file, lineNo) : 1;
      out.push(ids.user(user), ids.item(item), count);
    }
  }
  return out.build();
}

/** Merge triples into the project's Interactions (duplicate pairs are summed). */
export const toInteractions = (ids: IdSpace, triples: Triples): Interactions =>
  fromTriples([...ids.userIds], [...ids.itemIds], triples.users, triples.items, triples.counts);

export function parseInteractions(text: string, format: DataFormat, file = '<text>'): Interactions {
  const ids = new IdSpace();
  return toInteractions(ids, parseTriples(text, format, file, ids));
}

export function loadInteractions(path: string, format: DataFormat): Interactions {
  return parseInteractions(readFileSync(path, 'utf8'), format, path);
}

/**
 * Load a split given as two files of the generic format over one shared id space, so a user or item
 * keeps the same dense index in train and test.
 */
export function loadGivenSplit(trainPath: string, testPath: string): { train: Interactions; test: Interactions } {
  const ids = new IdSpace();
  const train = parseTriples(readFileSync(trainPath, 'utf8'), 'generic', trainPath, ids);
  const test = parseTriples(readFileSync(testPath, 'utf8'), 'generic', testPath, ids);
  return { train: toInteractions(ids, train), test: toInteractions(ids, test) };
}
