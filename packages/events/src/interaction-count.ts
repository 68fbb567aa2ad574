import { Ajv } from 'ajv';
import schema from '../schema/interaction-count.schema.json' with { type: 'json' };

/** The interaction-count contract (the counts changelog); the JSON Schema in ../schema is the source of truth. */
export interface InteractionCount {
  user: string;
  item: string;
  total: number;
}

/** A changelog record as read back: `total` null is a tombstone (the pair is gone). */
export interface InteractionCountChange {
  user: string;
  item: string;
  total: number | null;
}

export const interactionCountSchema = schema;

const validate = new Ajv({ strict: true }).compile<InteractionCount>(schema);

/**
 * The Kafka message of a pair's new total: key = JSON [user, item] (deterministic bytes, so compaction keeps one
 * record per pair, and a tombstone still names its pair), value = the JSON record, or null when the pair is gone.
 */
export function interactionCountMessage(change: InteractionCountChange): { key: string; value: string | null } {
  // The bytes of JSON.stringify([user, item]) and of JSON.stringify({ user, item, total }), each id quoted once: the
  // ingester encodes one of these per changed pair.
  const user = JSON.stringify(change.user);
  const item = JSON.stringify(change.item);
  const key = `[${user},${item}]`;
  if (change.total === null) return { key, value: null };
  return { key, value: `{"user":${user},"item":${item},"total":${change.total}}` };
}

/** Parse and validate a changelog message; throws with the schema's complaint when it does not conform. */
export function parseInteractionCount(
  key: Buffer | string | null,
  value: Buffer | string | null,
): InteractionCountChange {
  if (key === null) throw new Error('interaction-count message has no key');
  const pair: unknown = JSON.parse(String(key));
  if (!Array.isArray(pair) || pair.length !== 2 || typeof pair[0] !== 'string' || typeof pair[1] !== 'string') {
    throw new Error('invalid interaction-count key: expected a JSON array [user, item]');
  }
  const [user, item] = pair as [string, string];
  if (value === null) return { user, item, total: null };
  const parsed: unknown = JSON.parse(String(value));
  if (!validate(parsed)) {
    const error = validate.errors?.[0];
    throw new Error(`invalid interaction-count: ${error?.instancePath || '/'} ${error?.message ?? 'invalid'}`);
  }
  if (parsed.user !== user || parsed.item !== item) throw new Error('interaction-count key differs from its value');
  return parsed;
}
