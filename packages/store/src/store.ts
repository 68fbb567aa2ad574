import fs from 'node:fs';
import path from 'node:path';
import { type Csr, type Interactions, transpose } from '@pncf/data';
import { type Database, open, type RootDatabase } from 'lmdb';
import { aggregatePairs } from './aggregate.js';
import {
  OUTBOX_VALUE_BYTES,
  PAIR_VALUE_BYTES,
  pairKeyFirst,
  pairKeySecond,
  pairRange,
  readOutboxStamp,
  readOutboxTotal,
  readPairCount,
  readPairFirstSeen,
  writeOutboxValue,
  writePairKey,
  writePairValue,
} from './keys.js';

export interface StoreOptions {
  /** Directory of the LMDB environment; created when missing (unless readOnly). */
  path: string;
  readOnly?: boolean;
  /** Upper bound of the memory map; the file only grows as data arrives. */
  mapSizeBytes?: number;
  /**
   * Skip fsync at commit. A killed process loses nothing either way (the OS holds the pages); only an OS
   * crash or power loss can then lose the last transactions. Off by default.
   */
  noSync?: boolean;
  /**
   * Keep a transactional outbox of the pairs each write changes (for the counts changelog): recorded in the
   * write's own transaction, read by pendingChanges() and cleared by clearChanges() once published. Opening a
   * store with it on for the first time puts every stored pair in the outbox, so a changelog started late is still
   * complete.
   */
  changelogOutbox?: boolean;
}

/** One event ready for the store: ids already validated, its Kafka offset for de-duplication. */
export interface StoredEvent {
  offset: bigint;
  user: string;
  item: string;
  count: number;
}

/** An erase event: every pair of `user` goes, with the counts of the batch's events before `offset`. */
export interface StoredErasure {
  offset: bigint;
  user: string;
}

/** A consumed batch of one topic-partition. nextOffset is what to read next (last offset + 1). */
export interface PartitionBatch {
  topic: string;
  partition: number;
  /** Valid events in offset order; rejected messages only advance nextOffset. */
  events: StoredEvent[];
  /** Erase events of the batch in offset order, applied in order with `events` (see applyBatches). */
  erasures?: StoredErasure[];
  nextOffset: bigint;
}

export interface ApplyResult {
  /** Events written (offset not yet stored). */
  applied: number;
  /** Pairs removed by erase events. */
  erasedPairs: number;
  /** Events skipped because their offset was already stored: a redelivery after a crash or a rebalance. */
  duplicates: number;
  /** Sequence number after the batch (unchanged when nothing was applied). */
  sequence: number;
  newUsers: number;
  newItems: number;
}

export interface GroupResult {
  batches: { applied: number; duplicates: number }[];
  /** Pairs removed by erase events (applyBatches). */
  erasedPairs: number;
  sequence: number;
  newUsers: number;
  newItems: number;
}

/** A pair's new total from the counts changelog, with its Kafka offset. total null: the pair is gone. */
export interface TotalChange {
  offset: bigint;
  user: string;
  item: string;
  total: number | null;
}

/** A consumed batch of one changelog partition; nextOffset is what to read next (last offset + 1). */
export interface TotalsBatch {
  topic: string;
  partition: number;
  changes: TotalChange[];
  nextOffset: bigint;
}

/** A pair waiting in the outbox: its ids, its total now (null when gone) and the stamp that clears it. */
export interface PendingChange {
  user: string;
  item: string;
  total: number | null;
  /** Sequence of the last write that changed the pair; clearChanges() removes the entry only while it holds. */
  stamp: number;
  /** The pair's dense indices (its outbox key). */
  userIndex: number;
  itemIndex: number;
}

export interface StoreSnapshot {
  interactions: Interactions;
  /**
   * Per pair, aligned with `interactions.byUser.indices`: the sequence number of the write transaction that first
   * wrote the pair (0 for pairs written before the store recorded it). A pair first seen at sequence s is in every
   * snapshot whose `sequence` is ≥ s.
   */
  firstSeen: Float64Array;
  /** Sequence number (write transactions that changed counts) the snapshot reflects. */
  sequence: number;
  /** Sum of all counts. */
  total: number;
}

export interface Adjacency {
  /** Dense indices of the other side, ascending. */
  indices: Uint32Array;
  counts: Uint32Array;
}

export interface StoreStats {
  users: number;
  items: number;
  pairs: number;
  total: number;
  sequence: number;
  /** Size of the data file on disk. */
  bytes: number;
}

type Side = 'user' | 'item';
/** Ids given an index in the current write transaction; `next` is the next free index. */
interface NewIds {
  ids: Map<string, number>;
  next: number;
}
const U32_MAX = 0xffffffff;
/** meta 'outbox-layout': outbox values hold the total and the stamp (OUTBOX_VALUE_BYTES); before, the stamp alone. */
const OUTBOX_LAYOUT = 2;

/**
 * The interaction store. One writer process at a time per batch (LMDB serialises write transactions across
 * processes, so several ingesters may share it); any number of reader processes. Key layout: README.md.
 */
export class InteractionStore {
  private readonly root: RootDatabase;
  private readonly meta: Database<number, string>;
  private readonly ids: Record<Side, Database<number, string>>;
  private readonly names: Record<Side, Database<string, number>>;
  private readonly userItems: Database<Buffer, Buffer>;
  private readonly offsets: Database<string, [string, number]>;
  /** Pair key → the pair's total and the sequence of the last write that changed it; only with changelogOutbox. */
  private readonly outbox: Database<Buffer, Buffer> | undefined;
  /** Positive lookups only: an id's index never changes once committed, so other writers cannot stale it. */
  private readonly indexCache: Record<Side, Map<string, number>> = { user: new Map(), item: new Map() };
  /** The reverse of indexCache (index → id), for the same reason never stale; the outbox relay reads every pair's. */
  private readonly nameCache: Record<Side, string[]> = { user: [], item: [] };
  private readonly dataFile: string;

  private constructor(root: RootDatabase, dataFile: string, options: StoreOptions) {
    this.root = root;
    this.dataFile = dataFile;
    this.meta = root.openDB('meta', {});
    this.ids = {
      user: root.openDB('user-ids', {}),
      item: root.openDB('item-ids', {}),
    };
    this.names = {
      user: root.openDB('user-names', { keyEncoding: 'uint32' }),
      item: root.openDB('item-names', { keyEncoding: 'uint32' }),
    };
    // Stores written by older versions also hold 'item-users', 'user-totals', 'item-totals' and 'changes':
    // nothing reads them, so they are left alone (never opened, never updated).
    this.userItems = root.openDB('user-items', { keyEncoding: 'binary', encoding: 'binary' });
    this.offsets = root.openDB('offsets', {});
    if (options.changelogOutbox) {
      this.outbox = root.openDB('changelog-outbox', { keyEncoding: 'binary', encoding: 'binary' });
      if (!options.readOnly) {
        this.upgradeOutbox();
        this.seedOutbox();
      }
    } else if (!options.readOnly && this.meta.get('outbox-seeded') !== undefined) {
      // Writes made without the outbox are not in it: the next start with it on must seed it again.
      root.transactionSync(() => this.meta.remove('outbox-seeded'));
    }
  }

  /** Once per store (and again after writes made without the outbox): every stored pair into the outbox. */
  private seedOutbox(): void {
    const outbox = this.outbox;
    if (!outbox || this.meta.get('outbox-seeded') !== undefined) return;
    this.root.transactionSync(() => {
      const sequence = this.meta.get('sequence') ?? 0;
      const entry = Buffer.alloc(OUTBOX_VALUE_BYTES);
      for (const { key, value } of this.userItems.getRange()) {
        outbox.put(key, writeOutboxValue(entry, readPairCount(value), sequence));
      }
      this.meta.put('outbox-seeded', sequence);
      this.meta.put('outbox-layout', OUTBOX_LAYOUT);
    });
  }

  /**
   * Entries left by a version whose outbox held the stamp alone get their pair's total, stamped with the current
   * sequence (a relay of that version still running on the store then sees its stamps change and sends again).
   */
  private upgradeOutbox(): void {
    const outbox = this.outbox;
    if (!outbox || this.meta.get('outbox-layout') === OUTBOX_LAYOUT) return;
    this.root.transactionSync(() => {
      const sequence = this.meta.get('sequence') ?? 0;
      const keys = Array.from(outbox.getKeys(), (key) => Buffer.from(key));
      const entry = Buffer.alloc(OUTBOX_VALUE_BYTES);
      for (const key of keys) {
        const stored = this.userItems.get(key);
        outbox.put(key, writeOutboxValue(entry, stored === undefined ? null : readPairCount(stored), sequence));
      }
      this.meta.put('outbox-layout', OUTBOX_LAYOUT);
    });
  }

  static open(options: StoreOptions): InteractionStore {
    if (!options.readOnly) fs.mkdirSync(options.path, { recursive: true });
    const root = open({
      path: options.path,
      maxDbs: 16,
      mapSize: options.mapSizeBytes ?? 64 * 2 ** 30,
      readOnly: options.readOnly ?? false,
      noSync: options.noSync ?? false,
    });
    return new InteractionStore(root, path.join(options.path, 'data.mdb'), options);
  }

  /**
   * Write one partition batch and its next offset in ONE transaction. Events whose offset is below the
   * stored one are skipped, so a redelivered batch (crash between LMDB and Kafka commit, or a rebalance
   * race between two ingesters) is never counted twice.
   */
  applyBatch(batch: PartitionBatch): ApplyResult {
    const { batches, ...rest } = this.applyBatches([batch]);
    return { ...batches[0]!, ...rest };
  }

  /**
   * Several partition batches in ONE transaction (group commit: one fsync for all of them), with the same
   * per-partition offset rule as applyBatch. newUsers/newItems and sequence are for the whole transaction.
   * Erasures (same offset rule) remove every stored pair of their user, and the user's events of the batch before
   * them, so a batch applies in offset order: what a user did after their erase counts.
   */
  applyBatches(list: PartitionBatch[]): GroupResult {
    let assigned: Record<Side, NewIds> | undefined;
    const result = this.root.transactionSync((): GroupResult => {
      // Read inside the transaction: another writer process may have added ids since our last one.
      assigned = {
        user: { ids: new Map(), next: this.meta.get('users') ?? 0 },
        item: { ids: new Map(), next: this.meta.get('items') ?? 0 },
      };
      const fresh: StoredEvent[] = [];
      const erasures: StoredErasure[] = [];
      const batches = list.map((batch) => {
        const offsetKey = [batch.topic, batch.partition] as [string, number];
        const storedText = this.offsets.get(offsetKey);
        const stored = storedText === undefined ? -1n : BigInt(storedText);
        if (batch.nextOffset <= stored) return { applied: 0, duplicates: batch.events.length };
        let applied = 0;
        const batchFresh: StoredEvent[] = [];
        for (const event of batch.events) {
          if (event.offset >= stored) {
            batchFresh.push(event);
            applied++;
          }
        }
        const batchErasures = (batch.erasures ?? []).filter((erasure) => erasure.offset >= stored);
        // Offsets order events within a partition only: each batch's erasures cut its own events.
        if (batchErasures.length > 0) {
          erasures.push(...batchErasures);
          fresh.push(...eventsAfterErasures(batchFresh, batchErasures));
        } else fresh.push(...batchFresh);
        this.offsets.put(offsetKey, batch.nextOffset.toString());
        return { applied, duplicates: batch.events.length - applied };
      });
      let sequence = this.meta.get('sequence') ?? 0;
      let erasedPairs = 0;
      if (erasures.length > 0) {
        erasedPairs = this.eraseUsers(erasures, sequence + 1);
        if (erasedPairs > 0) {
          sequence += 1;
          this.meta.put('sequence', sequence);
        }
      }
      const n = fresh.length;
      if (n > 0) {
        const users = new Uint32Array(n);
        const items = new Uint32Array(n);
        const counts = new Uint32Array(n);
        for (let k = 0; k < n; k++) {
          const event = fresh[k]!;
          users[k] = this.indexOf('user', event.user, assigned.user);
          items[k] = this.indexOf('item', event.item, assigned.item);
          counts[k] = event.count;
        }
        // One sequence per transaction, whether erasures, counts or both changed it.
        if (erasedPairs === 0) sequence += 1;
        this.writeCounts(users, items, counts, sequence);
        this.meta.put('sequence', sequence);
        if (assigned.user.ids.size > 0) this.meta.put('users', assigned.user.next);
        if (assigned.item.ids.size > 0) this.meta.put('items', assigned.item.next);
      }
      return { batches, erasedPairs, sequence, newUsers: assigned.user.ids.size, newItems: assigned.item.ids.size };
    });
    // Only now are the new ids committed and safe to remember.
    this.rememberIds(assigned);
    return result;
  }

  /** After the commit that gave them their indices: ids are remembered both ways. */
  private rememberIds(assigned: Record<Side, NewIds> | undefined): void {
    for (const side of ['user', 'item'] as const) {
      for (const [id, index] of assigned?.[side].ids ?? []) this.remember(side, id, index);
    }
  }

  private remember(side: Side, id: string, index: number): void {
    this.indexCache[side].set(id, index);
    this.nameCache[side][index] = id;
  }

  /**
   * Inside the write transaction: remove every pair of the erased users, each into the outbox (its total now null:
   * a changelog tombstone), and the running sums. The users keep their dictionary index: indices are dense and
   * the outbox names a removed pair by them until its tombstone is sent. Returns the pairs removed (0 for a user
   * the store does not know or whose pairs are gone already: an erase delivered twice changes nothing).
   */
  private eraseUsers(erasures: readonly StoredErasure[], sequence: number): number {
    let removed = 0;
    let subtracted = 0;
    const entry = Buffer.alloc(OUTBOX_VALUE_BYTES);
    for (const user of new Set(erasures.map((erasure) => erasure.user))) {
      const index = this.lookupIndex('user', user);
      if (index === undefined) continue;
      // Read the range first: removing keys under a live cursor of the same transaction is not safe.
      const pairs = [...this.userItems.getRange(pairRange(index))];
      for (const { key, value } of pairs) {
        this.userItems.remove(key);
        // A null total: the relay sends the pair's tombstone.
        this.outbox?.put(key, writeOutboxValue(entry, null, sequence));
        removed++;
        subtracted += readPairCount(value);
      }
    }
    if (removed > 0) {
      this.meta.put('pairs', (this.meta.get('pairs') ?? 0) - removed);
      this.meta.put('total', (this.meta.get('total') ?? 0) - subtracted);
    }
    return removed;
  }

  private indexOf(side: Side, id: string, fresh: NewIds): number {
    const cached = this.indexCache[side].get(id) ?? fresh.ids.get(id);
    if (cached !== undefined) return cached;
    const existing = this.ids[side].get(id);
    if (existing !== undefined) {
      this.remember(side, id, existing);
      return existing;
    }
    const index = fresh.next++;
    this.ids[side].put(id, index);
    this.names[side].put(index, id);
    fresh.ids.set(id, index);
    return index;
  }

  /**
   * Inside the write transaction: the pair counts with the sequence at which each pair was first written (this
   * transaction's `sequence` for a new pair; kept as it was for a known one), and the running sums in `meta`
   * (distinct pairs, total of counts) that stats() and snapshot() read without a scan.
   */
  private writeCounts(users: Uint32Array, items: Uint32Array, counts: Uint32Array, sequence: number): void {
    const pairs = aggregatePairs(users, items, counts);
    const key = Buffer.alloc(8);
    const value = Buffer.alloc(PAIR_VALUE_BYTES);
    const entry = Buffer.alloc(OUTBOX_VALUE_BYTES);
    let newPairs = 0;
    let added = 0;
    for (let k = 0; k < pairs.users.length; k++) {
      const stored = this.userItems.get(writePairKey(key, pairs.users[k]!, pairs.items[k]!));
      const old = readPairCount(stored);
      if (old === 0) newPairs++;
      // Saturate rather than wrap: Interactions holds u32 counts.
      const next = Math.min(U32_MAX, old + pairs.deltas[k]!);
      added += next - old;
      this.userItems.put(key, writePairValue(value, next, stored === undefined ? sequence : readPairFirstSeen(stored)));
      this.outbox?.put(key, writeOutboxValue(entry, next, sequence));
    }
    this.meta.put('pairs', (this.meta.get('pairs') ?? 0) + newPairs);
    this.meta.put('total', (this.meta.get('total') ?? 0) + added);
  }

  /**
   * Several changelog batches in ONE transaction: each change SETS its pair's total (a null total deletes the
   * pair), and each partition's next offset is stored with them, with the same offset rule as applyBatches, so a
   * view resumes where its last commit left off and a redelivered batch changes nothing.
   */
  applyTotals(list: TotalsBatch[]): GroupResult {
    let assigned: Record<Side, NewIds> | undefined;
    const result = this.root.transactionSync((): GroupResult => {
      assigned = {
        user: { ids: new Map(), next: this.meta.get('users') ?? 0 },
        item: { ids: new Map(), next: this.meta.get('items') ?? 0 },
      };
      const latest = new Map<string, TotalChange>();
      const batches = list.map((batch) => {
        const offsetKey = [batch.topic, batch.partition] as [string, number];
        const storedText = this.offsets.get(offsetKey);
        const stored = storedText === undefined ? -1n : BigInt(storedText);
        if (batch.nextOffset <= stored) return { applied: 0, duplicates: batch.changes.length };
        let applied = 0;
        for (const change of batch.changes) {
          if (change.offset < stored) continue;
          // A pair lives on one partition (its key's), in offset order: the last change of a pair wins.
          latest.set(JSON.stringify([change.user, change.item]), change);
          applied++;
        }
        this.offsets.put(offsetKey, batch.nextOffset.toString());
        return { applied, duplicates: batch.changes.length - applied };
      });
      let sequence = this.meta.get('sequence') ?? 0;
      if (latest.size > 0) {
        sequence += 1;
        this.writeTotals([...latest.values()], assigned, sequence);
        this.meta.put('sequence', sequence);
        if (assigned.user.ids.size > 0) this.meta.put('users', assigned.user.next);
        if (assigned.item.ids.size > 0) this.meta.put('items', assigned.item.next);
      }
      return { batches, erasedPairs: 0, sequence, newUsers: assigned.user.ids.size, newItems: assigned.item.ids.size };
    });
    this.rememberIds(assigned);
    return result;
  }

  private writeTotals(changes: TotalChange[], assigned: Record<Side, NewIds>, sequence: number): void {
    const key = Buffer.alloc(8);
    const value = Buffer.alloc(PAIR_VALUE_BYTES);
    let pairs = 0;
    let added = 0;
    for (const change of changes) {
      if (change.total === null || change.total === 0) {
        // A tombstone of a pair this store never had must not give its ids an index.
        const user = this.lookupIndex('user', change.user);
        const item = this.lookupIndex('item', change.item);
        if (user === undefined || item === undefined) continue;
        const stored = this.userItems.get(writePairKey(key, user, item));
        if (stored === undefined) continue;
        this.userItems.remove(key);
        pairs--;
        added -= readPairCount(stored);
        continue;
      }
      writePairKey(
        key,
        this.indexOf('user', change.user, assigned.user),
        this.indexOf('item', change.item, assigned.item),
      );
      const stored = this.userItems.get(key);
      if (stored === undefined) pairs++;
      const next = Math.min(U32_MAX, change.total);
      added += next - readPairCount(stored);
      this.userItems.put(key, writePairValue(value, next, stored === undefined ? sequence : readPairFirstSeen(stored)));
    }
    this.meta.put('pairs', (this.meta.get('pairs') ?? 0) + pairs);
    this.meta.put('total', (this.meta.get('total') ?? 0) + added);
  }

  private lookupIndex(side: Side, id: string): number | undefined {
    return this.indexCache[side].get(id) ?? this.ids[side].get(id);
  }

  /**
   * Up to `limit` outbox entries with their pairs' totals now, from one read transaction; the outbox alone holds
   * both (each write puts the total it leaves in the entry), and the ids come from the name cache.
   */
  pendingChanges(limit: number): PendingChange[] {
    const outbox = this.requireOutbox();
    return this.read((transaction) => {
      const result: PendingChange[] = [];
      for (const { key, value } of outbox.getRange({ transaction, limit })) {
        const userIndex = pairKeyFirst(key);
        const itemIndex = pairKeySecond(key);
        result.push({
          user: this.nameOf('user', userIndex, transaction),
          item: this.nameOf('item', itemIndex, transaction),
          total: readOutboxTotal(value),
          stamp: readOutboxStamp(value),
          userIndex,
          itemIndex,
        });
      }
      return result;
    });
  }

  private nameOf(side: Side, index: number, transaction: ReadTransaction): string {
    const cached = this.nameCache[side][index];
    if (cached !== undefined) return cached;
    const id = this.names[side].get(index, { transaction });
    if (id === undefined) throw new Error(`store is inconsistent: outbox pair has no ${side} id`);
    this.remember(side, id, index);
    return id;
  }

  /**
   * Remove published entries, each only if no write changed its pair since it was read (same stamp): a pair
   * changed meanwhile stays, so its newer total is published next. When several processes share the store, another
   * relay may have sent and cleared a newer total before this one's older total reached the topic: a pair whose
   * entry is gone but whose total differs from the one sent goes back in, so the topic's last word is the store's.
   */
  clearChanges(changes: PendingChange[]): void {
    const outbox = this.requireOutbox();
    this.root.transactionSync(() => {
      const sequence = this.meta.get('sequence') ?? 0;
      const key = Buffer.alloc(8);
      const entry = Buffer.alloc(OUTBOX_VALUE_BYTES);
      for (const change of changes) {
        writePairKey(key, change.userIndex, change.itemIndex);
        const current = outbox.getBinaryFast(key);
        if (current === undefined) {
          const stored = this.userItems.get(key);
          const total = stored === undefined ? null : readPairCount(stored);
          if (total !== change.total) outbox.put(key, writeOutboxValue(entry, total, sequence));
        } else if (readOutboxStamp(current) === change.stamp) outbox.remove(key);
      }
    });
  }

  /**
   * Take the outbox relay's lock for process `pid`: granted when no process holds it, `pid` already does, or its
   * holder is gone (`alive` says no: a killed ingester never releases it). Processes sharing the store relay one at
   * a time, so a pair's totals from two processes never cross on their way to the topic (the later read sent
   * first, the earlier one after it and left last).
   */
  claimRelay(pid: number, alive: (pid: number) => boolean): boolean {
    return this.root.transactionSync(() => {
      const holder = this.meta.get('relay-holder');
      if (holder !== undefined && holder !== pid && alive(holder)) return false;
      this.meta.put('relay-holder', pid);
      return true;
    });
  }

  /** Give the relay's lock back, if `pid` holds it. */
  releaseRelay(pid: number): void {
    this.root.transactionSync(() => {
      if (this.meta.get('relay-holder') === pid) this.meta.remove('relay-holder');
    });
  }

  /** Entries waiting in the outbox (0 without one); from LMDB's page statistics, no scan. */
  outboxSize(): number {
    return (this.outbox?.getStats() as { entryCount?: number } | undefined)?.entryCount ?? 0;
  }

  private requireOutbox(): Database<Buffer, Buffer> {
    if (!this.outbox) throw new Error('this store was opened without changelogOutbox');
    return this.outbox;
  }

  /** The whole store as the project's CSR type, from ONE read transaction. */
  snapshot(): StoreSnapshot {
    return this.read((transaction) => {
      const rows = this.meta.get('users', { transaction }) ?? 0;
      const cols = this.meta.get('items', { transaction }) ?? 0;
      const nnz = this.meta.get('pairs', { transaction }) ?? 0;
      const indptr = new Uint32Array(rows + 1);
      const indices = new Uint32Array(nnz);
      const counts = new Uint32Array(nnz);
      const firstSeen = new Float64Array(nnz);
      let k = 0;
      for (const { key, value } of this.userItems.getRange({ transaction })) {
        indptr[pairKeyFirst(key) + 1]!++;
        indices[k] = pairKeySecond(key);
        counts[k] = readPairCount(value);
        firstSeen[k] = readPairFirstSeen(value);
        k++;
      }
      if (k !== nnz) throw new Error(`store is inconsistent: ${k} pairs found, meta says ${nnz}`);
      for (let r = 0; r < rows; r++) indptr[r + 1]! += indptr[r]!;
      const byUser: Csr = { rows, cols, indptr, indices, counts };
      const interactions: Interactions = {
        userIds: this.readNames('user', rows, transaction),
        itemIds: this.readNames('item', cols, transaction),
        byUser,
        byItem: transpose(byUser),
      };
      return {
        interactions,
        firstSeen,
        sequence: this.meta.get('sequence', { transaction }) ?? 0,
        total: this.meta.get('total', { transaction }) ?? 0,
      };
    });
  }

  private readNames(side: Side, count: number, transaction: ReadTransaction): string[] {
    const names = new Array<string>(count);
    let k = 0;
    for (const { value } of this.names[side].getRange({ transaction, end: count })) names[k++] = value;
    if (k !== count) throw new Error(`store is inconsistent: ${k} ${side} ids found, meta says ${count}`);
    return names;
  }

  /** Dense index of an id, or undefined when the store has never seen it (a cold-start user or item). */
  lookup(side: Side, id: string): number | undefined {
    return this.ids[side].get(id);
  }

  /** The raw id of a dense index. */
  idOf(side: Side, index: number): string | undefined {
    return this.names[side].get(index);
  }

  /** A user's items with counts (for exclusion at scoring time); empty for an unknown user. */
  itemsOfUser(user: number): Adjacency {
    const indices: number[] = [];
    const counts: number[] = [];
    for (const { key, value } of this.userItems.getRange(pairRange(user))) {
      indices.push(pairKeySecond(key));
      counts.push(readPairCount(value));
    }
    return { indices: Uint32Array.from(indices), counts: Uint32Array.from(counts) };
  }

  /** Next offset to consume per partition of a topic, as stored with the counts. */
  storedOffsets(topic: string): Map<number, bigint> {
    const result = new Map<number, bigint>();
    for (const { key, value } of this.offsets.getRange({ start: [topic], end: [`${topic}\u0001`] })) {
      if (key[0] === topic) result.set(key[1], BigInt(value));
    }
    return result;
  }

  stats(): StoreStats {
    return this.read((transaction) => ({
      users: this.meta.get('users', { transaction }) ?? 0,
      items: this.meta.get('items', { transaction }) ?? 0,
      pairs: this.meta.get('pairs', { transaction }) ?? 0,
      total: this.meta.get('total', { transaction }) ?? 0,
      sequence: this.meta.get('sequence', { transaction }) ?? 0,
      bytes: fileSize(this.dataFile),
    }));
  }

  private read<T>(body: (transaction: ReadTransaction) => T): T {
    const transaction = this.root.useReadTransaction();
    try {
      return body(transaction);
    } finally {
      transaction.done();
    }
  }

  async close(): Promise<void> {
    await this.root.close();
  }
}

type ReadTransaction = ReturnType<RootDatabase['useReadTransaction']>;

/**
 * The events that survive a batch's erasures: a user's events before their last erase in the batch are dropped
 * (the erase removes them with the stored pairs); later ones stay and count after it.
 */
export function eventsAfterErasures(events: StoredEvent[], erasures: readonly StoredErasure[]): StoredEvent[] {
  const lastErase = new Map<string, bigint>();
  for (const erasure of erasures) {
    const known = lastErase.get(erasure.user);
    if (known === undefined || erasure.offset > known) lastErase.set(erasure.user, erasure.offset);
  }
  return events.filter((event) => {
    const erasedAt = lastErase.get(event.user);
    return erasedAt === undefined || event.offset > erasedAt;
  });
}

function fileSize(file: string): number {
  try {
    return fs.statSync(file).size;
  } catch {
    return 0;
  }
}
