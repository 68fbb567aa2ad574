/**
 * Seeded PRNG (mulberry32): every split and sample in the harness must be reproducible from a seed, and
 * Math.random cannot be seeded. Returns floats in [0, 1).
 */
export function createRng(seed: number): () => number {
  let state = (seed ^ 0x9e3779b9) >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Uniform integer in [0, n). */
export const randomInt = (rng: () => number, n: number): number => Math.floor(rng() * n);

/** Derive an independent seed for a sub-stream (split vs validation vs model) from one user-facing seed. */
export function deriveSeed(seed: number, stream: number): number {
  let h = Math.imul(seed ^ 0x85ebca6b, 0xc2b2ae35) ^ Math.imul(stream + 1, 0x27d4eb2f);
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  return (h ^ (h >>> 13)) >>> 0;
}
