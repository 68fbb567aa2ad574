import type { Logger } from '@pncf/runtime';
import type { Consumer, EachBatchPayload, Kafka, KafkaMessage } from 'kafkajs';
import type { ModelRegistry } from '../registry.js';
import { type AssemblyOutcome, type RejectReason, VersionAssembly } from './assembly.js';
import { OFFSET_HEADER, parseArtifactKey, parseTransferManifest, type TransferManifest } from './records.js';

export interface ModelReceiverOptions {
  kafka: Kafka;
  topic: string;
  registry: ModelRegistry<unknown>;
  /** A group of this process's own: every receiver reads the whole topic into its own registry. */
  groupId: string;
  logger: Logger;
  /** Versions kept in the local registry after each install (the current one always is). */
  keepVersions: number;
  /** A version was installed in the registry. */
  onInstalled?: (version: string) => void;
  /**
   * CURRENT moved to a version: one installed that is newer than the current one, or, at the end of the start-up
   * read, the newest one.
   */
  onCurrent?: (version: string) => void;
  /** A version was refused: it never appears in the registry. */
  onRejected?: (version: string, reason: RejectReason | 'invalid') => void;
  /**
   * A valid manifest record was read (null: its tombstone), whether or not the registry has the version: what the
   * topic says a version is, for a reader that compares it with a local copy of the same number.
   */
  onManifest?: (version: string, manifest: TransferManifest | null) => void;
}

/**
 * Materializes the versions on the model artifact topic into a local registry (one job: topic → registry). Reads
 * the topic from its start at every start-up (it is compacted: the retained versions and their tombstones), skips
 * versions the registry already has, installs each complete and verified version atomically, points CURRENT at it
 * when it is newer than the current one, and prunes the local copy to keepVersions.
 */
export class ModelReceiver {
  private readonly assembly: VersionAssembly;
  private consumer: Consumer | undefined;
  private caughtUpOnce = false;
  private readonly caughtUp: Promise<void>;
  private markCaughtUp: () => void = () => undefined;
  private target = -1n;

  constructor(private readonly options: ModelReceiverOptions) {
    this.assembly = new VersionAssembly(options.registry);
    this.caughtUp = new Promise((resolve) => {
      this.markCaughtUp = resolve;
    });
  }

  /** Whether every record that was on the topic when the receiver started has been read. */
  get isCaughtUp(): boolean {
    return this.caughtUpOnce;
  }

  /** Resolves once every record that was on the topic at start-up has been read and acted on. */
  whenCaughtUp(): Promise<void> {
    return this.caughtUp;
  }

  async start(): Promise<void> {
    const { kafka, topic, groupId } = this.options;
    const admin = kafka.admin();
    await admin.connect();
    try {
      const offsets = await admin.fetchTopicOffsets(topic);
      const partition = offsets[0];
      if (offsets.length !== 1 || !partition) {
        throw new Error(`model artifact topic ${topic} must have exactly one partition (has ${offsets.length})`);
      }
      // The last offset present at start; an empty topic is caught up at once.
      this.target = BigInt(partition.high) - 1n;
      if (BigInt(partition.high) <= BigInt(partition.low)) this.reachedEnd();
    } finally {
      await admin.disconnect();
    }
    const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 250 });
    this.consumer = consumer;
    // A batch that holds only control records (the commit marker of a transactional publisher, the log's last
    // offset) never reaches eachBatch: its end is seen here.
    consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
      if (!this.caughtUpOnce && BigInt(payload.lastOffset) >= this.target) this.atEnd();
    });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({ eachBatch: (payload) => this.handleBatch(payload) });
  }

  async stop(): Promise<void> {
    await this.consumer?.disconnect();
    this.assembly.clear();
  }

  private async handleBatch({ batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayload): Promise<void> {
    for (const message of batch.messages) {
      if (!isRunning() || isStale()) return;
      this.handleRecord(message);
      resolveOffset(message.offset);
    }
    await heartbeat();
    const last = BigInt(batch.lastOffset());
    if (last >= this.target) this.atEnd();
    else if (batch.offsetLag() === '0') this.settle();
  }

  /** The publisher sends every chunk before the manifest: at the end of the log a manifest without all its chunks will not be completed any more. */
  private settle(): void {
    for (const outcome of this.assembly.settle()) this.report(outcome);
  }

  private atEnd(): void {
    this.settle();
    this.reachedEnd();
  }

  private handleRecord(message: KafkaMessage): void {
    const { logger, onRejected } = this.options;
    const key = message.key?.toString() ?? '';
    const parsed = parseArtifactKey(key);
    if (!parsed) {
      logger.warn({ key, offset: message.offset }, 'record with an unknown key on the model artifact topic; skipped');
      return;
    }
    if (message.value === null) {
      this.assembly.tombstone(parsed.version);
      if (parsed.kind === 'manifest') this.options.onManifest?.(parsed.version, null);
      return;
    }
    try {
      if (parsed.kind === 'chunk') {
        const offset = Number(message.headers?.[OFFSET_HEADER]?.toString());
        this.assembly.chunk(parsed.version, parsed.index, parsed.path, offset, message.value);
      } else {
        const manifest = parseTransferManifest(message.value);
        this.options.onManifest?.(parsed.version, manifest);
        const outcome = this.assembly.manifest(manifest);
        if (outcome) this.report(outcome);
      }
    } catch (error) {
      this.assembly.tombstone(parsed.version);
      onRejected?.(parsed.version, 'invalid');
      logger.error(
        { err: error, version: parsed.version, key, offset: message.offset },
        'model version rejected: a record of it is invalid; it will not be served',
      );
    }
  }

  private report(outcome: AssemblyOutcome): void {
    const { logger, onInstalled, onCurrent, onRejected } = this.options;
    if (outcome.outcome === 'rejected') {
      onRejected?.(outcome.version, outcome.reason);
      logger.error(
        { version: outcome.version, reason: outcome.reason, detail: outcome.detail },
        `model version rejected (${outcome.reason}): ${outcome.detail}; it will not be served`,
      );
      return;
    }
    // While reading what was on the topic at start-up CURRENT stays put, so a reader of this registry does not
    // load every retained version in turn; it moves to the newest once the end is reached.
    const makeCurrent = this.caughtUpOnce && this.advanceCurrent(outcome.version);
    logger.info(
      { version: outcome.version, files: outcome.files, bytes: outcome.bytes, current: makeCurrent },
      'model version received and installed',
    );
    onInstalled?.(outcome.version);
    if (makeCurrent) onCurrent?.(outcome.version);
  }

  /** Point CURRENT at version when it is newer than the current one, and prune; whether CURRENT moved. */
  private advanceCurrent(version: string | undefined): boolean {
    const { registry, keepVersions, logger } = this.options;
    const current = registry.currentVersion();
    const moved = version !== undefined && (current === undefined || version > current);
    if (moved) registry.setCurrent(version);
    const pruned = registry.prune(keepVersions);
    if (pruned.length > 0) logger.info({ pruned }, 'older model versions pruned from the local registry');
    return moved;
  }

  private reachedEnd(): void {
    if (this.caughtUpOnce) return;
    this.caughtUpOnce = true;
    const newest = this.options.registry.list().at(-1);
    if (this.advanceCurrent(newest) && newest) {
      this.options.logger.info(
        { version: newest },
        'model artifact topic read to its end; newest version made current',
      );
      this.options.onCurrent?.(newest);
    }
    this.markCaughtUp();
  }
}
