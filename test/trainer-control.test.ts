import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { testBrokers, trainerDeployment, uniqueName } from './support/kafka.js';
import { type ServiceProcess, spawnService, stopService, waitForHttp, waitForOutput } from './support/services.js';

const TOKEN = 'c0ffee0123456789c0ffee0123456789';

/** The trainer process as it runs in production, its POST /train guarded as configured. */
describe('trainer control endpoint (POST /train) on the real service', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'pncf-trainer-control-'));
  const started: ServiceProcess[] = [];
  const trainer = async (env: Record<string, string>) => {
    const service = await spawnService('trainer', {
      KAFKA_BROKERS: testBrokers().join(','),
      LOG_LEVEL: 'info',
      MODEL_UPDATES_TOPIC: uniqueName('control-models'),
      ...trainerDeployment('control'),
      // No store: a run that starts is skipped at once, so the test exercises the endpoint only.
      STORE_PATH: path.join(root, 'store'),
      MODEL_DIR: path.join(root, 'models'),
      TRAIN_AT_STARTUP: 'false',
      ...env,
    });
    started.push(service);
    await waitForHttp(service, '/healthz');
    return service;
  };
  const train = (service: ServiceProcess, authorization?: string) =>
    fetch(`${service.url}/train`, { method: 'POST', headers: authorization ? { authorization } : {} });

  afterAll(async () => {
    await Promise.all(started.map((service) => stopService(service)));
    fs.rmSync(root, { recursive: true, force: true });
  });

  it('with CONTROL_TOKEN: 401 without or with malformed credentials, 403 when wrong, 202 with it, then 429', {
    timeout: 120_000,
  }, async () => {
    const service = await trainer({ CONTROL_TOKEN: TOKEN, RATE_LIMIT_MAX: '5', RATE_LIMIT_WINDOW_MS: '60000' });
    expect((await train(service)).status).toBe(401);
    expect((await train(service, `Basic ${TOKEN}`)).status).toBe(401);
    expect((await train(service, 'Bearer 0000000000000000000000000000000')).status).toBe(403);
    const accepted = await train(service, `Bearer ${TOKEN}`);
    expect(accepted.status).toBe(202);
    expect(await accepted.json()).toMatchObject({ accepted: true });
    await waitForOutput(service, /training run skipped/);
    expect((await train(service, `Bearer ${TOKEN}`)).status).toBe(202);
    // The sixth request in the window, the right token notwithstanding.
    const limited = await train(service, `Bearer ${TOKEN}`);
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).not.toBeNull();
    expect((await fetch(`${service.url}/metrics`)).status).toBe(200);
  });

  it('without CONTROL_TOKEN: open on a loopback address, refused on every interface', {
    timeout: 120_000,
  }, async () => {
    const local = await trainer({});
    expect((await train(local)).status).toBe(202);

    const exposed = await trainer({ HTTP_HOST: '0.0.0.0' });
    const refused = await train(exposed);
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as { message: string }).message).toContain('CONTROL_TOKEN');
    expect(exposed.output()).toMatch(/POST \/train is refused/);
  });
});
