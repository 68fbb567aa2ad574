import { isUtf8 } from 'node:buffer';
import { Ajv, type ErrorObject } from 'ajv';
import { EVENT_LIMITS, EVENT_TYPES, interactionEventSchema, SCHEMA_VERSIONS, type UserEvent } from './event.js';

/** Why a message was rejected: a small closed set, so it can label metrics and dead-letter headers. */
export const REJECT_REASONS = [
  'empty',
  'too_large',
  'invalid_utf8',
  'not_json',
  'not_object',
  'missing_field',
  'unknown_schema_version',
  'unknown_type',
  'erase_with_item',
  'wrong_type',
  'empty_id',
  'id_too_long',
  'invalid_id',
  'count_not_integer',
  'count_out_of_range',
  'invalid_ts',
  'key_mismatch',
] as const;
export type RejectReason = (typeof REJECT_REASONS)[number];

/** A valid interaction with its count resolved. */
export interface DecodedEvent {
  type: 'interaction';
  user: string;
  item: string;
  count: number;
  ts: number | undefined;
}

/** A valid erase: every interaction of `user` before it goes. */
export interface DecodedErase {
  type: 'erase';
  user: string;
  ts: number | undefined;
}

export type DecodeResult =
  | { ok: true; event: DecodedEvent | DecodedErase }
  | { ok: false; reason: RejectReason; detail: string };

const ajv = new Ajv({ allErrors: false, strict: true });
const validate = ajv.compile<UserEvent>(interactionEventSchema);

function reject(reason: RejectReason, detail: string): DecodeResult {
  return { ok: false, reason, detail };
}

/** Map the first schema violation to a reason; ajv reports errors in schema order, one is enough. */
function reasonOf(error: ErrorObject | undefined, value: unknown): RejectReason {
  if (!error) return 'wrong_type';
  const field = error.instancePath.slice(1);
  switch (error.keyword) {
    case 'required':
      return 'missing_field';
    case 'enum':
      return field === 'schemaVersion' ? 'unknown_schema_version' : 'wrong_type';
    case 'false schema':
      // The erase branch forbids the interaction's fields: an erase of one pair is not what it would do.
      return 'erase_with_item';
    case 'minLength':
      return 'empty_id';
    case 'maxLength':
      return 'id_too_long';
    case 'pattern':
      return 'invalid_id';
    case 'minimum':
    case 'maximum':
      return field === 'ts' ? 'invalid_ts' : 'count_out_of_range';
    case 'type': {
      if (field === '') return 'not_object';
      const actual = (value as Record<string, unknown>)[field];
      if (error.params.type === 'integer' && typeof actual === 'number') {
        return field === 'ts' ? 'invalid_ts' : 'count_not_integer';
      }
      return 'wrong_type';
    }
    default:
      return 'wrong_type';
  }
}

/**
 * Decode one Kafka message into an event, or say why it is not one. Never throws: whatever bytes arrive,
 * the caller gets a verdict, which is what keeps a poison message from blocking a partition.
 */
export function decodeEvent(value: Buffer | null, key: Buffer | null = null): DecodeResult {
  if (value === null || value.length === 0) return reject('empty', 'message has no value');
  if (value.length > EVENT_LIMITS.maxMessageBytes) {
    return reject('too_large', `${value.length} bytes > ${EVENT_LIMITS.maxMessageBytes}`);
  }
  if (!isUtf8(value)) return reject('invalid_utf8', 'value is not valid UTF-8');
  let parsed: unknown;
  try {
    parsed = JSON.parse(value.toString('utf8'));
  } catch (error) {
    return reject('not_json', (error as Error).message);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    return reject('not_object', `expected an object, got ${Array.isArray(parsed) ? 'array' : typeof parsed}`);
  }
  if (!validate(parsed)) {
    const error = validate.errors?.[0];
    const type = (parsed as { type?: unknown }).type;
    // ajv checks the erase/interaction branches before the type's enum: an unknown type would read as a missing item.
    if (typeof type === 'string' && !EVENT_TYPES.includes(type)) {
      return reject(
        'unknown_type',
        `type ${JSON.stringify(type)} is not one this consumer reads (${EVENT_TYPES.join(', ')}); upgrade the consumers before the producers`,
      );
    }
    const reason = reasonOf(error, parsed);
    if (reason === 'unknown_schema_version') {
      const version = JSON.stringify((parsed as { schemaVersion?: unknown }).schemaVersion);
      return reject(
        reason,
        `schemaVersion ${version} is not one this consumer reads (${SCHEMA_VERSIONS.join(', ')}); upgrade the consumers before the producers`,
      );
    }
    if (reason === 'erase_with_item') {
      return reject(
        reason,
        `an erase event removes every interaction of the user and names no item or count (${error?.instancePath})`,
      );
    }
    return reject(reason, `${error?.instancePath || '/'} ${error?.message ?? 'invalid'}`);
  }
  // The key decides the partition, and so the order of a user's events; a mismatch is a broken producer.
  const keyed = key !== null && key.length > 0;
  if (keyed && key.toString('utf8') !== parsed.user) {
    return reject('key_mismatch', 'Kafka key differs from the user id');
  }
  if (parsed.type === 'erase') {
    // Without the key an erase lands on any partition, unordered with the user's interactions it should remove.
    if (!keyed) return reject('key_mismatch', 'an erase event needs the Kafka key = the user id');
    return { ok: true, event: { type: 'erase', user: parsed.user, ts: parsed.ts } };
  }
  return {
    ok: true,
    event: { type: 'interaction', user: parsed.user, item: parsed.item, count: parsed.count ?? 1, ts: parsed.ts },
  };
}
