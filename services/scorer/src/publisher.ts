import { type Recommendation, recommendationMessage } from '@pncf/events';
import type { Logger } from '@pncf/runtime';
import type { Producer } from 'kafkajs';
import type { HistorySource } from './history.js';
import type { PublishReason, ScorerMetrics } from './metrics.js';
import type { ModelHolder } from './model-holder.js';
import type { ServingModel } from './serving-model.js';
import type { TopKCache } from './topk-cache.js';

export interface PublisherOptions {
  producer: Pick<Producer, 'send'>;
  topic: string;
  holder: Pick<ModelHolder, 'current' | 'lease' | 'release'>;
  history: HistorySource;
  /** Each published list is also the user's current list at k: the API serves it from here (same body). */
  cache: TopKCache;
  metrics: ScorerMetrics;
  logger: Logger;
  k: number;
  /** Users per scoring block and per Kafka send. */
  blockUsers: number;
  /** Pause between refresh blocks, so a full refresh leaves room for requests and interaction updates. */
  refreshPauseMs: number;
  /** This replica's name, sent as the PUBLISHER_HEADER of every message (not part of the JSON contract). */
  instanceId: string;
}

/** Kafka header naming the scorer replica that published a recommendation. */
export const PUBLISHER_HEADER = 'pncf-publisher';

const pause = (ms: number) =>
  new Promise<void>((resolve) => (ms > 0 ? setTimeout(resolve, ms) : setImmediate(resolve)));

/** Top-K of users computed with a model and published to the compacted recommendations topic, keyed by user. */
export class RecommendationPublisher {
  private refreshing: Promise<void> | undefined;

  constructor(private readonly options: PublisherOptions) {}

  /** Score and publish a list of users in blocks; returns how many messages were sent. */
  async publish(model: ServingModel, users: readonly string[], reason: PublishReason): Promise<number> {
    const { history, cache, metrics, producer, topic, k, blockUsers, instanceId } = this.options;
    const headers = { [PUBLISHER_HEADER]: instanceId };
    let sent = 0;
    for (let start = 0; start < users.length; start += blockUsers) {
      const block = users.slice(start, start + blockUsers);
      // A user with no history (erased; see HistorySource.request) gets no source: nothing is published for them.
      const requests = block.map((user) => history.request(user));
      const historyVersions = block.map((user) => history.versionOf(user));
      const started = performance.now();
      const { results, scored } = model.recommend(requests, k);
      metrics.scoringSeconds.observe({ path: 'batch' }, (performance.now() - started) / 1000);
      metrics.itemsScored.inc(scored);
      const generatedAt = new Date().toISOString();
      const messages: { key: string; value: string; headers: Record<string, string> }[] = [];
      for (let r = 0; r < block.length; r++) {
        const result = results[r]!;
        if (result.source === undefined) continue;
        const recommendation: Recommendation = {
          user: block[r]!,
          items: result.items,
          modelVersion: model.version,
          generatedAt,
          source: result.source,
        };
        const message = recommendationMessage(recommendation);
        messages.push({ ...message, headers });
        cache.set(model, recommendation.user, k, historyVersions[r]!, message.value);
      }
      if (messages.length > 0) await producer.send({ topic, acks: -1, messages });
      metrics.published.inc({ reason }, messages.length);
      sent += messages.length;
    }
    return sent;
  }

  /**
   * Publish every user (the model's and the store's) that `owns` accepts, in throttled blocks: after a swap the
   * users of the partitions this replica holds, after a rebalance those of the partitions it just got. `owns` is
   * asked at each block, so users of partitions revoked meanwhile are left to their new owner. A newer swap
   * aborts this refresh and starts its own; interaction updates keep flowing in between blocks.
   */
  startRefresh(model: ServingModel, owns: (user: string) => boolean = () => true, why = 'model swap'): void {
    const run = async () => {
      await this.refreshing?.catch(() => undefined);
      const { holder, history, logger, metrics, blockUsers, refreshPauseMs } = this.options;
      if (holder.current !== model) return;
      const leased = holder.lease();
      if (leased !== model) {
        if (leased) holder.release(leased);
        return;
      }
      try {
        const users = new Set(model.users());
        const { store } = history;
        const count = store.stats().users;
        for (let u = 0; u < count; u++) {
          const id = store.idOf('user', u);
          if (id !== undefined) users.add(id);
        }
        const all = [...users];
        const started = performance.now();
        const scoredBefore = (await metrics.itemsScored.get()).values[0]?.value ?? 0;
        let sent = 0;
        for (let start = 0; start < all.length; start += blockUsers) {
          if (holder.current !== model) {
            logger.info(
              { version: model.version, done: start, users: all.length, why },
              'refresh superseded by a newer model',
            );
            return;
          }
          sent += await this.publish(model, all.slice(start, start + blockUsers).filter(owns), 'refresh');
          await pause(refreshPauseMs);
        }
        const seconds = (performance.now() - started) / 1000;
        const scored = ((await metrics.itemsScored.get()).values[0]?.value ?? 0) - scoredBefore;
        metrics.refreshSeconds.set(seconds);
        metrics.refreshUsers.set(sent);
        metrics.refreshItemsScored.set(scored);
        logger.info(
          { version: model.version, users: sent, seconds: Number(seconds.toFixed(2)), why },
          'full refresh published',
        );
      } catch (error) {
        logger.error({ err: error, version: model.version }, 'full refresh failed');
      } finally {
        holder.release(model);
      }
    };
    this.refreshing = run();
  }

  /** Wait for a refresh in progress (tests, shutdown). */
  async idle(): Promise<void> {
    await this.refreshing?.catch(() => undefined);
  }
}
