import os from 'node:os';
import path from 'node:path';
import { tfRuntime } from '@pncf/evaluation';
import { artifactTopicSpec, ModelRegistry } from '@pncf/registry';
import { connectKafkaAdmin, createKafka, GUARD_HOOK, kafkaSecurity, runService } from '@pncf/runtime';
import { countsChangelogTopic, startCountsView } from '@pncf/store';
import type { Producer } from 'kafkajs';
import {
  catchError,
  defer,
  EMPTY,
  filter,
  finalize,
  firstValueFrom,
  ignoreElements,
  type Observable,
  Subject,
  switchMap,
  timer,
} from 'rxjs';
import { handleInOrder } from './announce.js';
import { type Recovery, verifiedCurrent } from './baseline.js';
import { catchUpFromArtifactTopic } from './catch-up.js';
import { trainerConfigSchema } from './config.js';
import { controlAccess, controlGuard } from './control-access.js';
import { Leadership, type LeaderTerm } from './leadership.js';
import { recordCurrentModel, trainerMetrics } from './metrics.js';
import { type ArtifactTopic, fenceOtherPublishers, publishToArtifactTopic } from './model-topic.js';
import { type ModelMetadata, type RunOutcome, trainOnce } from './pipeline.js';
import { handleRunResult } from './run-result.js';
import { scheduleRuns, trainingTriggers } from './schedule.js';

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
    // The start is over once the role is known and, for a leader, its first term trains on the schedule.
    let markScheduling: () => void = () => undefined;
    const firstSchedule = new Promise<void>((resolve) => {
      markScheduling = resolve;
    });
    let leadership: Leadership | undefined;
    let joined = false;
    // Routes before listening (fastify takes none after). manual$ keeps nothing for later subscribers, so a
    // request before the schedule is subscribed is refused rather than silently dropped.
    const manual$ = new Subject<void>();
    const access = controlAccess(config.CONTROL_TOKEN, config.HTTP_HOST);
    if (access.kind === 'refused') logger.warn(access.reason);
    http.app.post('/train', { [GUARD_HOOK]: controlGuard(access) }, async (_request, reply) => {
      if (!scheduling && joined && leadership?.role === 'standby') {
        return reply
          .code(409)
          .send({ accepted: false, role: 'standby', reason: 'this trainer stands by; the leader trains' });
      }
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
        { topic: config.LEADERSHIP_TOPIC, partitions: 1 },
        countsChangelogTopic(config.CHANGELOG_TOPIC),
      ],
    });
    const kafka = createKafka({ brokers: config.KAFKA_BROKERS, clientId: 'pncf-trainer', logger, security });
    // The trainer's own counts: a view of the changelog in its own directory; snapshots are read from it. Every
    // trainer keeps one, so a standby that takes over trains at once on counts as current as the leader's.
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

    const elected = new Leadership({
      kafka,
      admin,
      topic: config.LEADERSHIP_TOPIC,
      groupId: config.LEADERSHIP_GROUP,
      sessionTimeoutMs: config.LEADERSHIP_SESSION_TIMEOUT_MS,
      heartbeatIntervalMs: config.LEADERSHIP_HEARTBEAT_INTERVAL_MS,
      logger,
    });
    leadership = elected;
    metrics.leader.set(0);

    const handleResult = (artifacts: ArtifactTopic) =>
      handleRunResult({
        artifacts,
        leadership: elected,
        metrics,
        logger,
        announcementsTopic: config.MODEL_UPDATES_TOPIC,
        keepVersions: config.KEEP_VERSIONS,
      });

    /**
     * One leadership term: fence the other trainers' producers, catch the registry up from the artifact topic (so
     * version numbers continue the published ones and the warm start is the newest model), send what was registered
     * and never published, then train on the schedule until the term ends (leadership lost, fenced, stopping), which
     * aborts a run in progress.
     */
    const leaderTerm$ = (term: LeaderTerm): Observable<never> =>
      defer(() => {
        const termAbort = new AbortController();
        const signal = AbortSignal.any([abort.signal, termAbort.signal]);
        const producer: Producer = kafka.producer({
          transactionalId: config.PUBLISH_TRANSACTIONAL_ID,
          idempotent: true,
          maxInFlightRequests: 1,
          allowAutoTopicCreation: false,
        });
        const artifacts: ArtifactTopic = {
          producer,
          topic: config.MODEL_ARTIFACTS_TOPIC,
          chunkBytes: config.MODEL_CHUNK_BYTES,
          registry: modelRegistry,
          logger,
          metrics,
          signal,
        };
        metrics.leader.set(1);
        const begin = async () => {
          await producer.connect();
          await fenceOtherPublishers(producer);
          const caught = await catchUpFromArtifactTopic({
            kafka,
            topic: config.MODEL_ARTIFACTS_TOPIC,
            registry: modelRegistry,
            groupPrefix: `${config.LEADERSHIP_GROUP}-${os.hostname()}-${process.pid}`,
            keepVersions: config.KEEP_VERSIONS,
            logger,
          });
          logger.info(
            { memberId: term.memberId, ...caught },
            'leader caught up with the model artifact topic; training on the schedule',
          );
          const latest = caught.current === undefined ? undefined : modelRegistry.open(caught.current);
          if (latest) recordCurrentModel(metrics, latest.manifest.createdAt, latest.manifest.metadata);
          // Registered just before a crash and never sent: nobody has used the number since, so send it now.
          for (const version of caught.unpublished) await publishToArtifactTopic(artifacts, version);
          return caught.current;
        };
        return defer(begin).pipe(
          switchMap((currentVersion) => {
            scheduling = true;
            markScheduling();
            const triggers$ = trainingTriggers({
              intervalMs: config.TRAIN_INTERVAL_S * 1000,
              minNewInteractions: config.TRAIN_MIN_NEW_INTERACTIONS,
              pollMs: config.TRAIN_POLL_S * 1000,
              newInteractions: () => store.stats().total - trainedTotal(),
              manual$,
              runAtStartup: config.TRAIN_AT_STARTUP && currentVersion === undefined,
            });
            return scheduleRuns(
              triggers$,
              async (reason, attempt) => {
                logger.info({ reason, attempt }, 'training run started');
                metrics.running.set(1);
                running = trainOnce({
                  store,
                  modelRegistry,
                  config,
                  signal,
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
            ).pipe(
              handleInOrder(handleResult(artifacts), (error) =>
                logger.error({ err: error }, 'handling a training result failed; the schedule goes on'),
              ),
            );
          }),
          catchError((error: unknown) => {
            logger.error({ err: error }, 'leader term could not start; trying again');
            return timer(config.TRAIN_RETRY_DELAY_S * 1000).pipe(
              switchMap(() => elected.renew('leader term failed to start')),
              ignoreElements(),
            );
          }),
          finalize(() => {
            scheduling = false;
            metrics.leader.set(0);
            termAbort.abort(new Error('leadership term ended'));
            const ended = (running ?? Promise.resolve()).catch(() => undefined);
            void ended.then(() => producer.disconnect()).catch(() => undefined);
          }),
        );
      });

    const terms = elected.terms$
      .pipe(switchMap((term) => (term ? leaderTerm$(term) : EMPTY)))
      .subscribe({ error: (error: unknown) => logger.error({ err: error }, 'leadership terms ended') });
    // Leading starts the schedule: only once the view has caught up, or a run would train on part of the counts
    // and the start-up run would count what the view is still catching up on as new interactions.
    setStarting('reading the counts changelog');
    await view.whenCaughtUp();
    setStarting('joining the trainer leadership group');
    await elected.start();
    await elected.joined;
    joined = true;
    if (elected.role === 'leader') {
      setStarting('leading: catching up with the model artifact topic');
      await Promise.race([firstSchedule, firstValueFrom(elected.terms$.pipe(filter((term) => term === undefined)))]);
    }

    const role = () => ({ role: elected.role, leadershipGroup: config.LEADERSHIP_GROUP });
    return {
      health: () => ({ ok: true, ...role() }),
      ready: () => ({
        ok: view.caughtUp(),
        ...role(),
        countsView: view.status(),
        currentModel: modelRegistry.currentVersion() ?? null,
        training: running !== undefined,
      }),
      async stop() {
        abort.abort(new Error('trainer stopping'));
        terms.unsubscribe();
        await running?.catch(() => undefined);
        await elected.stop();
        await admin.disconnect();
        await view.stop();
      },
    };
  },
});
