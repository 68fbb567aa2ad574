import { Random } from '@pncf/data';
import { describe, expect, it } from 'vitest';
import { pairedBootstrap, quantile } from '../src/bootstrap.js';
import { gate, windowGate } from '../src/gate.js';

const bernoulli = (n: number, p: number, seed: number) => {
  const rng = new Random(seed);
  return Float64Array.from({ length: n }, () => (rng.next() < p ? 1 : 0));
};

describe('quantile', () => {
  it('interpolates between order statistics (type 7)', () => {
    const sorted = Float64Array.of(1, 2, 3, 4);
    expect(quantile(sorted, 0)).toBe(1);
    expect(quantile(sorted, 1)).toBe(4);
    expect(quantile(sorted, 0.5)).toBe(2.5);
    expect(quantile(sorted, 0.25)).toBeCloseTo(1.75, 12);
    expect(() => quantile([], 0.5)).toThrow(RangeError);
  });
});

describe('pairedBootstrap', () => {
  it('is a function of the values and the seed', () => {
    const a = bernoulli(300, 0.3, 1);
    const b = bernoulli(300, 0.25, 2);
    expect(pairedBootstrap(a, b, { seed: 7 })).toEqual(pairedBootstrap(a, b, { seed: 7 }));
    expect(pairedBootstrap(a, b, { seed: 8 }).difference).not.toEqual(pairedBootstrap(a, b, { seed: 7 }).difference);
  });

  it('gives each mean an interval of the width sampling theory expects', () => {
    const a = bernoulli(400, 0.3, 3);
    const result = pairedBootstrap(a, a, { seed: 1 });
    const mean = a.reduce((s, x) => s + x, 0) / a.length;
    expect(result.candidate.mean).toBeCloseTo(mean, 12);
    expect(result.candidate.low).toBeLessThan(mean);
    expect(result.candidate.high).toBeGreaterThan(mean);
    // ±1.96·sqrt(p(1−p)/n) ≈ ±0.045 for p ≈ 0.3, n = 400.
    const width = result.candidate.high - result.candidate.low;
    expect(width).toBeGreaterThan(0.07);
    expect(width).toBeLessThan(0.11);
    // The same model on both sides: the difference is exactly 0 in every resample.
    expect(result.difference).toEqual({ mean: 0, low: 0, high: 0 });
    expect(result).toMatchObject({ users: 400, resamples: 1000, level: 0.95, seed: 1 });
  });

  it('pairs users: a constant per-user gain is certain even when the users differ a lot', () => {
    const incumbent = bernoulli(200, 0.5, 4).map((x, j) => x * 0.8 + (j % 5) * 0.01);
    const candidate = incumbent.map((x) => x + 0.02);
    const result = pairedBootstrap(candidate, incumbent, { seed: 2 });
    expect(result.difference.mean).toBeCloseTo(0.02, 12);
    expect(result.difference.low).toBeCloseTo(0.02, 12);
    expect(result.difference.high).toBeCloseTo(0.02, 12);
    // Unpaired, the two means' intervals overlap widely: only pairing sees the gain.
    expect(result.candidate.low).toBeLessThan(result.incumbent.high);
  });

  it('refuses unpaired or empty input', () => {
    expect(() => pairedBootstrap([1, 0], [1], { seed: 1 })).toThrow(/differ in length/);
    expect(() => pairedBootstrap([], [], { seed: 1 })).toThrow(RangeError);
  });
});

describe('windowGate', () => {
  const comparison = (mean: number, low: number, high: number) => ({
    users: 500,
    resamples: 1000,
    level: 0.95,
    seed: 1,
    candidate: { mean: 0.2 + mean, low: 0.18 + mean, high: 0.22 + mean },
    incumbent: { mean: 0.2, low: 0.18, high: 0.22 },
    difference: { mean, low, high },
  });
  const base = { users: 500, pairs: 1200, minUsers: 100, minPairs: 200, tolerance: 0.01, label: 'recall@10' };

  it('publishes below the minimum window, whatever the figures, and says the window was too small', () => {
    const few = windowGate({ ...base, users: 40, comparison: comparison(-0.2, -0.3, -0.1) });
    expect(few).toEqual({
      publish: true,
      rule: 'window-too-small',
      reason: expect.stringMatching(/^window too small for a decision \(40 users < GATE_MIN_WINDOW_USERS 100\)/),
    });
    const thin = windowGate({ ...base, pairs: 150, comparison: comparison(0, 0, 0) });
    expect(thin.rule).toBe('window-too-small');
    expect(thin.reason).toMatch(/150 pairs < GATE_MIN_WINDOW_PAIRS 200/);
    expect(windowGate({ ...base, users: 0, pairs: 0, comparison: undefined }).publish).toBe(true);
  });

  it('rejects only when the whole interval of the difference lies below −tolerance', () => {
    const worse = windowGate({ ...base, comparison: comparison(-0.05, -0.07, -0.03) });
    expect(worse.publish).toBe(false);
    expect(worse.rule).toBe('worse-beyond-tolerance');
    expect(worse.reason).toMatch(/recall@10 difference −0\.0500, 95 % interval \[−0\.0700, −0\.0300\] over 500 users/);
    // Just below and just above the edge.
    expect(windowGate({ ...base, comparison: comparison(-0.03, -0.05, -0.0101) }).publish).toBe(false);
    expect(windowGate({ ...base, comparison: comparison(-0.03, -0.05, -0.0099) }).publish).toBe(true);
  });

  it('publishes a difference that noise could explain, even with a mean below −tolerance', () => {
    const noisy = windowGate({ ...base, comparison: comparison(-0.02, -0.06, 0.02) });
    expect(noisy).toMatchObject({ publish: true, rule: 'within-tolerance' });
    expect(windowGate({ ...base, comparison: comparison(0.03, 0.01, 0.05) }).publish).toBe(true);
  });

  it('rejects a candidate whose metric is not a number', () => {
    expect(windowGate({ ...base, comparison: comparison(Number.NaN, 0, 0) })).toMatchObject({
      publish: false,
      rule: 'invalid-candidate',
    });
  });
});

describe('gate (no window)', () => {
  it('publishes the first model whatever its holdout shows', () => {
    expect(gate({ candidate: Number.NaN, current: undefined, tolerance: 0.01 })).toMatchObject({
      publish: true,
      rule: 'no-incumbent',
    });
  });
});
