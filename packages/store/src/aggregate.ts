/**
 * Sum a batch's (user, item, count) triples per distinct pair, sorted by (user, item): the order LMDB keys
 * are stored in, so the writes that follow walk the B-tree forwards. Pure; typed arrays only.
 */
export interface PairDeltas {
  users: Uint32Array;
  items: Uint32Array;
  deltas: Uint32Array;
}

export function aggregatePairs(users: Uint32Array, items: Uint32Array, counts: Uint32Array): PairDeltas {
  // A comparison sort of the batch: a counting sort by user would need an array as long as the whole user
  // dictionary in every transaction.
  const n = users.length;
  const order = new Uint32Array(n);
  for (let k = 0; k < n; k++) order[k] = k;
  order.sort((a, b) => users[a]! - users[b]! || items[a]! - items[b]!);
  // In that order equal pairs are adjacent: a new pair starts where (user, item) changes.
  const out: PairDeltas = { users: new Uint32Array(n), items: new Uint32Array(n), deltas: new Uint32Array(n) };
  let last = -1;
  for (let p = 0; p < n; p++) {
    const k = order[p]!;
    if (last < 0 || out.users[last] !== users[k] || out.items[last] !== items[k]) {
      last++;
      out.users[last] = users[k]!;
      out.items[last] = items[k]!;
    }
    out.deltas[last]! += counts[k]!;
  }
  const m = last + 1;
  return { users: out.users.subarray(0, m), items: out.items.subarray(0, m), deltas: out.deltas.subarray(0, m) };
}
