import { subgraph } from './csr-ops.js';
import type { Interactions } from './interactions.js';

/**
 * Iterative k-core: drop users and items with fewer than k distinct interactions until none is left.
 * Peeling with a queue gives the unique maximal k-core, the same result as the reference code's
 * alternating "drop users, drop items, repeat" loop (it counts distinct pairs, not the sum of counts).
 */
export function kCore(data: Interactions, k: number): Interactions {
  const { byUser, byItem } = data;
  const nu = byUser.rows;
  const ni = byUser.cols;
  // Vertices 0..nu-1 are users, nu..nu+ni-1 items.
  const degree = new Int32Array(nu + ni);
  for (let u = 0; u < nu; u++) degree[u] = byUser.indptr[u + 1]! - byUser.indptr[u]!;
  for (let i = 0; i < ni; i++) degree[nu + i] = byItem.indptr[i + 1]! - byItem.indptr[i]!;
  const removed = new Uint8Array(nu + ni);
  const queue = new Int32Array(nu + ni);
  let head = 0;
  let tail = 0;
  for (let v = 0; v < nu + ni; v++) {
    if (degree[v]! < k) {
      removed[v] = 1;
      queue[tail++] = v;
    }
  }
  while (head < tail) {
    const v = queue[head++]!;
    const isUser = v < nu;
    const csr = isUser ? byUser : byItem;
    const row = isUser ? v : v - nu;
    const offset = isUser ? nu : 0;
    for (let p = csr.indptr[row]!; p < csr.indptr[row + 1]!; p++) {
      const w = csr.indices[p]! + offset;
      if (removed[w]) continue;
      if (--degree[w]! < k) {
        removed[w] = 1;
        queue[tail++] = w;
      }
    }
  }
  const keepUser = new Uint8Array(nu);
  const keepItem = new Uint8Array(ni);
  for (let u = 0; u < nu; u++) keepUser[u] = removed[u] ? 0 : 1;
  for (let i = 0; i < ni; i++) keepItem[i] = removed[nu + i] ? 0 : 1;
  return subgraph(data, keepUser, keepItem);
}

/** Whether every user and item of `data` has at least k distinct interactions (kCore would return it as it is). */
export function isKCore(data: Interactions, k: number): boolean {
  const { byUser, byItem } = data;
  for (let u = 0; u < byUser.rows; u++) if (byUser.indptr[u + 1]! - byUser.indptr[u]! < k) return false;
  for (let i = 0; i < byItem.rows; i++) if (byItem.indptr[i + 1]! - byItem.indptr[i]! < k) return false;
  return true;
}
