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
  const n = users.length;
  const order = new Uint32Array(n);
  for (let k = 0; k < n; k++) order[k] = k;
  order.sort((a, b) => users[a]! - users[b]! || items[a]! - items[b]!);
  const outUsers = new Uint32Array(n);
  const outItems = new Uint32Array(n);
  const outDeltas = new Uint32Array(n);
  let m = 0;
  for (let p = 0; p < n; p++) {
    const k = order[p]!;
    if (m > 0 && outUsers[m - 1] === users[k] && outItems[m - 1] === items[k]) {
      outDeltas[m - 1]! += counts[k]!;
    } else {
      outUsers[m] = users[k]!;
      outItems[m] = items[k]!;
      outDeltas[m] = counts[k]!;
      m++;
    }
  }
  return { users: outUsers.subarray(0, m), items: outItems.subarray(0, m), deltas: outDeltas.subarray(0, m) };
}

/** Indices of `pairs` sorted by (item, user): the key order of the item → users database. */
export function itemMajorOrder(pairs: PairDeltas): Uint32Array {
  const order = new Uint32Array(pairs.users.length);
  for (let k = 0; k < order.length; k++) order[k] = k;
  return order.sort((a, b) => pairs.items[a]! - pairs.items[b]! || pairs.users[a]! - pairs.users[b]!);
}
