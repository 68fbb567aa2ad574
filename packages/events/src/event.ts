import schema from '../schema/interaction-event.schema.json' with { type: 'json' };

/** The interaction event contract; the JSON Schema in ../schema is the source of truth. */
export interface InteractionEvent {
  /** The contract version the producer wrote (SCHEMA_VERSIONS); 1 when absent. */
  schemaVersion?: number;
  user: string;
  item: string;
  /** Defaults to 1. */
  count?: number;
  /** Epoch milliseconds. */
  ts?: number;
}

export const interactionEventSchema = schema;

/** The event schema versions this code reads; any other is dead-lettered, never guessed at. */
export const SCHEMA_VERSIONS: readonly number[] = schema.properties.schemaVersion.enum;

/** Limits of the contract, read from the schema so the file and the code cannot disagree. */
export const EVENT_LIMITS = {
  maxIdLength: schema.properties.user.maxLength,
  maxCount: schema.properties.count.maximum,
  /** Whole message in bytes; larger messages are rejected before they are parsed. */
  maxMessageBytes: 4096,
} as const;

/** The Kafka message a producer sends for an event: key = user id, so one user's events stay in order. */
export function toKafkaMessage(event: InteractionEvent): { key: string; value: string } {
  return { key: event.user, value: JSON.stringify(event) };
}
