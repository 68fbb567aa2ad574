import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '@pncf/kafka-local';
import { ensureTopics } from '@pncf/runtime';
import { describe, expect, it } from 'vitest';
import { testBrokers, testKafka, uniqueName } from './support/kafka.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

interface Run {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

function startService(name: string, env: Record<string, string>): Run {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(repoRoot, 'services', name, 'src', 'main.ts')], {
    cwd: repoRoot,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk) => {
    output += chunk;
  });
  child.stderr?.on('data', (chunk) => {
    output += chunk;
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output: () => output, exited };
}

/** Until the health report says the start finished (it answers 200 with `starting` while waiting for Kafka). */
async function waitFor(url: string, run: Run, timeoutMs = 45_000): Promise<Response> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (run.child.exitCode !== null) throw new Error(`service exited early:\n${run.output()}`);
    try {
      const response = await fetch(url);
      if (response.ok && !('starting' in ((await response.clone().json()) as object))) return response;
    } catch {
      // not up yet
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`${url} not healthy in time:\n${run.output()}`);
}

async function until<T>(probe: () => Promise<T | undefined>, run: Run, timeoutMs = 45_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (run.child.exitCode !== null) throw new Error(`service exited early:\n${run.output()}`);
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`condition not met within ${timeoutMs} ms:\n${run.output()}`);
}

describe.each(['ingester', 'trainer', 'scorer'])('the %s service process', (name) => {
  it('serves /healthz and /metrics, logs JSON lines and exits 0 on SIGTERM', async () => {
    const port = await freePort();
    const run = startService(name, { KAFKA_BROKERS: testBrokers().join(','), HTTP_PORT: String(port) });
    try {
      await waitFor(`http://127.0.0.1:${port}/healthz`, run);
      const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      expect(metrics).toContain(`nodejs_heap_size_used_bytes{service="${name}"}`);
    } finally {
      run.child.kill('SIGTERM');
    }
    expect(await run.exited).toBe(0);
    const lines = run
      .output()
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as { service: string; msg: string });
    expect(lines.length).toBeGreaterThan(2);
    expect(lines.every((line) => line.service === name)).toBe(true);
    expect(lines.map((line) => line.msg)).toEqual(expect.arrayContaining(['started', 'stopping', 'stopped']));
  });

  it('refuses invalid configuration with exit code 2 and names the variable', async () => {
    const run = startService(name, { HTTP_PORT: 'eighty', LOG_LEVEL: 'loud' });
    expect(await run.exited).toBe(2);
    expect(run.output()).toContain(`invalid configuration for ${name}`);
    expect(run.output()).toContain('HTTP_PORT="eighty"');
    expect(run.output()).toContain('LOG_LEVEL="loud"');
  });

  it('answers /healthz (200, starting) and /readyz (503) while Kafka does not answer yet', async () => {
    const [port, silentKafka] = [await freePort(), await freePort()];
    const run = startService(name, { KAFKA_BROKERS: `127.0.0.1:${silentKafka}`, HTTP_PORT: String(port) });
    try {
      const health = await until(async () => {
        const response = await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => undefined);
        const body = response?.ok ? ((await response.json()) as { starting?: string }) : undefined;
        return body?.starting?.startsWith('waiting for Kafka') ? body : undefined;
      }, run);
      expect(health).toEqual({ ok: true, starting: `waiting for Kafka at 127.0.0.1:${silentKafka}` });
      const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
      expect(ready.status).toBe(503);
    } finally {
      run.child.kill('SIGTERM');
    }
    expect(await run.exited).toBe(0);
  });

  it('stops at once, naming the broker, when its host name does not resolve', async () => {
    const started = Date.now();
    const run = startService(name, { KAFKA_BROKERS: 'no-such-broker.invalid:9092', HTTP_PORT: '0' });
    expect(await run.exited).toBe(1);
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(run.output()).toContain('Kafka broker address no-such-broker.invalid:9092: host name not found');
  });

  it('refuses a broker address that is not host:port with exit code 2', async () => {
    const run = startService(name, { KAFKA_BROKERS: 'localhost' });
    expect(await run.exited).toBe(2);
    expect(run.output()).toContain('KAFKA_BROKERS="localhost": "localhost" is not host:port');
  });
});

describe('KAFKA_CREATE_TOPICS=false (a managed cluster)', () => {
  it('the ingester stops naming the topics it would have created', async () => {
    const interactions = uniqueName('managed-events');
    const deadLetters = uniqueName('managed-dlq');
    const run = startService('ingester', {
      KAFKA_BROKERS: testBrokers().join(','),
      HTTP_PORT: '0',
      KAFKA_CREATE_TOPICS: 'false',
      INTERACTIONS_TOPIC: interactions,
      DEAD_LETTER_TOPIC: deadLetters,
    });
    expect(await run.exited).toBe(1);
    expect(run.output()).toContain(
      `topics ${interactions}, ${deadLetters} missing and KAFKA_CREATE_TOPICS=false: create them on the cluster first`,
    );
    const admin = testKafka().admin();
    await admin.connect();
    try {
      expect(await admin.listTopics()).not.toContain(interactions);
    } finally {
      await admin.disconnect();
    }
  });

  it('the trainer starts when the topic it writes exists', async () => {
    const topic = uniqueName('managed-models');
    const admin = testKafka().admin();
    await admin.connect();
    await ensureTopics(admin, [{ topic, partitions: 1 }]);
    await admin.disconnect();
    const port = await freePort();
    const run = startService('trainer', {
      KAFKA_BROKERS: testBrokers().join(','),
      HTTP_PORT: String(port),
      KAFKA_CREATE_TOPICS: 'false',
      MODEL_UPDATES_TOPIC: topic,
      TRAIN_AT_STARTUP: 'false',
    });
    try {
      await waitFor(`http://127.0.0.1:${port}/healthz`, run);
    } finally {
      run.child.kill('SIGTERM');
    }
    expect(await run.exited).toBe(0);
  });
});

describe('the scorer’s cross-field configuration checks', () => {
  it('refuses DEFAULT_K above MAX_K with exit code 2 and the rule', async () => {
    const run = startService('scorer', { DEFAULT_K: '50', MAX_K: '20' });
    expect(await run.exited).toBe(2);
    expect(run.output()).toContain('DEFAULT_K="50": must satisfy DEFAULT_K ≤ MAX_K');
  });
});

describe('the scorer and the interactions topic', () => {
  it('does not create it, and follows it once the ingester (here the test) has', async () => {
    const topic = uniqueName('scorer-follows');
    const port = await freePort();
    const run = startService('scorer', {
      KAFKA_BROKERS: testBrokers().join(','),
      HTTP_PORT: String(port),
      INTERACTIONS_TOPIC: topic,
      RECOMMENDATIONS_TOPIC: uniqueName('scorer-follows-recs'),
      MODEL_UPDATES_TOPIC: uniqueName('scorer-follows-models'),
      CONSUMER_GROUP: uniqueName('scorer-follows-group'),
    });
    const admin = testKafka().admin();
    await admin.connect();
    try {
      await waitFor(`http://127.0.0.1:${port}/healthz`, run);
      const following = async () =>
        ((await (await fetch(`http://127.0.0.1:${port}/readyz`)).json()) as { interactionsConsumer: boolean })
          .interactionsConsumer;
      await until(async () => (run.output().includes('waiting for the interactions topic') ? true : undefined), run);
      expect(await admin.listTopics()).not.toContain(topic);
      expect(await following()).toBe(false);
      await ensureTopics(admin, [{ topic, partitions: 3 }]);
      await until(async () => ((await following()) ? true : undefined), run, 60_000);
      const [metadata] = (await admin.fetchTopicMetadata({ topics: [topic] })).topics;
      expect(metadata?.partitions).toHaveLength(3);
    } finally {
      await admin.disconnect();
      run.child.kill('SIGTERM');
    }
    expect(await run.exited).toBe(0);
  });
});
