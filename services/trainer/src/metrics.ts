import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { ModelMetadata } from './pipeline.js';

export function trainerMetrics(metricsRegistry: Registry) {
  const registers = [metricsRegistry];
  return {
    runs: new Counter({
      name: 'trainer_runs_total',
      help: 'Training runs by outcome (published, rejected by the gate, skipped, failed)',
      labelNames: ['outcome'],
      registers,
    }),
    stepSeconds: new Histogram({
      name: 'trainer_step_seconds',
      help: 'Duration of each training step',
      labelNames: ['step'],
      buckets: [0.05, 0.25, 1, 5, 15, 60, 180, 600, 1800],
      registers,
    }),
    dataSize: new Gauge({
      name: 'trainer_data_size',
      help: 'Size of the data the last run trained on',
      labelNames: ['kind'],
      registers,
    }),
    holdout: new Gauge({
      name: 'trainer_model_holdout_metric',
      help: 'Metrics of the current model on data it never trained on: the gate window, or a random holdout for a first model (standard definitions)',
      labelNames: ['metric', 'k'],
      registers,
    }),
    modelVersion: new Gauge({
      name: 'trainer_current_model_version',
      help: 'Number of the current model version (v000007 → 7)',
      registers,
    }),
    modelCreated: new Gauge({
      name: 'trainer_current_model_created_timestamp_seconds',
      help: 'When the current model was published; model age = time() - this',
      registers,
    }),
    lastSuccess: new Gauge({
      name: 'trainer_last_success_timestamp_seconds',
      help: 'End of the last run that published a model',
      registers,
    }),
    recoveries: new Counter({
      name: 'trainer_current_model_recoveries_total',
      help: 'Times CURRENT failed verification and was rolled back to the newest intact version',
      registers,
    }),
    announcements: withOutcomes(
      new Counter({
        name: 'trainer_model_announcements_total',
        help: 'model-updated events for published versions, by outcome (sent, or failed after every retry)',
        labelNames: ['outcome'],
        registers,
      }),
      ['sent', 'failed'],
    ),
    artifactPublications: withOutcomes(
      new Counter({
        name: 'pncf_model_artifact_publications_total',
        help: 'Model versions published to the artifact topic, by outcome (sent, or failed after every retry: then not announced)',
        labelNames: ['outcome'],
        registers,
      }),
      ['sent', 'failed'],
    ),
    artifactBytes: new Counter({
      name: 'pncf_model_artifact_sent_bytes_total',
      help: 'Bytes of record values sent to the artifact topic (file chunks and manifests)',
      registers,
    }),
    artifactTombstonedVersions: new Counter({
      name: 'pncf_model_artifact_tombstoned_versions_total',
      help: 'Pruned model versions whose records were tombstoned on the artifact topic',
      registers,
    }),
    running: new Gauge({ name: 'trainer_running', help: '1 while a training run is in progress', registers }),
  };
}

/** Start every known outcome at 0, so the first failure is an increase() and not a series appearing. */
function withOutcomes<T extends Counter<'outcome'>>(counter: T, outcomes: string[]): T {
  for (const outcome of outcomes) counter.inc({ outcome }, 0);
  return counter;
}

export type TrainerMetrics = ReturnType<typeof trainerMetrics>;

export function recordCurrentModel(metrics: TrainerMetrics, version: string, createdAt: string, meta: ModelMetadata) {
  metrics.modelVersion.set(Number(version.slice(1)));
  metrics.modelCreated.set(Date.parse(createdAt) / 1000);
  for (const [metric, values] of Object.entries(meta.holdout.metrics)) {
    meta.holdout.ks.forEach((k, at) => {
      const value = values?.[at];
      if (value !== undefined) metrics.holdout.set({ metric, k: String(k) }, value);
    });
  }
}
