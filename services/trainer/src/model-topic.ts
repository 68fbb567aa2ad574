import {
  describeVersion,
  type ModelRegistry,
  type PublishedVersion,
  publishTombstones,
  publishVersion,
} from '@pncf/registry';
import { isProducerFenced, type Logger, ProducerFencedError } from '@pncf/runtime';
import type { Producer, Transaction } from 'kafkajs';
import { announce } from './announce.js';
import type { TrainerMetrics } from './metrics.js';

/** Where the trainer's versions go: its registry, the artifact topic and how they are sent. */
export interface ArtifactTopic {
  /** The leader's transactional producer (PUBLISH_TRANSACTIONAL_ID): every write goes through a transaction of it. */
  producer: Producer;
  topic: string;
  chunkBytes: number;
  registry: ModelRegistry<unknown>;
  logger: Logger;
  metrics: Pick<TrainerMetrics, 'artifactPublications' | 'artifactBytes' | 'artifactTombstonedVersions'>;
  signal: AbortSignal;
}

const fencedProducers = new WeakSet<Producer>();

/**
 * Run `work` in one transaction of a transactional producer: its records become visible to readers (read_committed,
 * kafkajs's default) all at once on commit, or never. Rejects with ProducerFencedError when a newer producer with the
 * same transactional id (another leader) has fenced this one.
 */
export async function inTransaction<T>(producer: Producer, work: (transaction: Transaction) => Promise<T>): Promise<T> {
  // kafkajs keeps a fenced producer's transaction state (its abort fails too): its next transaction would fail
  // with "ongoing transaction", which would read as an ordinary failure.
  if (fencedProducers.has(producer)) throw new ProducerFencedError('this producer was fenced by a newer one');
  try {
    const transaction = await producer.transaction();
    try {
      const result = await work(transaction);
      await transaction.commit();
      return result;
    } catch (error) {
      if (transaction.isActive()) await transaction.abort().catch(() => undefined);
      throw error;
    }
  } catch (error) {
    if (isProducerFenced(error)) {
      fencedProducers.add(producer);
      throw new ProducerFencedError('another trainer’s producer has taken over the transactional id', { cause: error });
    }
    throw error;
  }
}

/**
 * Make `producer` the one publisher: initialises its transactional id (an empty transaction), which fences every
 * earlier producer of that id and aborts a transaction it left open, so once this resolves no other trainer's
 * write can land and what the topic holds is final until this producer is fenced in turn.
 */
export async function fenceOtherPublishers(producer: Producer): Promise<void> {
  await inTransaction(producer, async () => undefined);
}

/**
 * Publish a local version to the artifact topic in one transaction, under the one retry policy (announce's: a send
 * is a send). Resolves to what was sent, or to undefined once every attempt failed, which is logged and counted:
 * such a version is not announced, since no receiver could get it. Rejects with ProducerFencedError (not retried)
 * when another trainer leads now.
 */
export async function publishToArtifactTopic(
  target: ArtifactTopic,
  version: string,
): Promise<PublishedVersion | undefined> {
  const { producer, topic, chunkBytes, registry, logger, metrics, signal } = target;
  let published: PublishedVersion | undefined;
  const outcome = await announce(
    async () => {
      published = await inTransaction(producer, (transaction) =>
        publishVersion({ producer: transaction, topic, registry, version, chunkBytes }),
      );
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
  if (!outcome.ok && outcome.error instanceof ProducerFencedError) throw outcome.error;
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
      const manifest = describeVersion(registry, version, chunkBytes);
      const records = await inTransaction(producer, (transaction) => publishTombstones(transaction, topic, manifest));
      registry.remove(version);
      metrics.artifactTombstonedVersions.inc();
      pruned.push(version);
      logger.info({ version, topic, tombstones: records }, 'pruned model version tombstoned and deleted');
    } catch (error) {
      if (error instanceof ProducerFencedError) throw error;
      logger.error({ err: error, version, topic }, 'could not tombstone a pruned model version; kept until next time');
    }
  }
  registry.clearStaleStaging();
  return pruned;
}
