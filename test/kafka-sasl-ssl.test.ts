import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { parseModelUpdated, parseRecommendation, type Recommendation } from '@pncf/events';
import { ingesterConfigSchema } from '@pncf/ingester/config';
import { createTestCertificates, freePort, type StartedBroker, startBroker } from '@pncf/kafka-local';
import {
  createKafka,
  type KafkaSecurity,
  KafkaSecurityError,
  kafkaSecurity,
  loadConfig,
  probeKafka,
} from '@pncf/runtime';
import { InteractionStore } from '@pncf/store';
import { AuthorTagGenerator, scaledOptions, streamEvents } from '@pncf/synthetic';
import type { Consumer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uniqueName } from './support/kafka.js';
import { repoRoot, type ServiceProcess, spawnService, stopService, waitForHttp } from './support/services.js';

const EVENTS = 8000;
const SCRAM_USER = { name: 'pncf-services', password: 'scram-secret-1', mechanism: 'SCRAM-SHA-512' } as const;
const PLAIN_USER = { name: 'pncf-scorer', password: 'plain-secret-2' };

const execCli = promisify(execFile);

/** The security a process builds from these variables, exactly as the services do. */
const securityOf = (env: Record<string, string>): KafkaSecurity =>
  kafkaSecurity(loadConfig('test', ingesterConfigSchema, env));

/**
 * The pipeline through a broker that only the test's certificate authority vouches for, with SCRAM users the
 * test creates: pncf replay produces, the ingester counts, the trainer trains and announces, the scorer serves,
 * each over SASL_SSL; the plaintext listener beside it is the broker's own (controller, probe).
 */
describe('Kafka over SASL_SSL (a broker with a certificate and users made by the test)', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'pncf-sasl-ssl-'));
  let broker: StartedBroker;
  let base: Record<string, string>;
  let scramEnv: Record<string, string>;
  let plainEnv: Record<string, string>;
  let certificates: ReturnType<typeof createTestCertificates>;
  const services: ServiceProcess[] = [];
  const consumers: Consumer[] = [];

  beforeAll(async () => {
    certificates = createTestCertificates(path.join(root, 'certificates'));
    broker = await startBroker({
      stateDir: path.join(root, 'broker'),
      port: await freePort(),
      controllerPort: await freePort(),
      fresh: true,
      secure: {
        saslSslPort: await freePort(),
        mutualTlsPort: await freePort(),
        keystorePemFile: certificates.brokerKeystoreFile,
        truststorePemFile: certificates.caFile,
        scramUsers: [SCRAM_USER],
        plainUsers: [PLAIN_USER],
      },
    });
    const passwordFile = path.join(root, 'scram-password');
    fs.writeFileSync(passwordFile, `${SCRAM_USER.password}\n`, { mode: 0o600 });
    base = {
      KAFKA_BROKERS: broker.secure!.saslSsl.join(','),
      KAFKA_SECURITY_PROTOCOL: 'SASL_SSL',
      KAFKA_SSL_CA_FILE: certificates.caFile,
      LOG_LEVEL: 'info',
      INTERACTIONS_TOPIC: uniqueName('secure-events'),
      DEAD_LETTER_TOPIC: uniqueName('secure-dlq'),
      MODEL_UPDATES_TOPIC: uniqueName('secure-models'),
      RECOMMENDATIONS_TOPIC: uniqueName('secure-recs'),
      STORE_PATH: path.join(root, 'store'),
      MODEL_DIR: path.join(root, 'models'),
    };
    scramEnv = {
      ...base,
      KAFKA_SASL_MECHANISM: 'SCRAM-SHA-512',
      KAFKA_SASL_USERNAME: SCRAM_USER.name,
      KAFKA_SASL_PASSWORD_FILE: passwordFile,
    };
    plainEnv = {
      ...base,
      KAFKA_SASL_MECHANISM: 'PLAIN',
      KAFKA_SASL_USERNAME: PLAIN_USER.name,
      KAFKA_SASL_PASSWORD: PLAIN_USER.password,
    };
  }, 180_000);

  afterAll(async () => {
    for (const consumer of consumers) await consumer.disconnect().catch(() => undefined);
    for (const service of services) await stopService(service);
    await broker?.stop();
    fs.rmSync(root, { recursive: true, force: true });
  });

  async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs: number) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = await probe();
      if (value !== undefined) return value;
      if (Date.now() > deadline) {
        const logs = services.map((service) => `--- ${service.name}\n${service.output().slice(-4000)}`).join('\n');
        throw new Error(`timed out waiting for ${what}\n${logs}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }

  /** Everything a topic receives from its start, read over SASL_SSL as the SCRAM user. */
  async function follow(topic: string): Promise<Buffer[]> {
    const values: Buffer[] = [];
    const consumer = createKafka({
      brokers: broker.secure!.saslSsl,
      clientId: 'pncf-test-watch',
      security: securityOf(scramEnv),
    }).consumer({ groupId: uniqueName('secure-watch') });
    consumers.push(consumer);
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({ eachMessage: async ({ message }) => void (message.value && values.push(message.value)) });
    return values;
  }

  it('replays events, ingests, trains and serves a recommendation, every client on SASL_SSL', {
    timeout: 420_000,
  }, async () => {
    const ingester = await spawnService('ingester', { ...scramEnv, CONSUMER_GROUP: uniqueName('secure-ingest') });
    services.push(ingester);
    await waitForHttp(ingester, '/readyz', 90_000);

    // The pncf command, configured by the same variables: a generated author-tag slice as a user,item file.
    const stream = new AuthorTagGenerator(scaledOptions(EVENTS, 3)).generate();
    const events = [...streamEvents(stream)];
    const file = path.join(root, 'events.csv');
    fs.writeFileSync(file, `${events.map((event) => `${event.user},${event.item}`).join('\n')}\n`);
    const replay = await execCli(
      process.execPath,
      [
        '--import',
        'tsx',
        path.join(repoRoot, 'packages/cli/src/main.ts'),
        'replay',
        '--file',
        file,
        '--format',
        'generic',
        '--topic',
        base.INTERACTIONS_TOPIC!,
        '--brokers',
        base.KAFKA_BROKERS!,
      ],
      { cwd: repoRoot, env: { ...process.env, ...scramEnv } },
    );
    expect(replay.stdout).toContain(`replayed ${events.length} events`);

    const stored = await until(
      'the store to count every replayed event',
      async () => {
        if (!fs.existsSync(path.join(base.STORE_PATH!, 'data.mdb'))) return undefined;
        const store = InteractionStore.open({ path: base.STORE_PATH!, readOnly: true });
        const total = store.stats().total;
        await store.close();
        return total === events.length ? total : undefined;
      },
      120_000,
    );
    expect(stored).toBe(events.length);

    const trainer = await spawnService('trainer', {
      ...scramEnv,
      TRAIN_INTERVAL_S: '0',
      TRAIN_MIN_NEW_INTERACTIONS: '0',
      TRAIN_AT_STARTUP: 'false',
      TRAIN_TOWER_EPOCHS: '2',
      TRAIN_W2V_EPOCHS: '1',
      TRAIN_REFIT_ALL: 'false',
    });
    const scorer = await spawnService('scorer', {
      ...plainEnv,
      CONSUMER_GROUP: uniqueName('secure-scorer'),
      MODEL_POLL_MS: '1000',
    });
    services.push(trainer, scorer);
    await waitForHttp(trainer, '/readyz', 120_000);
    await waitForHttp(scorer, '/healthz', 120_000);
    const announcements = await follow(base.MODEL_UPDATES_TOPIC!);
    const recommendations = await follow(base.RECOMMENDATIONS_TOPIC!);

    const accepted = await until(
      'the trainer to accept POST /train',
      async () => {
        const response = await fetch(`${trainer.url}/train`, { method: 'POST' });
        return response.status === 202 ? response.status : undefined;
      },
      60_000,
    );
    expect(accepted).toBe(202);
    const announced = parseModelUpdated(await until('a model-updated event', () => announcements[0], 300_000));
    expect(announced.version).toBe('v000001');

    const published = await until(
      'a recommendation of the new model on the topic',
      () =>
        recommendations.map((value) => parseRecommendation(value)).find((r) => r.modelVersion === announced.version),
      120_000,
    );
    expect(published.items.length).toBeGreaterThan(0);
    const response = await fetch(`${scorer.url}/recommendations/${encodeURIComponent(published.user)}?k=5`);
    expect(response.status).toBe(200);
    const served = (await response.json()) as Recommendation;
    expect(served.modelVersion).toBe(announced.version);
    expect(served.items).toHaveLength(5);
  });

  it('a wrong password stops a service within seconds, saying SASL authentication failed', async () => {
    const started = Date.now();
    const ingester = await spawnService('ingester', {
      ...base,
      KAFKA_SASL_MECHANISM: 'SCRAM-SHA-512',
      KAFKA_SASL_USERNAME: SCRAM_USER.name,
      KAFKA_SASL_PASSWORD: 'not-the-password',
      CONSUMER_GROUP: uniqueName('secure-wrong'),
    });
    services.push(ingester);
    expect(await ingester.exited).toBe(1);
    const seconds = (Date.now() - started) / 1000;
    console.log(`wrong password: the ingester stopped after ${seconds.toFixed(1)} s`);
    expect(seconds).toBeLessThan(20);
    expect(ingester.output()).toContain('SASL authentication failed');
    expect(ingester.output()).toContain(`SCRAM-SHA-512 as ${SCRAM_USER.name}`);
    expect(ingester.output()).not.toContain('not-the-password');
  });

  it('a SASL mechanism without a user name is a configuration error (exit 2) before any connection', async () => {
    const scorer = await spawnService('scorer', { ...base, KAFKA_SASL_MECHANISM: 'PLAIN', KAFKA_SASL_PASSWORD: 'x' });
    services.push(scorer);
    expect(await scorer.exited).toBe(2);
    expect(scorer.output()).toContain('KAFKA_SASL_USERNAME=null: must satisfy KAFKA_SASL_USERNAME set with');
  });

  it('mutual TLS: a client certificate signed by the CA is let in, a client without one is refused at once', async () => {
    const mutualTls = {
      KAFKA_BROKERS: broker.secure!.mutualTls!.join(','),
      KAFKA_SECURITY_PROTOCOL: 'SSL',
      KAFKA_SSL_CA_FILE: certificates.caFile,
    };
    const withCertificate = securityOf({
      ...mutualTls,
      KAFKA_SSL_CERT_FILE: certificates.clientCertFile,
      KAFKA_SSL_KEY_FILE: certificates.clientKeyFile,
    });
    const kafka = createKafka({
      brokers: broker.secure!.mutualTls!,
      clientId: 'pncf-test-mtls',
      security: withCertificate,
    });
    const admin = kafka.admin();
    await admin.connect();
    const topic = uniqueName('secure-mtls');
    try {
      await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
      const producer = kafka.producer({ allowAutoTopicCreation: false });
      await producer.connect();
      await producer.send({ topic, acks: -1, messages: [{ key: 'u', value: 'over mutual TLS' }] });
      await producer.disconnect();
      const [offsets] = await admin.fetchTopicOffsets(topic);
      expect(offsets?.high).toBe('1');
    } finally {
      await admin.disconnect();
    }
    const error = await probeKafka(broker.secure!.mutualTls!, 3000, securityOf(mutualTls)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KafkaSecurityError);
    expect((error as Error).message).toMatch(/TLS handshake failed/);
  });
});
