import { Counter } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { createHttpServer, type HttpServer } from '../src/http-server.js';
import { createLogger } from '../src/logger.js';

describe('createHttpServer over real HTTP', () => {
  let server: HttpServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('serves /healthz, /readyz and Prometheus text on /metrics', async () => {
    let ready = false;
    server = createHttpServer({
      service: 'probe',
      logger: createLogger('probe', 'silent'),
      ready: () => ({ ok: ready, model: ready ? 'v1' : null }),
    });
    const requests = new Counter({
      name: 'probe_requests_total',
      help: 'test counter',
      registers: [server.metricsRegistry],
    });
    requests.inc(3);
    const base = await server.listen('127.0.0.1', 0);

    const health = await fetch(`${base}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ ok: true });

    expect((await fetch(`${base}/readyz`)).status).toBe(503);
    ready = true;
    const readyz = await fetch(`${base}/readyz`);
    expect(readyz.status).toBe(200);
    expect(await readyz.json()).toEqual({ ok: true, model: 'v1' });

    const metrics = await fetch(`${base}/metrics`);
    expect(metrics.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await metrics.text();
    expect(text).toContain('probe_requests_total{service="probe"} 3');
    expect(text).toMatch(/process_cpu_user_seconds_total\{service="probe"\} \d/);
  });
});
