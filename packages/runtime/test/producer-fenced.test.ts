import { describe, expect, it } from 'vitest';
import { isProducerFenced, ProducerFencedError } from '../src/errors.js';

describe('isProducerFenced', () => {
  it('recognises kafkajs’s fenced answers, also wrapped, and nothing else', () => {
    const epoch = Object.assign(new Error('old epoch'), { type: 'INVALID_PRODUCER_EPOCH', code: 47, retriable: false });
    const unnamed = Object.assign(new Error('fenced'), { type: 'UNKNOWN', code: 90 });
    expect(isProducerFenced(epoch)).toBe(true);
    expect(isProducerFenced(unnamed)).toBe(true);
    expect(isProducerFenced(new Error('retries exhausted', { cause: epoch }))).toBe(true);
    expect(isProducerFenced(Object.assign(new Error('wrapped'), { originalError: epoch }))).toBe(true);
    expect(isProducerFenced(new ProducerFencedError('taken over'))).toBe(true);
    expect(isProducerFenced(Object.assign(new Error('busy'), { type: 'CONCURRENT_TRANSACTIONS', code: 51 }))).toBe(
      false,
    );
    expect(isProducerFenced(new Error('plain'))).toBe(false);
    expect(new ProducerFencedError('x').retriable).toBe(false);
  });
});
