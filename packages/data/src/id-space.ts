/**
 * An id space: raw string ids (users or items, from files or events) ↔ dense indices 0..n-1. Data, models
 * and artifacts each hold ids as an array (index → id); this is the other direction.
 */
export function indexOfIds(ids: readonly string[]): Map<string, number> {
  const map = new Map<string, number>();
  for (let k = 0; k < ids.length; k++) map.set(ids[k]!, k);
  return map;
}

/**
 * For each index of `from`, its index in `to` (-1 where `to` lacks the id): carries rows of one id space
 * (a model's, a snapshot's) into another.
 */
export function mapIds(from: readonly string[], to: ReadonlyMap<string, number> | readonly string[]): Int32Array {
  const index = to instanceof Map ? to : indexOfIds(to as readonly string[]);
  const out = new Int32Array(from.length);
  for (let k = 0; k < from.length; k++) out[k] = index.get(from[k]!) ?? -1;
  return out;
}

/** The dense index of `id` in a growing id space: its position in `ids`, appended (and `index` told) when new. */
export function internId(id: string, index: Map<string, number>, ids: string[]): number {
  let at = index.get(id);
  if (at === undefined) {
    at = ids.push(id) - 1;
    index.set(id, at);
  }
  return at;
}
