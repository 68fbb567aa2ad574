import type { DecodedErase, DecodedEvent } from '@pncf/events';
import type { Producer } from 'kafkajs';
import type { HistorySource } from './history.js';
import type { ScorerMetrics } from './metrics.js';
import type { TopKCache } from './topk-cache.js';

/** What a fetched batch of the interactions topic asks of the scorer, its events taken in offset order. */
export interface InteractionBatchEffect {
  /** Users whose lists to publish: an interaction of theirs came after their last erase in the batch, if any. */
  republish: string[];
  /** Users erased in the batch: tombstones to publish before any list of the batch. */
  erased: string[];
}

/**
 * Apply a batch's decoded events to the history in order (record an interaction, forget an erased user) and say
 * what to publish. A user erased and back in the same batch gets a tombstone and then a list from what came after.
 */
export function applyInteractionBatch(
  events: readonly (DecodedEvent | DecodedErase)[],
  history: Pick<HistorySource, 'record' | 'erase'>,
  cache: Pick<TopKCache, 'dropUser'>,
): InteractionBatchEffect {
  const republish = new Set<string>();
  const erased = new Set<string>();
  for (const event of events) {
    if (event.type === 'erase') {
      history.erase(event.user);
      cache.dropUser(event.user);
      erased.add(event.user);
      republish.delete(event.user);
    } else {
      history.record(event.user, event.item, event.count);
      republish.add(event.user);
    }
  }
  return { republish: [...republish], erased: [...erased] };
}

/**
 * The compacted recommendations topic forgets an erased user's list: a tombstone (null value) under their key, so
 * compaction removes every earlier list of theirs and a consumer reading the topic sees the list is gone.
 */
export async function publishErasures(
  producer: Pick<Producer, 'send'>,
  topic: string,
  users: readonly string[],
  metrics: Pick<ScorerMetrics, 'erased'>,
): Promise<void> {
  if (users.length === 0) return;
  await producer.send({ topic, acks: -1, messages: users.map((user) => ({ key: user, value: null })) });
  metrics.erased.inc(users.length);
}
