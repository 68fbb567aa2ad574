import { MODEL_UPDATED_KEY, type ModelUpdatedEvent } from '@pncf/events';
import { type Logger, ProducerFencedError } from '@pncf/runtime';
import { announce } from './announce.js';
import { discard } from './catch-up.js';
import type { Leadership } from './leadership.js';
import { recordCurrentModel, type TrainerMetrics } from './metrics.js';
import { type ArtifactTopic, inTransaction, pruneWithTombstones, publishToArtifactTopic } from './model-topic.js';
import type { RunOutcome } from './pipeline.js';
import type { ScheduledResult } from './schedule.js';

export interface RunResultContext {
  /** The leader's fenced publisher, its registry and the artifact topic. */
  artifacts: ArtifactTopic;
  leadership: Pick<Leadership, 'confirm' | 'renew'>;
  metrics: TrainerMetrics;
  logger: Logger;
  /** MODEL_UPDATES_TOPIC. */
  announcementsTopic: string;
  keepVersions: number;
}

function toEvent(outcome: Extract<RunOutcome, { outcome: 'published' }>, manifestSha256: string): ModelUpdatedEvent {
  const { version, metadata } = outcome;
  const holdout: ModelUpdatedEvent['holdout'] = {};
  for (const [metric, values] of Object.entries(metadata.holdout.metrics)) {
    holdout[metric] = Object.fromEntries(metadata.holdout.ks.map((k, at) => [String(k), values?.[at] ?? 0]));
  }
  return {
    version: version.version,
    manifestSha256,
    createdAt: version.manifest.createdAt,
    snapshotSequence: metadata.snapshotSequence,
    data: { users: metadata.data.users, items: metadata.data.items, pairs: metadata.data.pairs },
    holdout,
  };
}

/**
 * What the leader does with each scheduled run's result: count and log it, and for a new version publish it to the
 * artifact topic, announce it and prune, each through its fenced producer. A version this trainer may no longer
 * publish (leadership not confirmed, or its producer fenced by another trainer's) is discarded from the local
 * registry, so its number is never reused for other bytes, and the leadership term is renewed or ended.
 */
export function handleRunResult(context: RunResultContext) {
  const { artifacts, leadership, metrics, logger, announcementsTopic, keepVersions } = context;
  return async (result: ScheduledResult<RunOutcome>): Promise<void> => {
    if (!result.ok) {
      metrics.runs.inc({ outcome: 'failed' });
      logger.error(
        { err: result.error, attempts: result.attempts },
        'training run failed; the current model keeps serving',
      );
      return;
    }
    const outcome = result.result;
    metrics.runs.inc({ outcome: outcome.outcome });
    if (outcome.outcome === 'skipped') {
      logger.info({ reason: outcome.reason }, 'training run skipped');
      return;
    }
    const { data } = outcome.metadata;
    metrics.dataSize.set({ kind: 'users' }, data.users);
    metrics.dataSize.set({ kind: 'items' }, data.items);
    metrics.dataSize.set({ kind: 'pairs' }, data.pairs);
    if (outcome.outcome === 'rejected') {
      logger.warn({ reason: outcome.reason, gate: outcome.metadata.gate }, 'new model rejected by the gate');
      return;
    }
    const { version } = outcome;
    let published: Awaited<ReturnType<typeof publishToArtifactTopic>>;
    try {
      // The group tells a member it was deposed only at its next heartbeat: ask the broker before publishing. The
      // producer's fence covers the moment between this answer and the send.
      // An answer that does not come counts as no: a discarded version is retrained, a duplicate never undone.
      if (!(await leadership.confirm().catch(() => false))) {
        discard(artifacts.registry, version.version);
        logger.warn(
          { version: version.version },
          'leadership not confirmed: the new version is discarded, not published',
        );
        await leadership.renew('leadership not confirmed before publishing');
        return;
      }
      // Receivers must be able to get the version before anyone is told about it.
      published = await publishToArtifactTopic(artifacts, version.version);
    } catch (error) {
      if (!(error instanceof ProducerFencedError)) throw error;
      discard(artifacts.registry, version.version);
      logger.warn(
        { version: version.version },
        'publisher fenced by another trainer: the new version is discarded, not published',
      );
      await leadership.renew('publisher fenced');
      return;
    }
    if (!published) return;
    recordCurrentModel(metrics, version.manifest.createdAt, outcome.metadata);
    metrics.lastSuccess.set(Date.now() / 1000);
    const event = toEvent(outcome, published.manifestSha256);
    // In the chain, with the one retry policy; a send that still fails is logged and counted, and the schedule
    // goes on (scorers install the version from the artifact topic and load it without the event).
    const announced = await announce(
      () =>
        inTransaction(artifacts.producer, (transaction) =>
          transaction.send({
            topic: announcementsTopic,
            acks: -1,
            messages: [{ key: MODEL_UPDATED_KEY, value: JSON.stringify(event) }],
          }),
        ),
      {
        signal: artifacts.signal,
        onRetry: ({ error, attempt, delayMs }) =>
          logger.warn(
            { err: error, version: version.version, attempt, delayMs },
            'model-updated send failed; retrying',
          ),
      },
    );
    metrics.announcements.inc({ outcome: announced.ok ? 'sent' : 'failed' });
    if (!announced.ok) {
      logger.error(
        { err: announced.error, version: version.version, attempts: announced.attempts },
        'model-updated could not be sent; scorers load the new version when their receiver installs it',
      );
    }
    try {
      await pruneWithTombstones(artifacts, keepVersions);
    } catch (error) {
      if (!(error instanceof ProducerFencedError)) throw error;
      await leadership.renew('publisher fenced while pruning');
    }
    logger.info({ version: version.version, holdout: event.holdout, gate: outcome.metadata.gate }, 'model published');
  };
}
