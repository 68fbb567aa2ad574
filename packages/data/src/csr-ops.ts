import { mapIds } from './id-space.js';
import { type Csr, type Interactions, transpose } from './interactions.js';
import { lowerBound } from './sorted.js';

/** Number of distinct items of user `u` (or users of item `u` when given byItem). */
export const rowLength = (csr: Csr, row: number): number => csr.indptr[row + 1]! - csr.indptr[row]!;

/**
 * Keep the rows/columns flagged in `keepUser`/`keepItem` and re-index them densely in their original order.
 * Entries whose user or item is dropped disappear.
 */
export function subgraph(data: Interactions, keepUser: Uint8Array, keepItem: Uint8Array): Interactions {
  const { byUser } = data;
  const userMap = new Int32Array(byUser.rows).fill(-1);
  const itemMap = new Int32Array(byUser.cols).fill(-1);
  const userIds: string[] = [];
  const itemIds: string[] = [];
  for (let u = 0; u < byUser.rows; u++) if (keepUser[u]) userMap[u] = userIds.push(data.userIds[u]!) - 1;
  for (let i = 0; i < byUser.cols; i++) if (keepItem[i]) itemMap[i] = itemIds.push(data.itemIds[i]!) - 1;
  let nnz = 0;
  for (let u = 0; u < byUser.rows; u++) {
    if (userMap[u]! < 0) continue;
    for (let k = byUser.indptr[u]!; k < byUser.indptr[u + 1]!; k++) if (itemMap[byUser.indices[k]!]! >= 0) nnz++;
  }
  const indptr = new Uint32Array(userIds.length + 1);
  const indices = new Uint32Array(nnz);
  const counts = new Uint32Array(nnz);
  let at = 0;
  for (let u = 0; u < byUser.rows; u++) {
    const nu = userMap[u]!;
    if (nu < 0) continue;
    for (let k = byUser.indptr[u]!; k < byUser.indptr[u + 1]!; k++) {
      const ni = itemMap[byUser.indices[k]!]!;
      if (ni < 0) continue;
      indices[at] = ni;
      counts[at] = byUser.counts[k]!;
      at++;
    }
    indptr[nu + 1] = at;
  }
  const csr: Csr = { rows: userIds.length, cols: itemIds.length, indptr, indices, counts };
  return { userIds, itemIds, byUser: csr, byItem: transpose(csr) };
}

/**
 * Split the entries of `data` by a per-entry mask (aligned with byUser.indices): 1 → `selected`, 0 → `rest`.
 * Both keep all users and items of `data` with the same dense indices, so models and metrics can mix them.
 */
export function partitionByMask(data: Interactions, mask: Uint8Array): { rest: Interactions; selected: Interactions } {
  const { byUser } = data;
  const build = (want: number): Interactions => {
    let nnz = 0;
    for (let k = 0; k < mask.length; k++) if (mask[k] === want) nnz++;
    const indptr = new Uint32Array(byUser.rows + 1);
    const indices = new Uint32Array(nnz);
    const counts = new Uint32Array(nnz);
    let at = 0;
    for (let u = 0; u < byUser.rows; u++) {
      for (let k = byUser.indptr[u]!; k < byUser.indptr[u + 1]!; k++) {
        if (mask[k] !== want) continue;
        indices[at] = byUser.indices[k]!;
        counts[at] = byUser.counts[k]!;
        at++;
      }
      indptr[u + 1] = at;
    }
    const csr: Csr = { rows: byUser.rows, cols: byUser.cols, indptr, indices, counts };
    return { userIds: data.userIds, itemIds: data.itemIds, byUser: csr, byItem: transpose(csr) };
  };
  return { rest: build(0), selected: build(1) };
}

/**
 * Carry a per-pair array (aligned with `from.byUser.indices`, e.g. the store's first-seen sequences) over to `to`,
 * whose pairs are a subset of `from`'s matched by raw ids: what a re-indexing step such as `kCore` or `subgraph`
 * loses. One binary search per pair of `to`; throws when `to` has a pair `from` lacks.
 */
export function alignPairValues(from: Interactions, values: ArrayLike<number>, to: Interactions): Float64Array {
  if (values.length !== from.byUser.indices.length) throw new RangeError('values must be aligned with from.byUser');
  const userOf = mapIds(to.userIds, from.userIds);
  const itemOf = mapIds(to.itemIds, from.itemIds);
  const { indptr, indices } = from.byUser;
  const out = new Float64Array(to.byUser.indices.length);
  for (let u = 0; u < to.byUser.rows; u++) {
    const fu = userOf[u]!;
    for (let p = to.byUser.indptr[u]!; p < to.byUser.indptr[u + 1]!; p++) {
      const fi = itemOf[to.byUser.indices[p]!]!;
      const start = fu >= 0 ? indptr[fu]! : 0;
      const end = fu >= 0 ? indptr[fu + 1]! : 0;
      const at = fi >= 0 ? lowerBound(indices, start, end, fi) : end;
      if (at >= end || indices[at] !== fi) {
        throw new RangeError(`pair (${to.userIds[u]}, ${to.itemIds[to.byUser.indices[p]!]}) is not in the source data`);
      }
      out[p] = values[at]!;
    }
  }
  return out;
}

/**
 * The given rows of `lists`, in that order, as lists of their own (e.g. the histories of a block of users), with
 * their counts when `lists` has counts.
 */
export function selectRows(
  lists: Pick<Csr, 'indptr' | 'indices'> & { counts?: Uint32Array },
  which: ArrayLike<number>,
): { indptr: Uint32Array; indices: Uint32Array; counts?: Uint32Array } {
  const indptr = new Uint32Array(which.length + 1);
  for (let j = 0; j < which.length; j++) {
    const r = which[j]!;
    indptr[j + 1] = indptr[j]! + lists.indptr[r + 1]! - lists.indptr[r]!;
  }
  const indices = new Uint32Array(indptr[which.length]!);
  const counts = lists.counts ? new Uint32Array(indices.length) : undefined;
  for (let j = 0; j < which.length; j++) {
    const r = which[j]!;
    indices.set(lists.indices.subarray(lists.indptr[r]!, lists.indptr[r + 1]!), indptr[j]!);
    counts?.set(lists.counts!.subarray(lists.indptr[r]!, lists.indptr[r + 1]!), indptr[j]!);
  }
  return counts ? { indptr, indices, counts } : { indptr, indices };
}
