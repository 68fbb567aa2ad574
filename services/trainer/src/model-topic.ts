import {
  describeVersion,
  type ModelRegistry,
  type PublishedVersion,
  publishTombstones,
  publishVersion,
} from '@pncf/registry';
import type { Logger } from '@pncf/runtime';
import type { Producer } from 'kafkajs';
import { announce } from './announce.js';
import type { TrainerMetrics } from './metrics.js';

/** Where the trainer's versions go: its registry, the artifact topic and how they are sent. */
export interface ArtifactTopic {
  producer: Producer;
  topic: string;
  chunkBytes: number;
  registry: ModelRegistry<unknown>;
  logger: Logger;
  metrics: Pick<TrainerMetrics, 'artifactPublications' | 'artifactBytes' | 'artifactTombstonedVersions'>;
  signal: AbortSignal;
}

/**
 * Publish a local version to the artifact topic under the one retry policy (announce's: a send is a send). Resolves
 * to what was sent, or to undefined once every attempt failed, which is logged and counted: such a version is
 * not announced, since no receiver could get it.
 */
export async function publishToArtifactTopic(
  target: ArtifactTopic,
  version: string,
): Promise<PublishedVersion | undefined> {
  const { producer, topic, chunkBytes, registry, logger, metrics, signal } = target;
  let published: PublishedVersion | undefined;
  const outcome = await announce(
    async () => {
      published = await publishVersion({ producer, topic, registry, version, chunkBytes });
    },
    {
      signal,
      onRetry: ({ error, attempt, delayMs }) =>
        logger.warn(
          { err: error, version, attempt, delayMs },
          'publishing the model to the artifact topic failed; retrying',
        ),
    },
  );
  if (!outcome.ok || !published) {
    metrics.artifactPublications.inc({ outcome: 'failed' });
    logger.error(
      { err: outcome.ok ? undefined : outcome.error, version, attempts: outcome.attempts, topic },
      'model could not be published to the artifact topic; it is not announced and no scorer receives it',
    );
    return undefined;
  }
  metrics.artifactPublications.inc({ outcome: 'sent' });
  metrics.artifactBytes.inc(published.bytes);
  logger.info(
    { version, topic, records: published.records, bytes: published.bytes, manifestSha256: published.manifestSha256 },
    'model published to the artifact topic',
  );
  return published;
}

/**
 * Apply the registry's retention: tombstone each dropped version's records on the artifact topic, then delete it.
 * A version whose tombstones cannot be sent stays on disk, so the next pruning sends them.
 */
export async function pruneWithTombstones(target: ArtifactTopic, keep: number): Promise<string[]> {
  const { producer, topic, chunkBytes, registry, logger, metrics } = target;
  const pruned: string[] = [];
  for (const version of registry.prunable(keep)) {
    try {
      // The chunk keys follow from the files' sizes and the chunk size: MODEL_CHUNK_BYTES must be the one the
      // version was published with (changing it leaves older versions' surplus chunk records on the topic).
      const records = await publishTombstones(producer, topic, describeVersion(registry, version, chunkBytes));
      registry.remove(version);
      metrics.artifactTombstonedVersions.inc();
      pruned.push(version);
      logger.info({ version, topic, tombstones: records }, 'pruned model version tombstoned and deleted');
    } catch (error) {
      logger.error({ err: error, version, topic }, 'could not tombstone a pruned model version; kept until next time');
    }
  }
  registry.clearStaleStaging();
  return pruned;
}
