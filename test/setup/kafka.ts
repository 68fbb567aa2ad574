import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort, startBroker } from '@pncf/kafka-local';
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
export default async function setup(project: TestProject): Promise<(() => Promise<void>) | undefined> {
  const external = process.env.KAFKA_BROKERS?.split(',')
    .map((broker) => broker.trim())
    .filter(Boolean);
  if (external && external.length > 0) {
    console.log(`[kafka] using KAFKA_BROKERS=${external.join(',')}`);
    project.provide('kafkaBrokers', external);
    return undefined;
  }
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pncf-test-kafka-'));
  const broker = await startBroker({
    stateDir,
    port: await freePort(),
    controllerPort: await freePort(),
    fresh: true,
  });
  console.log(
    `[kafka] local broker ${broker.brokers.join(',')} (pid ${broker.pid}) ready in ${broker.timings.totalMs} ms`,
  );
  project.provide('kafkaBrokers', broker.brokers);
  return async () => {
    await broker.stop();
    fs.rmSync(stateDir, { recursive: true, force: true });
  };
}
