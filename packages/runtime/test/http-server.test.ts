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
    server = await createHttpServer({
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

describe('createHttpServer protection over real HTTP', () => {
  let server: HttpServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('answers 429 beyond the rate limit on service routes, never on /healthz, /readyz and /metrics', async () => {
    server = await createHttpServer({
      service: 'probe',
      logger: createLogger('probe', 'silent'),
      protection: { rateLimitMax: 3, rateLimitWindowMs: 60_000, maxEventLoopDelayMs: 0, retryAfterS: 10 },
    });
    server.app.get('/work', async () => ({ ok: true }));
    const base = await server.listen('127.0.0.1', 0);

    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await fetch(`${base}/work`)).status);
    expect(statuses).toEqual([200, 200, 200, 429]);
    const limited = await fetch(`${base}/work`);
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    for (let i = 0; i < 5; i++) {
      for (const route of ['/healthz', '/readyz', '/metrics'])
        expect((await fetch(`${base}${route}`)).status).toBe(200);
    }
  });

  it('answers 503 with Retry-After while the event loop lags, except on the operations routes', {
    timeout: 20_000,
  }, async () => {
    server = await createHttpServer({
      service: 'probe',
      logger: createLogger('probe', 'silent'),
      protection: {
        rateLimitMax: 0,
        rateLimitWindowMs: 1000,
        maxEventLoopDelayMs: 20,
        retryAfterS: 7,
        sampleIntervalMs: 1000,
      },
    });
    server.app.get('/work', async () => ({ ok: true }));
    const base = await server.listen('127.0.0.1', 0);
    expect((await fetch(`${base}/work`)).status).toBe(200);

    // Block the loop for 3 s: the sample taken when it is free again averages a 3 s delay with the ~100 samples
    // of 10 ms before it (mean ≈ 40 ms, above 20), and holds until the next sample a second later.
    const until = Date.now() + 3000;
    while (Date.now() < until) {
      // busy: the event loop lags
    }
    await new Promise((resolve) => setImmediate(resolve));
    const pressed = await fetch(`${base}/work`);
    expect(pressed.status).toBe(503);
    expect(pressed.headers.get('retry-after')).toBe('7');
    expect((await fetch(`${base}/metrics`)).status).toBe(200);
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
  });
});
