import { describe, expect, it } from 'vitest';
import { interactionCountMessage, parseInteractionCount } from '../src/index.js';

describe('interaction-count contract', () => {
  it('round-trips a total and a tombstone, keyed by the pair', () => {
    const message = interactionCountMessage({ user: 'author-1', item: 'tag "9"', total: 3 });
    expect(message.key).toBe('["author-1","tag \\"9\\""]');
    expect(parseInteractionCount(message.key, message.value)).toEqual({ user: 'author-1', item: 'tag "9"', total: 3 });
    const tombstone = interactionCountMessage({ user: 'author-1', item: 'tag-2', total: null });
    expect(tombstone.value).toBeNull();
    expect(parseInteractionCount(Buffer.from(tombstone.key), null)).toEqual({
      user: 'author-1',
      item: 'tag-2',
      total: null,
    });
  });

  it('encodes the same bytes as JSON.stringify of the key pair and the record (compaction keys by those bytes)', () => {
    const ids = ['author-1', 'tag "9"', 'back\\slash', 'ü-标签-😀', 'line\u2028sep', '<script>', "it's"];
    for (const user of ids) {
      for (const item of ids) {
        const message = interactionCountMessage({ user, item, total: 4294967295 });
        expect(message.key).toBe(JSON.stringify([user, item]));
        expect(message.value).toBe(JSON.stringify({ user, item, total: 4294967295 }));
      }
    }
  });

  it.each([
    ['a key that is not a pair', '["a"]', '{"user":"a","item":"b","total":1}', /key/],
    ['a value for another pair', '["a","c"]', '{"user":"a","item":"b","total":1}', /differs/],
    ['a total of zero', '["a","b"]', '{"user":"a","item":"b","total":0}', /total/],
    ['a fractional total', '["a","b"]', '{"user":"a","item":"b","total":1.5}', /total/],
    ['an unknown property', '["a","b"]', '{"user":"a","item":"b","total":1,"x":1}', /additional properties/],
  ])('rejects %s', (_name, key, value, message) => {
    expect(() => parseInteractionCount(key, value)).toThrow(message);
  });

  it('rejects a message without key', () => {
    expect(() => parseInteractionCount(null, '{"user":"a","item":"b","total":1}')).toThrow(/no key/);
  });
});
