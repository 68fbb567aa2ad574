import path from 'node:path';
import { ingesterConfigSchema } from '@pncf/ingester/config';
import { repoRoot } from '@pncf/kafka-local';
import { env, kafkaSecurityChecks, kafkaSecurityConfigShape, loadConfig, withCrossChecks } from '@pncf/runtime';
import { scorerConfigSchema } from '@pncf/scorer/config';
import { trainerConfigSchema } from '@pncf/trainer/config';
import { z } from 'zod';

/** Where `pncf up` keeps its state, and where `pncf model` looks for the registry: one default for both. */
export const DEFAULT_DATA_DIR = path.join(repoRoot, '.data');

/** A service's own HTTP_PORT default, so the command and the service cannot disagree about it. */
const servicePort = (schema: { shape: { HTTP_PORT: z.ZodType } }): number =>
  schema.shape.HTTP_PORT.parse(undefined) as number;

/**
 * The environment variables the `pncf` commands read themselves (the services read theirs, see `pncf config`).
 * One HTTP_PORT cannot serve the three services `up` starts, so each has its own variable here.
 */
const cliVariables = z.object({
  KAFKA_BROKERS: z
    .string()
    .optional()
    .describe(
      'up: use this Kafka (host:port,…) instead of starting the local broker; replay: the default of --brokers (127.0.0.1:9092 when unset)',
    ),
  KAFKA_PORT: env.port(9092, 'up, kafka:start: client port of the local broker'),
  KAFKA_CONTROLLER_PORT: env.port(9093, 'up, kafka:start: KRaft controller port of the local broker'),
  INGESTER_HTTP_PORT: env.port(servicePort(ingesterConfigSchema), 'up: HTTP_PORT of the ingester it starts'),
  TRAINER_HTTP_PORT: env.port(
    servicePort(trainerConfigSchema),
    'up: HTTP_PORT of the trainer it starts; trainer train-now: the port it calls',
  ),
  SCORER_HTTP_PORT: env.port(servicePort(scorerConfigSchema), 'up: HTTP_PORT of the scorer it starts'),
  MODEL_DIR: z
    .string()
    .optional()
    .describe('model list/rollback: the registry (default <data dir>/models); up: passed to the trainer and scorer'),
  STORE_PATH: z
    .string()
    .optional()
    .describe('up: passed to the ingester, trainer and scorer (default <data dir>/store)'),
  // replay and up's own clients connect as the services do; up passes the variables on to them.
  ...kafkaSecurityConfigShape,
});

export const cliConfigSchema = withCrossChecks(cliVariables, kafkaSecurityChecks);

export type CliConfig = z.infer<typeof cliConfigSchema>;

/** The commands' variables, validated like the services' (every problem at once). */
export function cliConfig(environment: NodeJS.ProcessEnv = process.env): CliConfig {
  return loadConfig('pncf', cliConfigSchema, environment);
}
