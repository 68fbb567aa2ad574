import { decodeEvent, type RejectReason } from '@pncf/events';
import type { StoredErasure, StoredEvent } from '@pncf/store';
import type { KafkaMessage } from 'kafkajs';

export interface RejectedMessage {
  message: KafkaMessage;
  reason: RejectReason;
  detail: string;
}

export interface ClassifiedBatch {
  events: StoredEvent[];
  /** Erase events, in offset order; the store applies them in order with `events` by their offsets. */
  erasures: StoredErasure[];
  rejected: RejectedMessage[];
}

/** Split a fetched batch into valid events and erasures (with their offsets) and rejected messages with reasons. */
export function classifyMessages(messages: KafkaMessage[]): ClassifiedBatch {
  const events: StoredEvent[] = [];
  const erasures: StoredErasure[] = [];
  const rejected: RejectedMessage[] = [];
  for (const message of messages) {
    const result = decodeEvent(message.value, message.key);
    if (result.ok) {
      const { event } = result;
      const offset = BigInt(message.offset);
      if (event.type === 'erase') erasures.push({ offset, user: event.user });
      else events.push({ offset, user: event.user, item: event.item, count: event.count });
    } else {
      rejected.push({ message, reason: result.reason, detail: result.detail });
    }
  }
  return { events, erasures, rejected };
}

/** Header names of a dead-lettered message: why, and where the original came from. */
export const DEAD_LETTER_HEADERS = {
  reason: 'dlq-reason',
  detail: 'dlq-detail',
  topic: 'dlq-original-topic',
  partition: 'dlq-original-partition',
  offset: 'dlq-original-offset',
  timestamp: 'dlq-original-timestamp',
} as const;

/** The dead-letter copy: original key and bytes untouched, provenance and reason in headers. */
export function deadLetterMessage(rejected: RejectedMessage, topic: string, partition: number) {
  const { message, reason, detail } = rejected;
  return {
    key: message.key,
    value: message.value,
    headers: {
      [DEAD_LETTER_HEADERS.reason]: reason,
      [DEAD_LETTER_HEADERS.detail]: detail.slice(0, 500),
      [DEAD_LETTER_HEADERS.topic]: topic,
      [DEAD_LETTER_HEADERS.partition]: String(partition),
      [DEAD_LETTER_HEADERS.offset]: message.offset,
      [DEAD_LETTER_HEADERS.timestamp]: message.timestamp,
    },
  };
}
