import schema from '../schema/interaction-event.schema.json' with { type: 'json' };

/** The interaction event contract; the JSON Schema in ../schema is the source of truth. */
export interface InteractionEvent {
  user: string;
  item: string;
  /** Defaults to 1. */
  count?: number;
  /** Epoch milliseconds. */
  ts?: number;
}

export const interactionEventSchema = schema;

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
