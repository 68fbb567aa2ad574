import { commonConfigShape, env } from '@pncf/runtime';
import { z } from 'zod';

export const trainerConfigSchema = z.object({
  ...commonConfigShape,
  HTTP_PORT: env.port(9102, 'Port of the trainer HTTP server (/healthz, /metrics)'),
  MODEL_UPDATES_TOPIC: env.string('model-updated', 'Topic on which the trainer announces new model versions'),
});

export type TrainerConfig = z.infer<typeof trainerConfigSchema>;
