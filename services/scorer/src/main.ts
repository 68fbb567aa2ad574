import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { tfRuntime } from '@pncf/evaluation';
import { type DecodedErase, type DecodedEvent, decodeEvent, parseModelUpdated } from '@pncf/events';
import { artifactTopicSpec, MANIFEST_FILE, ModelReceiver, ModelRegistry, sha256File } from '@pncf/registry';
import {
  connectKafkaAdmin,
  createKafka,
  kafkaMetadataRetry,
  kafkaSecurity,
  runService,
  waitForTopics,
  withRetry,
} from '@pncf/runtime';
import { type CountsView, countsChangelogTopic, InteractionStore, startCountsView } from '@pncf/store';
import type { EachBatchPayload } from 'kafkajs';
import { registerApi } from './api.js';
import { scorerConfigSchema } from './config.js';
import { applyInteractionBatch, publishErasures } from './erasure.js';
import { HistorySource } from './history.js';
import { scorerMetrics } from './metrics.js';
import { ModelHolder } from './model-holder.js';
import { PartitionOwnership } from './partition-ownership.js';
import { RecommendationPublisher } from './publisher.js';
import { TopKCache } from './topk-cache.js';

await runService({
  name: 'scorer',
  schema: scorerConfigSchema,
  portVariable: 'HTTP_PORT',
  async start({ config, logger, metricsRegistry, http, listen, setStarting }) {
    let holder: ModelHolder | undefined;
    let cache: TopKCache | undefined;
    const metrics = scorerMetrics(
      metricsRegistry,
      () => holder?.current,
      () => cache?.size ?? 0,
    );
    // The scorer's own counts: a view of the changelog in its own directory, so it shares no file with anyone.
    // Opened now, for the API; filled once Kafka answers.
    const viewStore = InteractionStore.open({ path: config.VIEW_PATH });
    let view: CountsView | undefined;
    const history = new HistorySource(viewStore, config.RECENT_TTL_S * 1000);
    const modelRegistry = new ModelRegistry(config.MODEL_DIR);
    const instanceId = config.INSTANCE_ID ?? `${os.hostname()}-${process.pid}`;
    // Replicas share the refresh: each publishes the users of the interactions partitions its group member holds.
    const ownership = new PartitionOwnership();
    let publisher: RecommendationPublisher | undefined;
    holder = new ModelHolder({
      modelRegistry,
      storePath: config.VIEW_PATH,
      storeReady: () => view?.caughtUp() ?? false,
      candidates: {
        nearest: config.CANDIDATES_NEAREST,
        popular: config.CANDIDATES_POPULAR,
        fullRanking: config.FULL_RANKING,
      },
      metrics,
      logger,
      onSwap: (model) => {
        if (config.REFRESH_ON_SWAP) publisher?.startRefresh(model, (user) => ownership.owns(user));
      },
    });
    const models = holder;
    cache = new TopKCache(config.TOPK_CACHE_SIZE, models);
    await registerApi(http.app, {
      holder: models,
      history,
      cache,
      metrics,
      defaultK: config.DEFAULT_K,
      maxK: config.MAX_K,
      unknownUsers: config.UNKNOWN_USERS,
      token: config.API_TOKEN,
    });
    setStarting('loading the TensorFlow.js backend');
    await listen();
    const runtime = await tfRuntime((message) => logger.info(message), config.TF_BACKEND);
    logger.info({ backend: runtime.backend }, 'tfjs backend selected');
    setStarting(`waiting for Kafka at ${config.KAFKA_BROKERS.join(',')}`);
    const security = kafkaSecurity(config);
    const admin = await connectKafkaAdmin({
      brokers: config.KAFKA_BROKERS,
      clientId: 'pncf-scorer',
      logger,
      security,
      createTopics: config.KAFKA_CREATE_TOPICS,
      // Not the interactions topic: the ingester owns it and its partition count (see the consumer below).
      topics: [
        {
          topic: config.RECOMMENDATIONS_TOPIC,
          partitions: config.RECOMMENDATIONS_PARTITIONS,
          config: { 'cleanup.policy': 'compact' },
        },
        { topic: config.MODEL_UPDATES_TOPIC, partitions: 1 },
        artifactTopicSpec(config.MODEL_ARTIFACTS_TOPIC),
        countsChangelogTopic(config.CHANGELOG_TOPIC),
      ],
    });
    setStarting('reading the counts changelog');
    const counts = await startCountsView({
      brokers: config.KAFKA_BROKERS,
      topic: config.CHANGELOG_TOPIC,
      store: viewStore,
      groupPrefix: `${config.CONSUMER_GROUP}-view`,
      clientId: 'pncf-scorer',
      logger,
      admin,
      security,
      metricsRegistry,
      // A cached list of a user whose counts changed is stale, whichever replica consumed their interaction.
      onApplied: (changes) => {
        for (const change of changes) history.storeChanged(change.user);
      },
    });
    view = counts;
    const kafka = createKafka({ brokers: config.KAFKA_BROKERS, clientId: 'pncf-scorer', logger, security });
    const producer = kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    publisher = new RecommendationPublisher({
      producer,
      topic: config.RECOMMENDATIONS_TOPIC,
      holder: models,
      history,
      cache,
      metrics,
      logger,
      k: config.DEFAULT_K,
      blockUsers: config.BLOCK_USERS,
      refreshPauseMs: config.REFRESH_PAUSE_MS,
      instanceId,
    });
    const publish = publisher;

    // Load in the background once the view has caught up (popularity and centroids come from it): the server
    // answers /healthz (and 503 on /readyz) meanwhile.
    void counts.whenCaughtUp().then(() => models.check('counts view caught up'));
    const poll = setInterval(() => {
      void models.check('pointer poll');
      history.prune();
    }, config.MODEL_POLL_MS);

    // Every scorer process must receive every version and see every model-updated event, so each reads them in
    // groups of its own.
    const processGroup = `${config.CONSUMER_GROUP}-models-${os.hostname()}-${process.pid}`;
    const receiver = new ModelReceiver({
      kafka,
      topic: config.MODEL_ARTIFACTS_TOPIC,
      registry: modelRegistry,
      groupId: `${processGroup}-artifacts`,
      logger,
      keepVersions: config.KEEP_VERSIONS,
      onInstalled: () => metrics.modelVersionsReceived.inc({ outcome: 'installed' }),
      onCurrent: () => void models.check('model received'),
      onRejected: (_version, reason) => metrics.modelVersionsReceived.inc({ outcome: reason }),
    });
    await receiver.start();
    void receiver
      .whenCaughtUp()
      .then(() =>
        logger.info({ current: modelRegistry.currentVersion() ?? null }, 'model artifact topic read to its end'),
      );

    const modelConsumer = kafka.consumer({ groupId: processGroup });
    await modelConsumer.connect();
    await modelConsumer.subscribe({ topic: config.MODEL_UPDATES_TOPIC, fromBeginning: false });
    await modelConsumer.run({
      eachMessage: async ({ message }) => {
        try {
          const event = parseModelUpdated(message.value);
          const manifest = path.join(modelRegistry.versionsDir, event.version, MANIFEST_FILE);
          const local = fs.existsSync(manifest) ? sha256File(manifest) : undefined;
          if (local === undefined)
            logger.info({ version: event.version }, 'model-updated event; the receiver has not installed it yet');
          else if (local !== event.manifestSha256) {
            logger.error(
              { version: event.version, announced: event.manifestSha256, local },
              'model-updated names a version whose manifest differs from the local copy',
            );
          } else logger.info({ version: event.version }, 'model-updated event');
        } catch (error) {
          logger.warn({ err: error }, 'malformed model-updated event; checking the pointer anyway');
        }
        await models.check('model-updated event');
      },
    });

    // New interactions: remember them beside the store and republish the users of each fetched batch at once;
    // erase events: forget the user and tombstone their list (erasure.ts).
    let interactionsJoined = false;
    const interactionConsumer = kafka.consumer({
      groupId: config.CONSUMER_GROUP,
      maxWaitTimeInMs: 100,
      sessionTimeout: config.SESSION_TIMEOUT_MS,
      heartbeatInterval: config.HEARTBEAT_INTERVAL_MS,
    });
    // Joins are handled in order: each compares its assignment with the previous one.
    let assignments = Promise.resolve();
    const takeOver = async (assigned: number[]) => {
      const metadata = await withRetry(() => admin.fetchTopicMetadata({ topics: [config.INTERACTIONS_TOPIC] }), {
        ...kafkaMetadataRetry,
        onRetry: ({ error, attempt, delayMs }) =>
          logger.warn({ err: error, attempt, delayMs }, 'reading the interactions topic’s partitions failed; retrying'),
      });
      const partitions = metadata.topics[0]?.partitions.length ?? 0;
      const added = ownership.assign(assigned, partitions);
      logger.info({ partitions: ownership.held(), added, of: partitions }, 'interactions partitions assigned');
      // A partition new to this replica (at start, or taken over from a replica that died or left) gets its users'
      // lists from this replica's model; before the first model, the swap's refresh will cover them.
      const model = models.current;
      if (model && added.length > 0 && config.REFRESH_ON_SWAP) {
        publish.startRefresh(model, ownership.ownsAmong(added), `partitions ${added.join(',')} assigned`);
      }
    };
    interactionConsumer.on(interactionConsumer.events.GROUP_JOIN, ({ payload }) => {
      interactionsJoined = true;
      const assigned = payload.memberAssignment[config.INTERACTIONS_TOPIC] ?? [];
      assignments = assignments
        .then(() => takeOver(assigned))
        .catch((error: unknown) => logger.error({ err: error }, 'could not take over the assigned partitions'));
    });
    const handleBatch = async ({ batch, heartbeat, isRunning, isStale }: EachBatchPayload) => {
      if (batch.isEmpty() || !isRunning() || isStale()) return;
      const events: (DecodedEvent | DecodedErase)[] = [];
      let oldest = Number.POSITIVE_INFINITY;
      for (const message of batch.messages) {
        const decoded = decodeEvent(message.value, message.key);
        if (!decoded.ok) continue; // the ingester dead-letters it; nothing to recommend from it
        events.push(decoded.event);
        if (decoded.event.type === 'interaction') oldest = Math.min(oldest, Number(message.timestamp));
      }
      const { republish: users, erased } = applyInteractionBatch(events, history, cache);
      // Before any list of the batch, so a user erased and back gets the tombstone first.
      await publishErasures(producer, config.RECOMMENDATIONS_TOPIC, erased, metrics);
      const model = models.lease();
      if (!model || users.length === 0) {
        if (model) models.release(model);
        return;
      }
      try {
        await publish.publish(model, users, 'interaction');
        if (Number.isFinite(oldest)) metrics.interactionToPublishSeconds.observe((Date.now() - oldest) / 1000);
      } finally {
        models.release(model);
      }
      await heartbeat();
    };
    // The ingester creates the interactions topic (or it is provisioned); until it exists the scorer serves
    // without following it (readyz: interactionsConsumer false) instead of creating it with a size of its own.
    const following = new AbortController();
    const follow = (async () => {
      await waitForTopics(admin, [config.INTERACTIONS_TOPIC], {
        signal: following.signal,
        onWait: (missing) => logger.info({ topics: missing }, 'waiting for the interactions topic to be created'),
      });
      await interactionConsumer.connect();
      await interactionConsumer.subscribe({ topic: config.INTERACTIONS_TOPIC, fromBeginning: false });
      await interactionConsumer.run({ eachBatch: handleBatch, partitionsConsumedConcurrently: 1 });
    })().catch((error: unknown) => {
      if (!following.signal.aborted) {
        logger.fatal({ err: error }, 'could not follow the interactions topic');
        process.exit(1);
      }
    });

    return {
      ready: () => ({
        // Ready once it serves a model and has read the artifact topic to its end (so it serves the newest one).
        ok: models.current !== undefined && receiver.isCaughtUp && counts.caughtUp(),
        model: models.current?.version ?? null,
        modelArtifactsRead: receiver.isCaughtUp,
        countsView: counts.status(),
        interactionsConsumer: interactionsJoined,
        instance: instanceId,
        partitions: ownership.held(),
        backend: runtime.backend,
      }),
      async stop() {
        clearInterval(poll);
        following.abort(new Error('scorer stopping'));
        await follow;
        await models.stop();
        await receiver.stop();
        await interactionConsumer.disconnect();
        await assignments;
        await modelConsumer.disconnect();
        await publish.idle();
        await producer.disconnect();
        await admin.disconnect();
        await counts.stop();
      },
    };
  },
});
