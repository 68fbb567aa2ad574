import { fromTriples, type Interactions, Random } from '@pncf/data';

/**
 * Two communities: users in group g interact mostly with items of group g (counts 1–4), with a little
 * cross-group noise. A model that learns anything ranks same-group items first.
 */
export function clusteredData(users = 60, items = 40, perUser = 10, seed = 7): Interactions {
  const rng = new Random(seed);
  const us: number[] = [];
  const is: number[] = [];
  const cs: number[] = [];
  const half = items / 2;
  for (let u = 0; u < users; u++) {
    const group = u % 2;
    const chosen = new Set<number>();
    while (chosen.size < perUser) {
      const cross = rng.next() < 0.1;
      const g = cross ? 1 - group : group;
      chosen.add(g * half + rng.int(half));
    }
    for (const i of chosen) {
      us.push(u);
      is.push(i);
      cs.push(1 + rng.int(4));
    }
  }
  const ids = (n: number, p: string) => Array.from({ length: n }, (_, k) => `${p}${k}`);
  return fromTriples(
    ids(users, 'u'),
    ids(items, 'i'),
    Uint32Array.from(us),
    Uint32Array.from(is),
    Uint32Array.from(cs),
  );
}

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
