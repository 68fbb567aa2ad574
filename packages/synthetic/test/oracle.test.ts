import { describe, expect, it } from 'vitest';
import { AuthorTagGenerator } from '../src/generator.js';
import { defaultSyntheticOptions } from '../src/options.js';

describe('AuthorTagGenerator.freshTagProbabilities (the topic oracle)', () => {
  it('is the distribution fresh tags are drawn from', () => {
    // Every event a fresh draw (no re-use), every author and tag present from the start: each author's tag
    // frequencies in the stream estimate the distribution directly.
    const generator = new AuthorTagGenerator({
      ...defaultSyntheticOptions,
      seed: 5,
      authors: 12,
      tags: 150,
      topics: 8,
      tagsPerTopic: 25,
      events: 240_000,
      initialAuthorShare: 1,
      initialTagShare: 1,
      reuseProbability: 0,
      noiseProbability: 0.1,
    });
    const stream = generator.generate();
    const counts = Array.from({ length: 12 }, () => new Float64Array(150));
    const totals = new Float64Array(12);
    stream.authors.forEach((a, k) => {
      counts[a]![stream.tags[k]!]!++;
      totals[a]!++;
    });
    let checked = 0;
    for (let a = 0; a < 12; a++) {
      const p = generator.freshTagProbabilities(a);
      expect(p.reduce((s, x) => s + x, 0)).toBeCloseTo(1, 10);
      if (totals[a]! < 8_000) continue;
      // Total variation distance between the empirical and the stated distribution.
      let tv = 0;
      for (let t = 0; t < 150; t++) tv += Math.abs(counts[a]![t]! / totals[a]! - p[t]!) / 2;
      expect(tv, `author ${a} (${totals[a]} events)`).toBeLessThan(0.04);
      checked++;
    }
    expect(checked).toBeGreaterThan(2);
  });
});
