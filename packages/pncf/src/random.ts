/**
 * Seeded 32-bit PRNG (xorshift128 state in a Uint32Array, so it can live in shared memory or be copied into a
 * worker). Deterministic across processes: the same seed gives the same stream.
 */
export class Random {
  private readonly s = new Uint32Array(4);

  constructor(seed: number) {
    // splitmix32 expands one seed into a well-mixed state; an all-zero state would be stuck at zero.
    let x = seed >>> 0;
    for (let i = 0; i < 4; i++) {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      this.s[i] = (z ^ (z >>> 16)) >>> 0;
    }
    if ((this.s[0]! | this.s[1]! | this.s[2]! | this.s[3]!) === 0) this.s[0] = 1;
  }

  /** Uniform uint32. */
  nextU32(): number {
    const s = this.s;
    let t = s[3]!;
    const u = s[0]!;
    s[3] = s[2]!;
    s[2] = s[1]!;
    s[1] = u;
    t ^= t << 11;
    t ^= t >>> 8;
    s[0] = (t ^ u ^ (u >>> 19)) >>> 0;
    return s[0]!;
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
    return new Random((this.nextU32() ^ Math.imul(salt + 1, 0x9e3779b1)) >>> 0);
  }
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
