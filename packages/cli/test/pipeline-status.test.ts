import { describe, expect, it } from 'vitest';
import { describeModel, holdoutLabel, type ModelSummary } from '../src/pipeline-status.js';

const base: ModelSummary = { version: 'v000002', createdAt: '2026-11-30T00:00:00Z', users: 900, items: 300 };

describe('describeModel', () => {
  it('labels the first model’s figures as a random holdout with nothing to compare', () => {
    const first = { ...base, version: 'v000001', evaluation: 'random-holdout', recall10: 0.19, ndcg10: 0.12 } as const;
    expect(holdoutLabel(first)).toBe('random holdout');
    expect(describeModel(first)).toEqual([
      'model v000001: 900 authors, 300 tags, random holdout recall@10 0.1900, ndcg@10 0.1200 (first model: nothing to compare with)',
    ]);
  });

  it('shows a later version’s window figures with the gate’s intervals and reason', () => {
    const lines = describeModel({
      ...base,
      evaluation: 'window',
      holdoutUsers: 812,
      recall10: 0.25,
      ndcg10: 0.14,
      gate: {
        metric: 'recall',
        k: 10,
        decision: 'publish',
        baseline: 'v000001',
        reason: 'recall@10 difference +0.0300, 95 % interval [+0.0100, +0.0500] over 812 users: …',
        window: { fromSequence: 40, toSequence: 95, evaluated: { users: 812, pairs: 2000 } },
        comparison: {
          level: 0.95,
          candidate: { mean: 0.25, low: 0.23, high: 0.27 },
          incumbent: { mean: 0.22, low: 0.2, high: 0.24 },
          difference: { mean: 0.03, low: 0.01, high: 0.05 },
        },
      },
    });
    expect(lines).toEqual([
      "model v000002: 900 authors, 300 tags, window recall@10 0.2500, ndcg@10 0.1400 (812 authors' new tags first seen after sequence 40, up to 95)",
      '    gate recall@10 on the window (95 % intervals): 0.2500 [0.2300, 0.2700] vs v000001 0.2200 [0.2000, 0.2400], difference +0.0300 [+0.0100, +0.0500] → publish',
      '    recall@10 difference +0.0300, 95 % interval [+0.0100, +0.0500] over 812 users: …',
    ]);
  });

  it('says so when a window had no users to evaluate', () => {
    const [headline, gate] = describeModel({
      ...base,
      evaluation: 'window',
      holdoutUsers: 0,
      gate: {
        metric: 'recall',
        k: 10,
        decision: 'publish',
        reason:
          'window too small for a decision (0 users < GATE_MIN_WINDOW_USERS 100, 0 pairs < GATE_MIN_WINDOW_PAIRS 200): published without one',
        window: { fromSequence: 95, toSequence: 95, evaluated: { users: 0, pairs: 0 } },
      },
    });
    expect(headline).toBe(
      'model v000002: 900 authors, 300 tags, no window figures (no adoptions to evaluate after sequence 95, up to 95)',
    );
    expect(gate).toBe('    gate recall@10: nothing to compare on the window → publish');
  });
});
