import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify';
import { collectDefaultMetrics, Registry } from 'prom-client';
import type { Logger } from './logger.js';

export interface HealthReport {
  ok: boolean;
  [detail: string]: unknown;
}

export interface HttpServerOptions {
  service: string;
  logger: Logger;
  /** Liveness: the process works. Defaults to always ok. */
  health?: () => HealthReport | Promise<HealthReport>;
  /** Readiness: the service can do its job (e.g. a model is loaded). Defaults to health. */
  ready?: () => HealthReport | Promise<HealthReport>;
}

export interface HttpServer {
  app: FastifyInstance;
  /** The prom-client registry /metrics serves. */
  metricsRegistry: Registry;
  listen(host: string, port: number): Promise<string>;
  close(): Promise<void>;
}

/**
 * One HTTP server per service: /healthz, /readyz and /metrics, on which services add their own routes.
 * Each server gets its own prom-client registry so tests can run several services in one process.
 */
export function createHttpServer(options: HttpServerOptions): HttpServer {
  const metricsRegistry = new Registry();
  metricsRegistry.setDefaultLabels({ service: options.service });
  collectDefaultMetrics({ register: metricsRegistry });

  const app: FastifyInstance = Fastify({
    loggerInstance: options.logger.child({ component: 'http' }) as FastifyBaseLogger,
    // Per-request lines would drown the logs under Prometheus scrapes and API load; metrics cover requests.
    logController: new LogController({ disableRequestLogging: true }),
  });
  const health = options.health ?? (() => ({ ok: true }));
  const ready = options.ready ?? health;

  app.get('/healthz', async (_request, reply) => {
    const report = await health();
    return reply.code(report.ok ? 200 : 503).send(report);
  });
  app.get('/readyz', async (_request, reply) => {
    const report = await ready();
    return reply.code(report.ok ? 200 : 503).send(report);
  });
  app.get('/metrics', async (_request, reply) => {
    const body = await metricsRegistry.metrics();
    return reply.header('content-type', metricsRegistry.contentType).send(body);
  });

  return {
    app,
    metricsRegistry,
    listen: (host, port) => app.listen({ host, port }),
    close: () => app.close(),
  };
}
