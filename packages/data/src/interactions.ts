/**
 * Interaction data as the whole project holds it: users × items with integer counts ≥ 1, as CSR in both
 * directions. Row r's entries are indices[indptr[r] .. indptr[r+1]) with counts at the same positions,
 * sorted by column index within a row.
 */
export interface Csr {
  rows: number;
  cols: number;
  indptr: Uint32Array; // length rows + 1
  indices: Uint32Array; // length nnz
  counts: Uint32Array; // length nnz, each ≥ 1
}

export interface Interactions {
  /** Dense index → raw id (string ids from files or events). */
  userIds: string[];
  itemIds: string[];
  byUser: Csr; // user → items
  byItem: Csr; // item → users (the transpose of byUser)
}

export const numUsers = (data: Interactions): number => data.byUser.rows;
export const numItems = (data: Interactions): number => data.byUser.cols;
export const numPairs = (data: Interactions): number => data.byUser.indices.length;

/** Transpose a CSR (counting sort: O(nnz), no per-element allocation). Rows of the result stay sorted. */
export function transpose(csr: Csr): Csr {
  const nnz = csr.indices.length;
  const indptr = new Uint32Array(csr.cols + 1);
  for (let k = 0; k < nnz; k++) indptr[csr.indices[k]! + 1]!++;
  for (let c = 0; c < csr.cols; c++) indptr[c + 1]! += indptr[c]!;
  const cursor = indptr.slice(0, csr.cols);
  const indices = new Uint32Array(nnz);
  const counts = new Uint32Array(nnz);
  for (let r = 0; r < csr.rows; r++) {
    for (let k = csr.indptr[r]!; k < csr.indptr[r + 1]!; k++) {
      const c = csr.indices[k]!;
      const at = cursor[c]!++;
      indices[at] = r;
      counts[at] = csr.counts[k]!;
    }
  }
  return { rows: csr.cols, cols: csr.rows, indptr, indices, counts };
}

/** Build from parallel arrays of dense (user, item) pairs, each counted once (repeated pairs add up). */
export function fromPairs(
  userIds: string[],
  itemIds: string[],
  users: ArrayLike<number>,
  items: ArrayLike<number>,
): Interactions {
  return fromTriples(
    userIds,
    itemIds,
    Uint32Array.from(users),
    Uint32Array.from(items),
    new Uint32Array(users.length).fill(1),
  );
}

/**
 * Build from parallel arrays of dense (user, item, count) triples. Duplicate pairs are summed, so a stream
 * of events with count 1 each becomes the many-to-many counts.
 */
export function fromTriples(
  userIds: string[],
  itemIds: string[],
  users: Uint32Array,
  items: Uint32Array,
  counts: Uint32Array,
): Interactions {
  const rows = userIds.length;
  const cols = itemIds.length;
  const n = users.length;
  const rowStart = new Uint32Array(rows + 1);
  for (let k = 0; k < n; k++) rowStart[users[k]! + 1]!++;
  for (let r = 0; r < rows; r++) rowStart[r + 1]! += rowStart[r]!;
  const cursor = rowStart.slice(0, rows);
  const order = new Uint32Array(n);
  for (let k = 0; k < n; k++) order[cursor[users[k]!]!++] = k;

  const indptr = new Uint32Array(rows + 1);
  const indices = new Uint32Array(n);
  const out = new Uint32Array(n);
  let nnz = 0;
  const rowItems: number[] = [];
  for (let r = 0; r < rows; r++) {
    rowItems.length = 0;
    for (let p = rowStart[r]!; p < rowStart[r + 1]!; p++) rowItems.push(order[p]!);
    rowItems.sort((a, b) => items[a]! - items[b]!);
    for (let p = 0; p < rowItems.length; p++) {
      const k = rowItems[p]!;
      if (nnz > indptr[r]! && indices[nnz - 1] === items[k]) {
        out[nnz - 1]! += counts[k]!;
      } else {
        indices[nnz] = items[k]!;
        out[nnz] = counts[k]!;
        nnz++;
      }
    }
    indptr[r + 1] = nnz;
  }
  const byUser: Csr = { rows, cols, indptr, indices: indices.slice(0, nnz), counts: out.slice(0, nnz) };
  return { userIds, itemIds, byUser, byItem: transpose(byUser) };
}
