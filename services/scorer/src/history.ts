import type { Interactions } from '@pncf/data';
import type { InteractionStore } from '@pncf/store';
import type { RecommendRequest, UserHistory } from './serving-model.js';

/** A user's row of an in-memory data set as a history (for benchmarks and tests that have no store). */
export function historyOfRow(data: Interactions, user: number): UserHistory {
  const { indptr, indices, counts } = data.byUser;
  const items: string[] = [];
  const weights: number[] = [];
  for (let p = indptr[user]!; p < indptr[user + 1]!; p++) {
    items.push(data.itemIds[indices[p]!]!);
    weights.push(counts[p]!);
  }
  return { items, counts: weights };
}

/**
 * A user's items, to exclude from their recommendations and to build cold-start vectors from: the scorer's counts
 * view (its own store, fed from the changelog; read-only here) united with the interactions this scorer consumed
 * itself in the last `recentTtlMs`. The scorer reads the interactions topic in parallel with the ingester, and
 * the view follows the ingester's changelog, so an event may reach the scorer before it reaches the view; the
 * recent overlay is what guarantees that the item just used never comes back in the list republished for it.
 */
export class HistorySource {
  /** Store item index → id; indices never change, so the cache cannot go stale. */
  private readonly itemNames: string[] = [];
  /** erased: the entry started at an erase of the user; the store's pairs of the user are not theirs to read. */
  private readonly recent = new Map<
    string,
    { items: Map<string, number>; at: number; version: number; erased?: boolean }
  >();
  /** Users erased while this process ran: the served model's vectors of them are never used again. */
  private readonly erased = new Set<string>();
  /** Bumped by every record(); never reused, so a version names one state of one user's history. */
  private sequence = 0;

  constructor(
    /** The counts view's store; its owner (the view) writes and closes it. */
    readonly store: InteractionStore,
    private readonly recentTtlMs: number,
  ) {}

  /** Remember an interaction consumed from Kafka until the store surely has it. */
  record(user: string, item: string, count: number, now = Date.now()): void {
    let entry = this.recent.get(user);
    if (!entry) {
      entry = { items: new Map(), at: now, version: 0 };
      this.recent.set(user, entry);
    }
    entry.items.set(item, (entry.items.get(item) ?? 0) + count);
    entry.at = now;
    entry.version = ++this.sequence;
  }

  /**
   * The view wrote new totals for the user: their history may differ from what a cached list was computed on.
   * With several replicas a user's interactions reach only the replica that owns their partition, so on the
   * others this is the only sign of them; the entry expires as overlay entries do.
   */
  storeChanged(user: string, now = Date.now()): void {
    const entry = this.recent.get(user);
    if (entry) {
      entry.at = now;
      entry.version = ++this.sequence;
    } else this.recent.set(user, { items: new Map(), at: now, version: ++this.sequence });
  }

  /**
   * Forget what this process holds of the user's history, from an erase event: the overlay starts again, empty, and
   * while it lives (RECENT_TTL_S after the user's last event, which covers the ingester's lag, as for record())
   * the store's pairs of the user are ignored: the view may not have received the erase's tombstones yet.
   * Interactions recorded after the erase count as usual. Bumps the user's version, so no list computed before
   * the erase is served again.
   */
  erase(user: string, now = Date.now()): void {
    this.recent.set(user, { items: new Map(), at: now, version: ++this.sequence, erased: true });
    this.erased.add(user);
  }

  /**
   * What to rank for the user: their history, and their trained vector only when it may be used. Not for a user
   * erased while this process ran (the served model may hold a vector of theirs until the next training), nor for
   * one with no history at all: a model trains on users with counts, so a user it knows whose counts are gone from
   * the view was erased (also before this process started). Both are ranked as users the model does not know.
   */
  request(user: string): RecommendRequest {
    const history = this.historyOf(user);
    if (this.erased.has(user) || history.items.length === 0) return { user, history, useTrainedVector: false };
    return { user, history };
  }

  /**
   * Changes whenever the user's history may have changed: at each interaction recorded for them, at each change
   * of theirs the view applies, and when their overlay entry expires (0: none). A Top-K computed at one version is
   * still the user's Top-K at the same one (with the same model): every change of the view passes through
   * storeChanged(), and those the replica consumed itself through record() too.
   */
  versionOf(user: string): number {
    return this.recent.get(user)?.version ?? 0;
  }

  /** Drop overlay entries older than the TTL; returns how many users were dropped. */
  prune(now = Date.now()): number {
    let dropped = 0;
    for (const [user, entry] of this.recent) {
      if (now - entry.at > this.recentTtlMs) {
        this.recent.delete(user);
        dropped++;
      }
    }
    return dropped;
  }

  recentUsers(): number {
    return this.recent.size;
  }

  historyOf(user: string): UserHistory {
    const items: string[] = [];
    const counts: number[] = [];
    const store = this.store;
    const entry = this.recent.get(user);
    const index = entry?.erased ? undefined : store.lookup('user', user);
    if (index !== undefined) {
      const adjacency = store.itemsOfUser(index);
      for (let p = 0; p < adjacency.indices.length; p++) {
        items.push(this.itemName(store, adjacency.indices[p]!));
        counts.push(adjacency.counts[p]!);
      }
    }
    if (entry) {
      // The store's count already includes an event once the ingester stored it; only add what it lacks.
      const known = new Set(items);
      for (const [item, count] of entry.items) {
        if (known.has(item)) continue;
        items.push(item);
        counts.push(count);
      }
    }
    return { items, counts };
  }

  private itemName(store: InteractionStore, index: number): string {
    let name = this.itemNames[index];
    if (name === undefined) {
      name = store.idOf('item', index);
      if (name === undefined) throw new Error(`store item ${index} has no id`);
      this.itemNames[index] = name;
    }
    return name;
  }
}
