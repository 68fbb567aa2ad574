import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigError } from '@pncf/runtime';
import { describe, expect, it } from 'vitest';
import { dockerEngineProblem } from '../src/container.js';
import { chooseKafka, kafkaForRun, kafkaForRunConfigSchema } from '../src/kafka-for-run.js';

const settings = (env: Record<string, string>) => kafkaForRunConfigSchema.parse(env);

describe('choosing the Kafka of a test run', () => {
  it('takes KAFKA_BROKERS first, then testcontainers when an engine answered, else the jars saying why', () => {
    expect(chooseKafka(settings({ KAFKA_BROKERS: 'k:9092', PNCF_TEST_KAFKA: 'docker' }), 'no engine')).toEqual({
      kind: 'external',
      reason: 'KAFKA_BROKERS=k:9092',
    });
    expect(chooseKafka(settings({}), undefined)).toEqual({
      kind: 'docker',
      reason: 'PNCF_TEST_KAFKA=auto and a Docker engine answered',
    });
    expect(chooseKafka(settings({}), 'socket not found')).toEqual({
      kind: 'local',
      reason: 'no Docker engine is reachable (socket not found), so the local jars',
    });
    expect(chooseKafka(settings({ PNCF_TEST_KAFKA: 'local' }), undefined).kind).toBe('local');
    expect(() => chooseKafka(settings({ PNCF_TEST_KAFKA: 'docker' }), 'socket not found')).toThrow(
      /^PNCF_TEST_KAFKA=docker, but no Docker engine is reachable \(socket not found\)/,
    );
  });

  it('refuses an unknown PNCF_TEST_KAFKA as a configuration error', async () => {
    await expect(kafkaForRun(os.tmpdir(), { PNCF_TEST_KAFKA: 'podman' })).rejects.toBeInstanceOf(ConfigError);
  });
});

// The real path on this machine: PNCF_TEST_KAFKA=docker without an engine fails, clearly and quickly.
describe('PNCF_TEST_KAFKA=docker', async () => {
  const problem = await dockerEngineProblem();
  it.skipIf(problem === undefined)('fails with a message naming the missing engine and the way out', async () => {
    const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pncf-kafka-for-run-'));
    try {
      const started = Date.now();
      const error = await kafkaForRun(stateDir, { ...process.env, KAFKA_BROKERS: '', PNCF_TEST_KAFKA: 'docker' }).catch(
        (e: unknown) => e as Error,
      );
      expect((error as Error).message).toMatch(
        /^PNCF_TEST_KAFKA=docker, but no Docker engine is reachable \(testcontainers: .*\)\. Start one .* PNCF_TEST_KAFKA=local/,
      );
      expect(Date.now() - started).toBeLessThan(15_000);
      // Nothing was started in its place.
      expect(fs.readdirSync(stateDir)).toEqual([]);
    } finally {
      fs.rmSync(stateDir, { recursive: true, force: true });
    }
  });

  it.runIf(problem === undefined)(
    'starts a testcontainers Kafka that answers a metadata request',
    async () => {
      const { probeKafka } = await import('@pncf/runtime');
      const kafka = await kafkaForRun(os.tmpdir(), { ...process.env, KAFKA_BROKERS: '', PNCF_TEST_KAFKA: 'docker' });
      try {
        expect(kafka.kind).toBe('docker');
        await probeKafka(kafka.brokers, 10_000);
      } finally {
        await kafka.stop();
      }
    },
    300_000,
  );
});
