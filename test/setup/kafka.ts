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
 * One real Kafka broker per test run: KAFKA_BROKERS when set, otherwise a fresh local KRaft broker on free
 * ports (so a broker left running by `npm start` is never touched), stopped when the run ends.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pncf-test-kafka-'));
  const { brokers, local } = await kafkaForRun(stateDir);
  console.log(
    local
      ? `[kafka] local broker ${brokers.join(',')} (pid ${local.pid}) ready in ${local.timings.totalMs} ms`
      : `[kafka] using KAFKA_BROKERS=${brokers.join(',')}`,
  );
  project.provide('kafkaBrokers', brokers);
  return async () => {
    await local?.stop();
    fs.rmSync(stateDir, { recursive: true, force: true });
  };
}
