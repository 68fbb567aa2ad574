import { commonConfigShape, env } from '@pncf/runtime';
import { z } from 'zod';

export const scorerConfigSchema = z.object({
  ...commonConfigShape,
  HTTP_PORT: env.port(9103, 'Port of the scorer HTTP server (API, /healthz, /metrics)'),
  RECOMMENDATIONS_TOPIC: env.string('recommendations', 'Compacted topic of Top-K recommendations, keyed by user'),
  RECOMMENDATIONS_PARTITIONS: env.positiveInt(4, 'Partitions of the recommendations topic when the scorer creates it'),
  MODEL_UPDATES_TOPIC: env.string('model-updated', 'Topic on which the trainer announces new model versions'),
});

export type ScorerConfig = z.infer<typeof scorerConfigSchema>;
