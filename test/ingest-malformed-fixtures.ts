import type { RejectReason } from '@pncf/events';

export interface MalformedSample {
  name: string;
  key: string | null;
  value: Buffer | null;
  reason: RejectReason;
}

const json = (value: unknown): Buffer => Buffer.from(JSON.stringify(value));
const text = (value: string): Buffer => Buffer.from(value, 'utf8');

/** Kinds of bad input the ingester must dead-letter; each names the reason it must be rejected with. */
export const malformedSamples: MalformedSample[] = [
  { name: 'null value (tombstone)', key: 'u1', value: null, reason: 'empty' },
  { name: 'empty value', key: 'u1', value: Buffer.alloc(0), reason: 'empty' },
  { name: 'oversized message', key: 'u1', value: json({ user: 'u1', item: 'x'.repeat(5000) }), reason: 'too_large' },
  {
    name: 'binary garbage',
    key: 'u1',
    value: Buffer.from([0xff, 0xfe, 0x00, 0x81, 0xc3, 0x28, 0xa0]),
    reason: 'invalid_utf8',
  },
  {
    name: 'truncated UTF-8 sequence',
    key: 'u1',
    value: Buffer.concat([text('{"user":"u1","item":"'), Buffer.from([0xe2, 0x82])]),
    reason: 'invalid_utf8',
  },
  { name: 'not JSON', key: 'u1', value: text('user=u1&item=i1'), reason: 'not_json' },
  { name: 'truncated JSON', key: 'u1', value: text('{"user":"u1","item":'), reason: 'not_json' },
  { name: 'JSON array', key: 'u1', value: json(['u1', 'i1']), reason: 'not_object' },
  { name: 'JSON string', key: 'u1', value: json('u1 likes i1'), reason: 'not_object' },
  { name: 'JSON number', key: 'u1', value: text('42'), reason: 'not_object' },
  { name: 'JSON null', key: 'u1', value: text('null'), reason: 'not_object' },
  { name: 'missing user', key: null, value: json({ item: 'i1' }), reason: 'missing_field' },
  { name: 'missing item', key: 'u1', value: json({ user: 'u1' }), reason: 'missing_field' },
  { name: 'empty object', key: 'u1', value: json({}), reason: 'missing_field' },
  {
    name: 'schema version from the future',
    key: 'u1',
    value: json({ schemaVersion: 2, user: 'u1', item: 'i1' }),
    reason: 'unknown_schema_version',
  },
  {
    name: 'schema version as a string',
    key: 'u1',
    value: json({ schemaVersion: '1', user: 'u1', item: 'i1' }),
    reason: 'wrong_type',
  },
  { name: 'user is a number', key: null, value: json({ user: 17, item: 'i1' }), reason: 'wrong_type' },
  { name: 'item is an object', key: 'u1', value: json({ user: 'u1', item: { id: 'i1' } }), reason: 'wrong_type' },
  { name: 'count is a string', key: 'u1', value: json({ user: 'u1', item: 'i1', count: '2' }), reason: 'wrong_type' },
  { name: 'count is null', key: 'u1', value: json({ user: 'u1', item: 'i1', count: null }), reason: 'wrong_type' },
  { name: 'empty user id', key: null, value: json({ user: '', item: 'i1' }), reason: 'empty_id' },
  { name: 'empty item id', key: 'u1', value: json({ user: 'u1', item: '' }), reason: 'empty_id' },
  { name: 'user id too long', key: null, value: json({ user: 'u'.repeat(257), item: 'i1' }), reason: 'id_too_long' },
  { name: 'item id too long', key: 'u1', value: json({ user: 'u1', item: 'i'.repeat(300) }), reason: 'id_too_long' },
  { name: 'control character in id', key: 'u1', value: json({ user: 'u1', item: 'i\n1' }), reason: 'invalid_id' },
  { name: 'count is zero', key: 'u1', value: json({ user: 'u1', item: 'i1', count: 0 }), reason: 'count_out_of_range' },
  {
    name: 'count is negative',
    key: 'u1',
    value: json({ user: 'u1', item: 'i1', count: -3 }),
    reason: 'count_out_of_range',
  },
  {
    name: 'count too large',
    key: 'u1',
    value: json({ user: 'u1', item: 'i1', count: 1_000_001 }),
    reason: 'count_out_of_range',
  },
  {
    name: 'count not an integer',
    key: 'u1',
    value: json({ user: 'u1', item: 'i1', count: 1.5 }),
    reason: 'count_not_integer',
  },
  {
    name: 'count in exponent form too large',
    key: 'u1',
    value: text('{"user":"u1","item":"i1","count":1e300}'),
    reason: 'count_out_of_range',
  },
  { name: 'negative timestamp', key: 'u1', value: json({ user: 'u1', item: 'i1', ts: -1 }), reason: 'invalid_ts' },
  { name: 'fractional timestamp', key: 'u1', value: json({ user: 'u1', item: 'i1', ts: 1.25 }), reason: 'invalid_ts' },
  {
    name: 'timestamp as a string',
    key: 'u1',
    value: json({ user: 'u1', item: 'i1', ts: '2024-01-01' }),
    reason: 'wrong_type',
  },
  {
    name: 'event type from the future',
    key: 'u1',
    value: json({ type: 'delete', user: 'u1' }),
    reason: 'unknown_type',
  },
  { name: 'erase without user', key: 'u1', value: json({ type: 'erase' }), reason: 'missing_field' },
  {
    name: 'erase naming an item',
    key: 'u1',
    value: json({ type: 'erase', user: 'u1', item: 'i1' }),
    reason: 'erase_with_item',
  },
  {
    name: 'erase with a count',
    key: 'u1',
    value: json({ type: 'erase', user: 'u1', count: 2 }),
    reason: 'erase_with_item',
  },
  { name: 'erase without a key', key: null, value: json({ type: 'erase', user: 'u1' }), reason: 'key_mismatch' },
  {
    name: 'erase keyed by another user',
    key: 'u2',
    value: json({ type: 'erase', user: 'u1' }),
    reason: 'key_mismatch',
  },
  {
    name: 'key differs from user',
    key: 'someone-else',
    value: json({ user: 'u1', item: 'i1' }),
    reason: 'key_mismatch',
  },
];
