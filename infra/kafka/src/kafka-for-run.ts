import { loadConfig } from '@pncf/runtime';
import { z } from 'zod';
import { freePort, type StartedBroker, startBroker } from './broker.js';
import { dockerEngineProblem, type StartedKafkaContainer, startKafkaContainer } from './container.js';

/** What a test run or a benchmark reads to pick its Kafka (validated like a service's variables). */
export const kafkaForRunConfigSchema = z.object({
  KAFKA_BROKERS: z.string().optional().describe('Use this Kafka (host:port,…) and start none'),
  PNCF_TEST_KAFKA: z
    .enum(['auto', 'docker', 'local'])
    .default('auto')
    .describe(
      'Which Kafka tests start: auto (testcontainers when a Docker engine is reachable, else the local jars), docker (testcontainers or fail), local (the jars)',
    ),
  PNCF_TEST_KAFKA_IMAGE: z
    .string()
    .min(1)
    .default('confluentinc/cp-kafka:8.0.0')
    .describe('Image of the testcontainers Kafka (a Confluent cp-kafka image, KRaft from 8.0)'),
});

export type KafkaForRunConfig = z.infer<typeof kafkaForRunConfigSchema>;

export type KafkaKind = 'external' | 'docker' | 'local';

/**
 * Which Kafka to start and why, from the settings and whether a Docker engine answered (`dockerProblem`: why not,
 * undefined when it did). Throws when docker is demanded and there is none: silently using the jars instead
 * would test something other than what was asked for.
 */
export function chooseKafka(
  config: KafkaForRunConfig,
  dockerProblem: string | undefined,
): { kind: KafkaKind; reason: string } {
  if (config.KAFKA_BROKERS?.trim()) return { kind: 'external', reason: `KAFKA_BROKERS=${config.KAFKA_BROKERS}` };
  if (config.PNCF_TEST_KAFKA === 'local') return { kind: 'local', reason: 'PNCF_TEST_KAFKA=local' };
  if (dockerProblem === undefined) {
    return { kind: 'docker', reason: `PNCF_TEST_KAFKA=${config.PNCF_TEST_KAFKA} and a Docker engine answered` };
  }
  if (config.PNCF_TEST_KAFKA === 'docker') {
    throw new Error(
      `PNCF_TEST_KAFKA=docker, but no Docker engine is reachable (${dockerProblem}). Start one (or set DOCKER_HOST), or run with PNCF_TEST_KAFKA=local (the broker from the jars) or KAFKA_BROKERS=host:port.`,
    );
  }
  return { kind: 'local', reason: `no Docker engine is reachable (${dockerProblem}), so the local jars` };
}

export interface KafkaForRun {
  brokers: string[];
  kind: KafkaKind;
  /** Why this kind was chosen, for the run's log. */
  reason: string;
  local?: StartedBroker;
  container?: StartedKafkaContainer;
  /** Stop what was started (nothing for KAFKA_BROKERS). */
  stop(): Promise<void>;
}

/**
 * The Kafka a test run or a benchmark uses: KAFKA_BROKERS when set; else, by PNCF_TEST_KAFKA, a testcontainers
 * Kafka or a fresh local broker on free ports (so a broker left running by `npm start` is never touched) in
 * stateDir. The caller calls stop().
 */
export async function kafkaForRun(stateDir: string, env: NodeJS.ProcessEnv = process.env): Promise<KafkaForRun> {
  const config = loadConfig('test Kafka', kafkaForRunConfigSchema, env);
  const needsDocker = !config.KAFKA_BROKERS?.trim() && config.PNCF_TEST_KAFKA !== 'local';
  const { kind, reason } = chooseKafka(config, needsDocker ? await dockerEngineProblem() : 'not asked');
  if (kind === 'external') {
    const brokers = config
      .KAFKA_BROKERS!.split(',')
      .map((broker) => broker.trim())
      .filter(Boolean);
    return { brokers, kind, reason, stop: async () => undefined };
  }
  if (kind === 'docker') {
    const container = await startKafkaContainer(config.PNCF_TEST_KAFKA_IMAGE);
    return { brokers: container.brokers, kind, reason, container, stop: () => container.stop() };
  }
  const local = await startBroker({
    stateDir,
    port: await freePort(),
    controllerPort: await freePort(),
    fresh: true,
    env,
  });
  return { brokers: local.brokers, kind, reason, local, stop: () => local.stop() };
}
