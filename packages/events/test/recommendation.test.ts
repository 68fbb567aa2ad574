import { describe, expect, it } from 'vitest';
import { parseRecommendation, type Recommendation, recommendationMessage } from '../src/index.js';

const valid: Recommendation = {
  user: 'author-1',
  items: [
    { item: 'tag-9', score: 0.91 },
    { item: 'tag-3', score: 0.5 },
  ],
  modelVersion: 'v000003',
  generatedAt: '2026-11-28T05:00:00.123Z',
  source: 'model',
};

describe('recommendation contract', () => {
  it('round-trips what recommendationMessage produces, keyed by user', () => {
    const message = recommendationMessage(valid);
    expect(message.key).toBe('author-1');
    expect(parseRecommendation(message.value)).toEqual(valid);
    expect(parseRecommendation(Buffer.from(message.value))).toEqual(valid);
  });

  it('accepts an empty list and no source', () => {
    const { source: _source, ...rest } = valid;
    expect(parseRecommendation(JSON.stringify({ ...rest, items: [] })).items).toEqual([]);
  });

  it.each([
    ['a missing model version', { ...valid, modelVersion: undefined }, /modelVersion/],
    ['a malformed model version', { ...valid, modelVersion: '7' }, /modelVersion/],
    ['a score that is not a number', { ...valid, items: [{ item: 'x', score: '1' }] }, /score/],
    ['an unknown property', { ...valid, extra: 1 }, /additional properties/],
    ['a date that is not ISO-8601', { ...valid, generatedAt: 'yesterday' }, /generatedAt/],
    ['an unknown source', { ...valid, source: 'magic' }, /source/],
  ])('rejects %s', (_name, value, message) => {
    expect(() => parseRecommendation(JSON.stringify(value))).toThrow(message);
  });

  it('rejects a message without value', () => {
    expect(() => parseRecommendation(null)).toThrow(/no value/);
  });
});
