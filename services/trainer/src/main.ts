import path from 'node:path';
import { tfRuntime } from '@pncf/evaluation';
import { MODEL_UPDATED_KEY, type ModelUpdatedEvent } from '@pncf/events';
import { artifactTopicSpec, ModelRegistry } from '@pncf/registry';
import { connectKafkaAdmin, createKafka, GUARD_HOOK, kafkaSecurity, runService } from '@pncf/runtime';
import { countsChangelogTopic, startCountsView } from '@pncf/store';
import { Subject } from 'rxjs';
import { announce, handleInOrder } from './announce.js';
import { type Recovery, verifiedCurrent } from './baseline.js';
import { trainerConfigSchema } from './config.js';
import { controlAccess, controlGuard } from './control-access.js';
import { recordCurrentModel, trainerMetrics } from './metrics.js';
import { type ArtifactTopic, pruneWithTombstones, publishToArtifactTopic } from './model-topic.js';
import { type ModelMetadata, type RunOutcome, trainOnce } from './pipeline.js';
import { scheduleRuns, trainingTriggers } from './schedule.js';

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

await runService({
  name: 'trainer',
  schema: trainerConfigSchema,
  portVariable: 'HTTP_PORT',
  async start({ config, logger, metricsRegistry, http, listen, setStarting }) {
    const modelRegistry = new ModelRegistry<ModelMetadata>(config.MODEL_DIR);
    const metrics = trainerMetrics(metricsRegistry, () => modelRegistry.currentVersion());
    const abort = new AbortController();
    let running: Promise<RunOutcome> | undefined;
    let scheduling = false;
    // Routes before listening (fastify takes none after). manual$ keeps nothing for later subscribers, so a
    // request before the schedule is subscribed is refused rather than silently dropped.
    const manual$ = new Subject<void>();
    const access = controlAccess(config.CONTROL_TOKEN, config.HTTP_HOST);
    if (access.kind === 'refused') logger.warn(access.reason);
    http.app.post('/train', { [GUARD_HOOK]: controlGuard(access) }, async (_request, reply) => {
      if (!scheduling) return reply.code(503).send({ accepted: false, reason: 'the trainer is still starting' });
      manual$.next();
      return reply.code(202).send({ accepted: true, running: running !== undefined });
    });
    setStarting('loading the TensorFlow.js backend and the model registry');
    await listen();
    // Chosen once here, so a TF_BACKEND that cannot load stops the start instead of the first training run.
    await tfRuntime((message) => logger.info(message), config.TF_BACKEND);
    const logRecovery = (recovery: Recovery) => {
      metrics.recoveries.inc();
      logger.error(
        recovery,
        `current model ${recovery.from} failed verification; rolled back to ${recovery.to ?? 'none'}`,
      );
    };
    const { current, recovery } = verifiedCurrent(modelRegistry);
    if (recovery) logRecovery(recovery);
    if (current) recordCurrentModel(metrics, current.manifest.createdAt, current.manifest.metadata);
    logger.info({ current: current?.version ?? null, modelRegistry: path.resolve(config.MODEL_DIR) }, 'model registry');

    setStarting(`waiting for Kafka at ${config.KAFKA_BROKERS.join(',')}`);
    const security = kafkaSecurity(config);
    const admin = await connectKafkaAdmin({
      brokers: config.KAFKA_BROKERS,
      clientId: 'pncf-trainer',
      logger,
      security,
      createTopics: config.KAFKA_CREATE_TOPICS,
      topics: [
        { topic: config.MODEL_UPDATES_TOPIC, partitions: 1 },
        artifactTopicSpec(config.MODEL_ARTIFACTS_TOPIC),
        countsChangelogTopic(config.CHANGELOG_TOPIC),
      ],
    });
    // The trainer's own counts: a view of the changelog in its own directory; snapshots are read from it.
    const view = await startCountsView({
      brokers: config.KAFKA_BROKERS,
      topic: config.CHANGELOG_TOPIC,
      path: config.VIEW_PATH,
      groupPrefix: 'pncf-trainer-view',
      clientId: 'pncf-trainer',
      logger,
      admin,
      security,
      metricsRegistry,
    });
    const store = view.store;
    const producer = createKafka({
      brokers: config.KAFKA_BROKERS,
      clientId: 'pncf-trainer',
      logger,
      security,
    }).producer({
      allowAutoTopicCreation: false,
    });
    await producer.connect();
    const artifacts: ArtifactTopic = {
      producer,
      topic: config.MODEL_ARTIFACTS_TOPIC,
      chunkBytes: config.MODEL_CHUNK_BYTES,
      registry: modelRegistry,
      logger,
      metrics,
      signal: abort.signal,
    };
    // A version registered just before a crash may never have reached the topic: send the current one again (the
    // same keys and bytes; compaction keeps one copy).
    if (current) await publishToArtifactTopic(artifacts, current.version);

    // Polled every TRAIN_POLL_S: a version is verified (all its files hashed) once, not at every poll. A CURRENT
    // that fails verification counts as nothing trained, so a run starts and recovers (verifiedCurrent).
    let trained: { version: string; total: number } | undefined;
    const trainedTotal = () => {
      try {
        const version = modelRegistry.currentVersion();
        if (version === undefined) return 0;
        if (trained?.version !== version) {
          trained = { version, total: modelRegistry.open(version).manifest.metadata.data.total };
        }
        return trained.total;
      } catch {
        return 0;
      }
    };

    // The schedule starts once the view has caught up: a run before would train on part of the counts, and the
    // start-up run would count what the view is still catching up on as new interactions.
    setStarting('reading the counts changelog');
    await view.whenCaughtUp();
    const triggers$ = trainingTriggers({
      intervalMs: config.TRAIN_INTERVAL_S * 1000,
      minNewInteractions: config.TRAIN_MIN_NEW_INTERACTIONS,
      pollMs: config.TRAIN_POLL_S * 1000,
      newInteractions: () => store.stats().total - trainedTotal(),
      manual$,
      runAtStartup: config.TRAIN_AT_STARTUP && !current,
    });
    const subscription = scheduleRuns(
      triggers$,
      async (reason, attempt) => {
        logger.info({ reason, attempt }, 'training run started');
        metrics.running.set(1);
        running = trainOnce({
          store,
          modelRegistry,
          config,
          signal: abort.signal,
          onRecovery: logRecovery,
          onStep: (step, seconds, detail) => {
            metrics.stepSeconds.observe({ step }, seconds);
            logger.info({ step, seconds: Number(seconds.toFixed(3)), ...detail }, `step ${step} done`);
          },
        });
        try {
          return await running;
        } finally {
          running = undefined;
          metrics.running.set(0);
        }
      },
      {
        retries: config.TRAIN_RETRIES,
        baseDelayMs: config.TRAIN_RETRY_DELAY_S * 1000,
        maxDelayMs: config.TRAIN_RETRY_DELAY_S * 1000 * 16,
        onRetry: (reason, { error, attempt, delayMs }) =>
          logger.warn({ err: error, reason, attempt, delayMs }, 'training run failed; retrying'),
      },
    )
      .pipe(
        handleInOrder(
          async (result) => {
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
            recordCurrentModel(metrics, version.manifest.createdAt, outcome.metadata);
            metrics.lastSuccess.set(Date.now() / 1000);
            // Receivers must be able to get the version before anyone is told about it.
            const published = await publishToArtifactTopic(artifacts, version.version);
            if (!published) return;
            const event = toEvent(outcome, published.manifestSha256);
            // In the chain, with the one retry policy; a send that still fails is logged and counted, and the schedule
            // goes on (scorers install the version from the artifact topic and load it without the event).
            const announced = await announce(
              () =>
                producer.send({
                  topic: config.MODEL_UPDATES_TOPIC,
                  acks: -1,
                  messages: [{ key: MODEL_UPDATED_KEY, value: JSON.stringify(event) }],
                }),
              {
                signal: abort.signal,
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
            await pruneWithTombstones(artifacts, config.KEEP_VERSIONS);
            logger.info(
              { version: version.version, holdout: event.holdout, gate: outcome.metadata.gate },
              'model published',
            );
          },
          (error) => logger.error({ err: error }, 'handling a training result failed; the schedule goes on'),
        ),
      )
      .subscribe();
    scheduling = true;

    return {
      ready: () => ({
        ok: view.caughtUp(),
        countsView: view.status(),
        currentModel: modelRegistry.currentVersion() ?? null,
        training: running !== undefined,
      }),
      async stop() {
        abort.abort(new Error('trainer stopping'));
        subscription.unsubscribe();
        await running?.catch(() => undefined);
        await producer.disconnect();
        await admin.disconnect();
        await view.stop();
      },
    };
  },
});
