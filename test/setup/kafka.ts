import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { kafkaForRun } from '@pncf/kafka-local';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    kafkaBrokers: string[];
  }
}

/**
 * One real Kafka broker per test run: KAFKA_BROKERS when set; otherwise (PNCF_TEST_KAFKA, default auto) a
 * testcontainers Kafka when a Docker engine is reachable, else a fresh local KRaft broker from the jars on free
 * ports (so a broker left running by `npm start` is never touched); stopped when the run ends. Says which and why.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pncf-test-kafka-'));
  const started = Date.now();
  const kafka = await kafkaForRun(stateDir);
  const what =
    kafka.kind === 'docker'
      ? `testcontainers Kafka (${kafka.container?.image})`
      : kafka.kind === 'local'
        ? `local broker from the jars (pid ${kafka.local?.pid})`
        : 'the Kafka of KAFKA_BROKERS';
  console.log(`[kafka] ${what} at ${kafka.brokers.join(',')}, ready in ${Date.now() - started} ms: ${kafka.reason}`);
  project.provide('kafkaBrokers', kafka.brokers);
  return async () => {
    await kafka.stop();
    fs.rmSync(stateDir, { recursive: true, force: true });
  };
}
