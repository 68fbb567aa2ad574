import type { Interactions } from '@pncf/data';
import { communityData } from '../../evaluation/test/support/recommender-contract.js';

/** Two communities of 60 users × 40 items (see communityData): users in group g mostly use items of group g. */
export const clusteredData = (users = 60, items = 40, perUser = 10, seed = 7): Interactions =>
  communityData({ users, items, perUser, seed });

export const groupOfItem = (item: number, items = 40): number => (item < items / 2 ? 0 : 1);

export function cosine(a: Float32Array, i: number, j: number, dim: number): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let x = 0; x < dim; x++) {
    const p = a[i * dim + x]!;
    const q = a[j * dim + x]!;
    dot += p * q;
    na += p * p;
    nb += q * q;
  }
  return dot / Math.sqrt(na * nb + 1e-12);
}

/** Mean cosine within the item groups minus mean cosine across them. */
export function groupSeparation(vectors: Float32Array, n: number, dim: number, group: (k: number) => number): number {
  let within = 0;
  let nw = 0;
  let across = 0;
  let na = 0;
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const c = cosine(vectors, i, j, dim);
      if (group(i) === group(j)) {
        within += c;
        nw++;
      } else {
        across += c;
        na++;
      }
    }
  }
  return within / nw - across / na;
}
