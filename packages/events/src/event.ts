import schema from '../schema/interaction-event.schema.json' with { type: 'json' };

/** The interaction event contract; the JSON Schema in ../schema is the source of truth. */
export interface InteractionEvent {
  /** The contract version the producer wrote (SCHEMA_VERSIONS); 1 when absent. */
  schemaVersion?: number;
  /** "interaction" when absent. */
  type?: 'interaction';
  user: string;
  item: string;
  /** Defaults to 1. */
  count?: number;
  /** Epoch milliseconds. */
  ts?: number;
}

/**
 * The erase event: every interaction of `user` is removed (counts, changelog pairs, recommendations). Same topic and
 * key as the user's interactions, so it is ordered with them: what came before is erased, what comes after counts.
 */
export interface EraseEvent {
  schemaVersion?: number;
  type: 'erase';
  user: string;
  /** Epoch milliseconds. */
  ts?: number;
}

/** Anything a producer may publish on the interactions topic. */
export type UserEvent = InteractionEvent | EraseEvent;

export const interactionEventSchema = schema;

/** The event schema versions this code reads; any other is dead-lettered, never guessed at. */
export const SCHEMA_VERSIONS: readonly number[] = schema.properties.schemaVersion.enum;

/** The event types this code reads; any other is dead-lettered (unknown_type), never read as an interaction. */
export const EVENT_TYPES: readonly string[] = schema.properties.type.enum;

/** Limits of the contract, read from the schema so the file and the code cannot disagree. */
export const EVENT_LIMITS = {
  maxIdLength: schema.properties.user.maxLength,
  maxCount: schema.properties.count.maximum,
  /** Whole message in bytes; larger messages are rejected before they are parsed. */
  maxMessageBytes: 4096,
} as const;

/** The Kafka message a producer sends for an event: key = user id, so one user's events stay in order. */
export function toKafkaMessage(event: UserEvent): { key: string; value: string } {
  return { key: event.user, value: JSON.stringify(event) };
}
