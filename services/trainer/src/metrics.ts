import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { ModelMetadata } from './pipeline.js';

export const RUN_OUTCOMES = ['published', 'rejected', 'skipped', 'failed'] as const;
export const ANNOUNCEMENT_OUTCOMES = ['sent', 'failed'] as const;
export const ARTIFACT_PUBLICATION_OUTCOMES = ['sent', 'failed'] as const;

/**
 * @param publishedVersion the registry's CURRENT version, read at scrape time: what scorers should serve, including
 *   after a rollback done with the CLI while the trainer runs.
 */
export function trainerMetrics(metricsRegistry: Registry, publishedVersion: () => string | undefined) {
  const registers = [metricsRegistry];
  return {
    runs: withLabelValues(
      new Counter({
        name: 'pncf_trainer_runs_total',
        help: 'Training runs by outcome (published, rejected by the gate, skipped, failed)',
        labelNames: ['outcome'],
        registers,
      }),
      RUN_OUTCOMES,
    ),
    stepSeconds: new Histogram({
      name: 'pncf_trainer_step_duration_seconds',
      help: 'Duration of each training step',
      labelNames: ['step'],
      buckets: [0.05, 0.25, 1, 5, 15, 60, 180, 600, 1800],
      registers,
    }),
    dataSize: new Gauge({
      name: 'pncf_trainer_data_size',
      help: 'Size of the data the last run trained on (users, items, pairs)',
      labelNames: ['kind'],
      registers,
    }),
    holdout: new Gauge({
      name: 'pncf_trainer_model_holdout_score',
      help: 'Metrics of the current model on data it never trained on: the gate window, or a random holdout for a first model (standard definitions)',
      labelNames: ['metric', 'k'],
      registers,
    }),
    modelInfo: new Gauge({
      name: 'pncf_trainer_model_info',
      help: 'The published model version (the registry’s CURRENT pointer), as the version label (value 1); absent while there is none',
      labelNames: ['version'],
      registers,
      collect() {
        this.reset();
        try {
          const version = publishedVersion();
          if (version !== undefined) this.set({ version }, 1);
        } catch {
          // An unreadable pointer is no published version; the trainer recovers it before its next run.
        }
      },
    }),
    modelCreated: new Gauge({
      name: 'pncf_trainer_model_created_timestamp_seconds',
      help: 'When the current model was published; model age = time() - this',
      registers,
    }),
    lastSuccess: new Gauge({
      name: 'pncf_trainer_last_success_timestamp_seconds',
      help: 'End of the last run that published a model',
      registers,
    }),
    recoveries: new Counter({
      name: 'pncf_trainer_model_recoveries_total',
      help: 'Times CURRENT failed verification and was rolled back to the newest intact version',
      registers,
    }),
    announcements: withLabelValues(
      new Counter({
        name: 'pncf_trainer_model_announcements_total',
        help: 'model-updated events for published versions, by outcome (sent, or failed after every retry)',
        labelNames: ['outcome'],
        registers,
      }),
      ANNOUNCEMENT_OUTCOMES,
    ),
    artifactPublications: withLabelValues(
      new Counter({
        name: 'pncf_trainer_model_artifact_publications_total',
        help: 'Model versions published to the artifact topic, by outcome (sent, or failed after every retry: then not announced)',
        labelNames: ['outcome'],
        registers,
      }),
      ARTIFACT_PUBLICATION_OUTCOMES,
    ),
    artifactBytes: new Counter({
      name: 'pncf_trainer_model_artifact_sent_bytes_total',
      help: 'Bytes of record values sent to the artifact topic (file chunks and manifests)',
      registers,
    }),
    artifactTombstonedVersions: new Counter({
      name: 'pncf_trainer_model_artifact_tombstoned_versions_total',
      help: 'Pruned model versions whose records were tombstoned on the artifact topic',
      registers,
    }),
    leader: new Gauge({
      name: 'pncf_trainer_leader',
      help: '1 while this trainer leads (trains and publishes), 0 while it stands by',
      registers,
    }),
    running: new Gauge({
      name: 'pncf_trainer_run_in_progress',
      help: '1 while a training run is in progress',
      registers,
    }),
  };
}

/** Start every known outcome at 0, so the first failure is an increase() and not a series appearing. */
function withLabelValues<T extends Counter<'outcome'>>(counter: T, outcomes: readonly string[]): T {
  for (const outcome of outcomes) counter.inc({ outcome }, 0);
  return counter;
}

export type TrainerMetrics = ReturnType<typeof trainerMetrics>;

export function recordCurrentModel(metrics: TrainerMetrics, createdAt: string, meta: ModelMetadata) {
  metrics.modelCreated.set(Date.parse(createdAt) / 1000);
  for (const [metric, values] of Object.entries(meta.holdout.metrics)) {
    meta.holdout.ks.forEach((k, at) => {
      const value = values?.[at];
      if (value !== undefined) metrics.holdout.set({ metric, k: String(k) }, value);
    });
  }
}
