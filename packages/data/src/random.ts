/**
 * The project's one seeded generator (mulberry32): every split, sample and initialisation must be reproducible
 * from a seed, and Math.random cannot be seeded. Same seed → same stream in every process. Its `next()` stream
 * is the one the harness's splits were drawn with, so splits (and every table built on them) stay reproducible.
 * The word2vec kernel keeps an inline generator of its own in its hot loop, seeded from this one.
 */
export class Random {
  private state: number;

  constructor(seed: number) {
    this.state = (seed ^ 0x9e3779b9) >>> 0;
  }

  /** Uniform uint32. */
  nextU32(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.nextU32() / 4294967296;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** Derive an independent stream (for a worker, an epoch, a side). */
  fork(salt: number): Random {
    return new Random(deriveSeed(this.nextU32(), salt));
  }
}

/** Derive an independent seed for a sub-stream (split vs validation vs model) from one user-facing seed. */
export function deriveSeed(seed: number, stream: number): number {
  let h = Math.imul(seed ^ 0x85ebca6b, 0xc2b2ae35) ^ Math.imul(stream + 1, 0x27d4eb2f);
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  return (h ^ (h >>> 13)) >>> 0;
}

/** Fisher–Yates shuffle in place of a typed array. */
export function shuffleInPlace(a: Uint32Array | Int32Array | Float32Array, rng: Random): void {
  for (let i = a.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const t = a[i]!;
    a[i] = a[j]!;
    a[j] = t;
  }
}
