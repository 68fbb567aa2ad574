import { commonConfigShape, env } from '@pncf/runtime';
import { z } from 'zod';

export const ingesterConfigSchema = z.object({
  ...commonConfigShape,
  HTTP_PORT: env.port(9101, 'Port of the ingester HTTP server (/healthz, /metrics)'),
  INTERACTIONS_TOPIC: env.string('interactions', 'Topic of interaction events'),
  INTERACTIONS_PARTITIONS: env.positiveInt(4, 'Partitions of the interactions topic when the ingester creates it'),
  DEAD_LETTER_TOPIC: env.string('interactions.dead-letter', 'Topic that receives malformed events with the reason'),
});

export type IngesterConfig = z.infer<typeof ingesterConfigSchema>;
