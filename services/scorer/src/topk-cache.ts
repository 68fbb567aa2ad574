import type { ServingModel } from './serving-model.js';

/** Whether a request was answered from the cache or computed. */
export type CacheOutcome = 'hit' | 'miss';

export const CACHE_OUTCOMES: readonly CacheOutcome[] = ['hit', 'miss'];

interface Entry {
  /** HistorySource.versionOf(user) when the list was computed. */
  historyVersion: number;
  /** The serialized recommendation, sent as is: a hit costs no ranking and no serialization. */
  body: string;
}

/**
 * The users' current Top-K response bodies, so a request whose answer cannot have changed costs a lookup. An
 * entry is fresh while the model that computed it is still the one served (entries of a replaced model are
 * dropped at once) and the user's history version is the one it was computed at (a new interaction of the user
 * bumps it). Keyed by user and k, the only request parameters that change the answer; bounded to `maxEntries`,
 * least recently used first out; 0 disables it.
 */
export class TopKCache {
  private readonly entries = new Map<string, Entry>();
  /** The model the entries were computed with; compared by identity, so a reload of the same version is new. */
  private model: ServingModel | undefined;

  constructor(
    readonly maxEntries: number,
    private readonly holder: { readonly current: ServingModel | undefined },
  ) {
    if (!Number.isInteger(maxEntries) || maxEntries < 0) throw new RangeError('maxEntries must be an integer ≥ 0');
  }

  get size(): number {
    return this.entries.size;
  }

  /** The body computed by `model` for (user, k) at `historyVersion`, if there is one. */
  get(model: ServingModel, user: string, k: number, historyVersion: number): string | undefined {
    if (!this.serves(model)) return undefined;
    const key = keyOf(user, k);
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    this.entries.delete(key);
    if (entry.historyVersion !== historyVersion) return undefined;
    // Re-inserted: a Map iterates in insertion order, so its first key is the least recently used.
    this.entries.set(key, entry);
    return entry.body;
  }

  /** Remember a body; ignored when `model` is no longer the one served (a refresh finishing on a replaced model). */
  set(model: ServingModel, user: string, k: number, historyVersion: number, body: string): void {
    if (!this.serves(model)) return;
    const key = keyOf(user, k);
    this.entries.delete(key);
    this.entries.set(key, { historyVersion, body });
    if (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
  }

  /** Drop every list of `user` (an erased user's lists must not stay in memory); a scan, erasures are rare. */
  dropUser(user: string): number {
    let dropped = 0;
    for (const key of this.entries.keys()) {
      if (key.slice(key.indexOf(' ') + 1) === user) {
        this.entries.delete(key);
        dropped++;
      }
    }
    return dropped;
  }

  /** Whether `model` is the one served; entries of any other are dropped. */
  private serves(model: ServingModel): boolean {
    const current = this.holder.current;
    if (current !== this.model) {
      this.entries.clear();
      this.model = current;
    }
    return model === current && this.maxEntries > 0;
  }
}

// k is digits, so the first space ends it whatever the user id holds.
const keyOf = (user: string, k: number): string => `${k} ${user}`;
