import rateLimit from '@fastify/rate-limit';
import underPressure from '@fastify/under-pressure';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  LogController,
} from 'fastify';
import { collectDefaultMetrics, Registry } from 'prom-client';
import type { Logger } from './logger.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** @fastify/under-pressure reads it per route (its types do not declare it); returning nothing lets the request in. */
    pressureHandler?: (request: FastifyRequest, reply: FastifyReply, type: string, value: number | undefined) => void;
  }
}

export interface HealthReport {
  ok: boolean;
  [detail: string]: unknown;
}

/** Limits on every route a service adds; /healthz, /readyz and /metrics are exempt (see createHttpServer). */
export interface HttpProtection {
  /** Requests one client address may make per window (429 beyond it); 0: no limit. */
  rateLimitMax: number;
  rateLimitWindowMs: number;
  /** Mean event-loop delay over a sample interval above which requests get 503 with Retry-After; 0: off. */
  maxEventLoopDelayMs: number;
  /** Seconds the Retry-After header of such a 503 asks clients to wait. */
  retryAfterS: number;
  /** How often the event-loop delay is sampled (under-pressure's default, 1 s, unless set). */
  sampleIntervalMs?: number;
}

export const NO_PROTECTION: HttpProtection = {
  rateLimitMax: 0,
  rateLimitWindowMs: 1000,
  maxEventLoopDelayMs: 0,
  retryAfterS: 10,
};

export interface HttpServerOptions {
  service: string;
  logger: Logger;
  /** Liveness: the process works. Defaults to always ok. */
  health?: () => HealthReport | Promise<HealthReport>;
  /** Readiness: the service can do its job (e.g. a model is loaded). Defaults to health. */
  ready?: () => HealthReport | Promise<HealthReport>;
  /** Rate limit and back-pressure of the service's own routes; none when absent. */
  protection?: HttpProtection;
}

export interface HttpServer {
  app: FastifyInstance;
  /** The prom-client registry /metrics serves. */
  metricsRegistry: Registry;
  listen(host: string, port: number): Promise<string>;
  close(): Promise<void>;
}

// Probes and scrapes must answer exactly when the service is busy: a 429 or 503 there would read as "down".
const OPERATIONS_ROUTE = { config: { rateLimit: false as const, pressureHandler: () => undefined } };

/**
 * One HTTP server per service: /healthz, /readyz and /metrics, on which services add their own routes (after this
 * resolves: the rate limit only applies to routes declared once it is registered).
 * Each server gets its own prom-client registry so tests can run several services in one process.
 */
export async function createHttpServer(options: HttpServerOptions): Promise<HttpServer> {
  const metricsRegistry = new Registry();
  metricsRegistry.setDefaultLabels({ service: options.service });
  collectDefaultMetrics({ register: metricsRegistry });

  const app: FastifyInstance = Fastify({
    loggerInstance: options.logger.child({ component: 'http' }) as FastifyBaseLogger,
    // Per-request lines would drown the logs under Prometheus scrapes and API load; metrics cover requests.
    logController: new LogController({ disableRequestLogging: true }),
  });
  const protection = options.protection ?? NO_PROTECTION;
  if (protection.rateLimitMax > 0) {
    await app.register(rateLimit, { max: protection.rateLimitMax, timeWindow: protection.rateLimitWindowMs });
  }
  if (protection.maxEventLoopDelayMs > 0) {
    await app.register(underPressure, {
      maxEventLoopDelay: protection.maxEventLoopDelayMs,
      retryAfter: protection.retryAfterS,
      ...(protection.sampleIntervalMs === undefined ? {} : { sampleInterval: protection.sampleIntervalMs }),
    });
  }
  const health = options.health ?? (() => ({ ok: true }));
  const ready = options.ready ?? health;

  app.get('/healthz', OPERATIONS_ROUTE, async (_request, reply) => {
    const report = await health();
    return reply.code(report.ok ? 200 : 503).send(report);
  });
  app.get('/readyz', OPERATIONS_ROUTE, async (_request, reply) => {
    const report = await ready();
    return reply.code(report.ok ? 200 : 503).send(report);
  });
  app.get('/metrics', OPERATIONS_ROUTE, async (_request, reply) => {
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
