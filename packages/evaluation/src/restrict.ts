import type { Recommender } from './model.js';

/** The items where `allowed` is 0, ascending: computed once, so masking a block costs only the excluded items. */
export function excludedItems(allowed: Uint8Array): Uint32Array {
  let n = 0;
  for (let i = 0; i < allowed.length; i++) if (allowed[i] === 0) n++;
  const out = new Uint32Array(n);
  n = 0;
  for (let i = 0; i < allowed.length; i++) if (allowed[i] === 0) out[n++] = i;
  return out;
}

/** Score -Infinity for the `excluded` items in each of `rows` rows of a rows × numItems block: never ranked. */
export function excludeItems(out: Float32Array, rows: number, numItems: number, excluded: Uint32Array): void {
  for (let b = 0; b < rows; b++) {
    const at = b * numItems;
    for (let k = 0; k < excluded.length; k++) out[at + excluded[k]!] = Number.NEGATIVE_INFINITY;
  }
}

/**
 * A fitted model restricted to some items (`allowed` = 1): the others score -Infinity, so they are never
 * recommended, e.g. items no fit has a trained vector for.
 */
export class RankOnly implements Recommender {
  readonly name: string;
  private readonly excluded: Uint32Array;
  constructor(
    private readonly model: Recommender,
    allowed: Uint8Array,
  ) {
    this.name = model.name;
    this.excluded = excludedItems(allowed);
  }
  fit(): Promise<never> {
    throw new Error(`${this.name}: RankOnly wraps a fitted model`);
  }
  async scoreUsers(users: Uint32Array, out: Float32Array): Promise<void> {
    await this.model.scoreUsers(users, out);
    excludeItems(out, users.length, out.length / Math.max(1, users.length), this.excluded);
  }
}
