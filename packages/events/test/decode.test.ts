import { describe, expect, it } from 'vitest';
import { malformedSamples } from '../../../test/ingest-malformed-fixtures.js';
import { decodeEvent, EVENT_LIMITS, REJECT_REASONS, toKafkaMessage } from '../src/index.js';

const buf = (value: string | null) => (value === null ? null : Buffer.from(value));

describe('decodeEvent', () => {
  it('accepts valid events and defaults count to 1', () => {
    const minimal = decodeEvent(buf('{"user":"u1","item":"i1"}'), buf('u1'));
    expect(minimal).toEqual({
      ok: true,
      event: { type: 'interaction', user: 'u1', item: 'i1', count: 1, ts: undefined },
    });
    const full = decodeEvent(buf('{"user":"ü 1","item":"漢字","count":7,"ts":1700000000000}'), null);
    expect(full).toEqual({
      ok: true,
      event: { type: 'interaction', user: 'ü 1', item: '漢字', count: 7, ts: 1700000000000 },
    });
    const longest = 'x'.repeat(EVENT_LIMITS.maxIdLength);
    const edge = decodeEvent(buf(JSON.stringify({ user: longest, item: longest, count: EVENT_LIMITS.maxCount })));
    expect(edge.ok).toBe(true);
  });

  it('accepts and ignores fields it does not know, and reads schemaVersion 1 like no version', () => {
    const grown = decodeEvent(buf('{"user":"u1","item":"i1","count":2,"rating":5,"context":{"device":"phone"}}'));
    expect(grown).toEqual({
      ok: true,
      event: { type: 'interaction', user: 'u1', item: 'i1', count: 2, ts: undefined },
    });
    const versioned = decodeEvent(buf('{"schemaVersion":1,"user":"u1","item":"i1"}'), buf('u1'));
    expect(versioned).toEqual({
      ok: true,
      event: { type: 'interaction', user: 'u1', item: 'i1', count: 1, ts: undefined },
    });
  });

  it('names the unknown schema version and the versions it reads in the dead-letter detail', () => {
    const result = decodeEvent(buf('{"schemaVersion":7,"user":"u1","item":"i1"}'));
    expect(result).toEqual({
      ok: false,
      reason: 'unknown_schema_version',
      detail: 'schemaVersion 7 is not one this consumer reads (1); upgrade the consumers before the producers',
    });
  });

  it('reads an erase: the user alone, keyed by the user, with ts and unknown fields allowed', () => {
    const erase = decodeEvent(buf('{"type":"erase","user":"u1"}'), buf('u1'));
    expect(erase).toEqual({ ok: true, event: { type: 'erase', user: 'u1', ts: undefined } });
    const full = decodeEvent(
      buf('{"schemaVersion":1,"type":"erase","user":"u1","ts":1700000000000,"why":"gdpr"}'),
      buf('u1'),
    );
    expect(full).toEqual({ ok: true, event: { type: 'erase', user: 'u1', ts: 1700000000000 } });
  });

  it('reads "type": "interaction" like no type', () => {
    const typed = decodeEvent(buf('{"type":"interaction","user":"u1","item":"i1","count":2}'), buf('u1'));
    expect(typed).toEqual({
      ok: true,
      event: { type: 'interaction', user: 'u1', item: 'i1', count: 2, ts: undefined },
    });
  });

  it('says why an erase is refused: an item or count, no key, an unknown type', () => {
    expect(decodeEvent(buf('{"type":"erase","user":"u1","item":"i1"}'), buf('u1'))).toEqual({
      ok: false,
      reason: 'erase_with_item',
      detail: 'an erase event removes every interaction of the user and names no item or count (/item)',
    });
    expect(decodeEvent(buf('{"type":"erase","user":"u1"}'), null)).toEqual({
      ok: false,
      reason: 'key_mismatch',
      detail: 'an erase event needs the Kafka key = the user id',
    });
    // Not read as an interaction, even with an item: a type this code does not know may mean anything.
    expect(decodeEvent(buf('{"type":"delete","user":"u1","item":"i1"}'), buf('u1'))).toEqual({
      ok: false,
      reason: 'unknown_type',
      detail:
        'type "delete" is not one this consumer reads (interaction, erase); upgrade the consumers before the producers',
    });
  });

  it('round-trips what toKafkaMessage produces', () => {
    const message = toKafkaMessage({ user: 'alice', item: 'book', count: 3 });
    expect(message.key).toBe('alice');
    expect(decodeEvent(buf(message.value), buf(message.key))).toEqual({
      ok: true,
      event: { type: 'interaction', user: 'alice', item: 'book', count: 3, ts: undefined },
    });
    const erase = toKafkaMessage({ type: 'erase', user: 'alice' });
    expect(erase.key).toBe('alice');
    expect(decodeEvent(buf(erase.value), buf(erase.key))).toEqual({
      ok: true,
      event: { type: 'erase', user: 'alice', ts: undefined },
    });
  });

  it.each(malformedSamples.map((sample) => [sample.name, sample] as const))('rejects %s', (_name, sample) => {
    const result = decodeEvent(sample.value, sample.key === null ? null : Buffer.from(sample.key));
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.reason).toBe(sample.reason);
      expect(result.detail.length).toBeGreaterThan(0);
    }
  });

  it('the fixtures cover at least 20 kinds and every reason', () => {
    expect(malformedSamples.length).toBeGreaterThanOrEqual(20);
    expect(new Set(malformedSamples.map((sample) => sample.reason))).toEqual(new Set(REJECT_REASONS));
  });
});
