import { z } from 'zod';
import { PncfError } from './errors.js';

/** Thrown when the environment does not satisfy a service's config schema; lists every bad variable. Not retriable. */
export class ConfigError extends PncfError {
  static readonly code = 'CONFIG_INVALID';
  constructor(
    readonly service: string,
    readonly problems: string[],
  ) {
    super(ConfigError.code, `invalid configuration for ${service}:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

export type EnvSchema = z.ZodObject<z.ZodRawShape>;

/**
 * Parse a service's configuration from environment variables. The schema's keys ARE the variable names,
 * so the schema doubles as the documentation (see describeConfig) and as the contract docker-compose is
 * checked against.
 */
export function loadConfig<S extends EnvSchema>(
  service: string,
  schema: S,
  env: NodeJS.ProcessEnv = process.env,
): z.infer<S> {
  const picked: Record<string, string | undefined> = {};
  for (const key of Object.keys(schema.shape)) {
    const value = env[key];
    // An empty variable means "use the default", as docker-compose and shells commonly produce them.
    picked[key] = value === '' ? undefined : value;
  }
  const result = schema.safeParse(picked);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => {
      const key = issue.path.join('.');
      return `${key}=${JSON.stringify(picked[key] ?? null)}: ${issue.message}`;
    });
    throw new ConfigError(service, problems);
  }
  return result.data;
}

export interface ConfigVariable {
  name: string;
  default: string | undefined;
  description: string;
}

/** The variables of a schema with their defaults and descriptions, for --help output and the README. */
export function describeConfig(schema: EnvSchema): ConfigVariable[] {
  return Object.entries(schema.shape).map(([name, field]) => {
    const type = field as z.ZodType;
    const parsed = type.safeParse(undefined);
    let defaultValue: string | undefined;
    if (parsed.success && parsed.data !== undefined) {
      defaultValue = Array.isArray(parsed.data) ? parsed.data.join(',') : String(parsed.data);
    }
    return { name, default: defaultValue, description: type.description ?? '' };
  });
}

/** Building blocks shared by the service schemas, so each variable is parsed one way everywhere. */
export const env = {
  port: (fallback: number, description: string) =>
    z.coerce.number().int().min(0).max(65535).default(fallback).describe(description),
  positiveInt: (fallback: number, description: string) =>
    z.coerce.number().int().positive().default(fallback).describe(description),
  /** A count where 0 switches the feature off. */
  nonNegativeInt: (fallback: number, description: string) =>
    z.coerce.number().int().min(0).default(fallback).describe(description),
  string: (fallback: string, description: string) => z.string().min(1).default(fallback).describe(description),
  list: (fallback: string, description: string) =>
    z
      .string()
      .default(fallback)
      .transform((value) =>
        value
          .split(',')
          .map((part) => part.trim())
          .filter((part) => part.length > 0),
      )
      .pipe(z.array(z.string()).min(1, 'needs at least one entry'))
      .describe(description),
  /** true/false/1/0, so a docker-compose or shell value is never ambiguous. */
  flag: (fallback: boolean, description: string) =>
    z
      .enum(['true', 'false', '1', '0'])
      .default(fallback ? 'true' : 'false')
      .transform((value) => value === 'true' || value === '1')
      .describe(description),
  /** The same values as @pncf/evaluation's TF_BACKEND_CHOICES (tf-backend.test.ts keeps them equal). */
  tfBackend: () =>
    z
      .enum(['auto', 'tensorflow', 'wasm', 'cpu'])
      .default('auto')
      .describe(
        'TensorFlow.js backend: auto (tfjs-node when `npm run tfjs-node:setup` built it, else wasm), or one of tensorflow, wasm, cpu (an error if it cannot load)',
      ),
  logLevel: () =>
    z
      .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
      .default('info')
      .describe('Log level of the JSON logs on stdout'),
};

/** Variables every service reads. */
export const commonConfigShape = {
  KAFKA_BROKERS: env.list('127.0.0.1:9092', 'Comma-separated Kafka bootstrap brokers (host:port)'),
  LOG_LEVEL: env.logLevel(),
  HTTP_HOST: env.string(
    '127.0.0.1',
    'Address the HTTP server (health, metrics, API) binds to; only this machine can reach it unless set to another (0.0.0.0: every interface)',
  ),
  RATE_LIMIT_MAX: env.nonNegativeInt(
    1000,
    'Requests one client address may make per RATE_LIMIT_WINDOW_MS to the service’s own routes (429 beyond it; /healthz, /readyz, /metrics exempt); 0: no limit',
  ),
  RATE_LIMIT_WINDOW_MS: env.positiveInt(1000, 'Window of RATE_LIMIT_MAX'),
  MAX_EVENT_LOOP_DELAY_MS: env.nonNegativeInt(
    1000,
    'Mean event-loop delay over a second above which the service’s own routes answer 503 with Retry-After (/healthz, /readyz, /metrics exempt); 0: off',
  ),
  RETRY_AFTER_S: env.positiveInt(10, 'Retry-After of the 503 answered under event-loop pressure'),
};

/** The HTTP protection the common variables configure (the runtime's HttpProtection). */
export function httpProtectionOf(config: {
  RATE_LIMIT_MAX: number;
  RATE_LIMIT_WINDOW_MS: number;
  MAX_EVENT_LOOP_DELAY_MS: number;
  RETRY_AFTER_S: number;
}) {
  return {
    rateLimitMax: config.RATE_LIMIT_MAX,
    rateLimitWindowMs: config.RATE_LIMIT_WINDOW_MS,
    maxEventLoopDelayMs: config.MAX_EVENT_LOOP_DELAY_MS,
    retryAfterS: config.RETRY_AFTER_S,
  };
}

const LOOPBACK_HOSTS = new Set(['127.0.0.1', '::1', 'localhost']);

/** Whether a bind address keeps the server reachable from this machine only. */
export function isLoopbackHost(host: string): boolean {
  return LOOPBACK_HOSTS.has(host) || /^127\.\d+\.\d+\.\d+$/.test(host);
}
