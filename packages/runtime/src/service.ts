import type { Registry } from 'prom-client';
import type { z } from 'zod';
import { ConfigError, type EnvSchema, httpProtectionOf, loadConfig } from './config.js';
import { createHttpServer, type HealthReport, type HttpServer } from './http-server.js';
import { createLogger, type Logger } from './logger.js';

export interface ServiceContext<C> {
  config: C;
  logger: Logger;
  /** The prom-client registry of the service's /metrics. */
  metricsRegistry: Registry;
  http: HttpServer;
  /**
   * Start serving HTTP now, with the routes added so far (fastify takes no route after it listens): a service
   * calls it once its routes are in place and before it waits for Kafka, so /healthz answers (200, "starting")
   * and /readyz says 503 during the wait. Called by runService after start() when the service did not.
   */
  listen(): Promise<void>;
  /** What the start is waiting for, shown on /healthz and /readyz until start() resolves. */
  setStarting(step: string): void;
}

export interface RunningService {
  /** Finish in-flight work and release resources; called once on SIGTERM/SIGINT. */
  stop(): Promise<void>;
  health?: () => HealthReport | Promise<HealthReport>;
  ready?: () => HealthReport | Promise<HealthReport>;
}

export interface ServiceDefinition<S extends EnvSchema> {
  name: string;
  schema: S;
  /** The schema's variable that holds the HTTP port. */
  portVariable: keyof z.infer<S> & string;
  start(context: ServiceContext<z.infer<S>>): Promise<RunningService>;
}

/**
 * The lifecycle every service shares: validate config (exit 2 with every problem listed), log JSON,
 * serve /healthz /readyz /metrics, and on SIGTERM/SIGINT stop the work first, then the HTTP server.
 */
export async function runService<S extends EnvSchema>(definition: ServiceDefinition<S>): Promise<void> {
  let config: z.infer<S>;
  try {
    config = loadConfig(definition.name, definition.schema);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  const logger = createLogger(definition.name, String(config.LOG_LEVEL ?? 'info'));
  let running: RunningService | undefined;
  let starting = 'starting';
  // Alive while starting (a liveness probe must not restart a service that waits for Kafka), not ready.
  const http = await createHttpServer({
    service: definition.name,
    logger,
    health: () => running?.health?.() ?? (running ? { ok: true } : { ok: true, starting }),
    ready: () => running?.ready?.() ?? (running ? { ok: true } : { ok: false, starting }),
    // Every service schema spreads commonConfigShape, which declares these variables.
    protection: httpProtectionOf(config as Parameters<typeof httpProtectionOf>[0]),
  });
  let listening: Promise<void> | undefined;
  const listen = () => {
    listening ??= (async () => {
      const port = Number(config[definition.portVariable]);
      const address = await http.listen(String(config.HTTP_HOST ?? '127.0.0.1'), port);
      logger.info({ address }, 'listening');
    })();
    return listening;
  };

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping');
    const forced = setTimeout(() => {
      logger.error('stop took longer than 30 s, exiting');
      process.exit(1);
    }, 30_000);
    forced.unref();
    try {
      await running?.stop();
      await http.close();
      logger.info('stopped');
      process.exit(0);
    } catch (error) {
      logger.error({ err: error }, 'error while stopping');
      process.exit(1);
    }
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));

  try {
    // start() first: services add their own routes, which fastify only accepts before it listens.
    const started = await definition.start({
      config,
      logger,
      metricsRegistry: http.metricsRegistry,
      http,
      listen,
      setStarting: (step) => {
        starting = step;
      },
    });
    await listen();
    running = started;
    logger.info('started');
  } catch (error) {
    logger.fatal({ err: error }, 'failed to start');
    await http.close().catch(() => undefined);
    process.exit(1);
  }
}
