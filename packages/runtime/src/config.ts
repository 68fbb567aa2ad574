import { z } from 'zod';
import { PncfError } from './errors.js';
import { kafkaSecurityConfigShape } from './kafka-security.js';

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
  /** What the variable accepts, e.g. "one of auto, wasm" or "integer 0–65535"; empty for free text. */
  allowed: string;
}

/** A rule between two variables of one schema, checked at start-up like the variables themselves. */
export interface CrossCheck<T> {
  /** How the rule reads in `pncf config`, e.g. "DEFAULT_K ≤ MAX_K". */
  rule: string;
  /** The variable the complaint names. */
  variable: keyof T & string;
  holds(config: T): boolean;
}

/**
 * A consumer group's heartbeat must come more often than its session lasts, or the broker drops the member between
 * two heartbeats: the rule for a pair of such variables.
 */
export function heartbeatWithinSession<H extends string, S extends string>(
  heartbeat: H,
  session: S,
): CrossCheck<Record<H | S, number>> {
  return {
    rule: `${heartbeat} < ${session}`,
    variable: heartbeat,
    holds: (config) => config[heartbeat] < config[session],
  };
}

const crossChecksOf = new WeakMap<EnvSchema, readonly CrossCheck<never>[]>();

/**
 * The schema with rules between its variables: loadConfig reports a broken rule as it reports a bad variable
 * (every problem at once, exit 2), and describeCrossChecks lists the rules for `pncf config`.
 */
export function withCrossChecks<S extends EnvSchema>(schema: S, checks: CrossCheck<z.infer<S>>[]): S {
  const checked = schema.superRefine((config, context) => {
    for (const check of checks) {
      if (!check.holds(config as z.infer<S>)) {
        context.addIssue({ code: 'custom', path: [check.variable], message: `must satisfy ${check.rule}` });
      }
    }
  }) as S;
  crossChecksOf.set(checked, checks as CrossCheck<never>[]);
  return checked;
}

/** The rules withCrossChecks attached to a schema. */
export function describeCrossChecks(schema: EnvSchema): string[] {
  return (crossChecksOf.get(schema) ?? []).map((check) => check.rule);
}

/** What a field accepts, read from the zod type itself so the description cannot drift from the check. */
function allowedValues(type: z.ZodType): string {
  const def = (type as { def: { type: string; innerType?: z.ZodType; in?: z.ZodType; out?: z.ZodType } }).def;
  if (def.type === 'default' || def.type === 'optional') return allowedValues(def.innerType as z.ZodType);
  if (def.type === 'pipe') {
    const out = (def.out as { def: { type: string } }).def.type;
    return out === 'array' ? 'comma-separated list' : allowedValues(def.in as z.ZodType);
  }
  if (def.type === 'enum') return `one of ${(type as z.ZodEnum).options.join(', ')}`;
  if (def.type === 'number') {
    // The checks as written (min, gt, max), not minValue/maxValue: those cannot tell > 0 from ≥ 0.
    const checks = (type as z.ZodNumber).def.checks ?? [];
    const bounds = checks.map(
      (check) =>
        (check as { _zod: { def: { check: string; value?: number; inclusive?: boolean; format?: string } } })._zod.def,
    );
    const integer = bounds.some((bound) => bound.format === 'safeint');
    const parts: string[] = [];
    for (const bound of bounds) {
      if (bound.check === 'greater_than') parts.push(`${bound.inclusive ? '≥' : '>'} ${bound.value}`);
      if (bound.check === 'less_than') parts.push(`${bound.inclusive ? '≤' : '<'} ${bound.value}`);
    }
    return [integer ? 'integer' : 'number', ...parts].join(' ');
  }
  return '';
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
    return { name, default: defaultValue, description: type.description ?? '', allowed: allowedValues(type) };
  });
}

/** host:port, the port 1–65535; a bracketed IPv6 address is accepted as host. */
const BROKER_ADDRESS = /^(\[[0-9a-fA-F:.]+\]|[^\s:,[\]]+):([1-9]\d{0,4})$/;

/** Why a bootstrap broker address is unusable, or undefined when it is a host:port. */
export function brokerAddressProblem(address: string): string | undefined {
  const match = BROKER_ADDRESS.exec(address);
  if (!match) return `"${address}" is not host:port`;
  if (Number(match[2]) > 65535) return `"${address}": port ${match[2]} is above 65535`;
  return undefined;
}

/** Building blocks shared by the service schemas, so each variable is parsed one way everywhere. */
/** The entries of a comma-separated value, trimmed, empty ones dropped. */
const commaSeparated = (value: string): string[] =>
  value
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part.length > 0);

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
      .transform(commaSeparated)
      .pipe(z.array(z.string()).min(1, 'needs at least one entry'))
      .describe(description),
  /** Kafka bootstrap addresses, each host:port, so a typo fails at start-up instead of after connection retries. */
  brokers: (fallback: string, description: string) =>
    z
      .string()
      .default(fallback)
      .transform(commaSeparated)
      .pipe(
        z
          .array(z.string())
          .min(1, 'needs at least one entry')
          .superRefine((addresses, context) => {
            for (const address of addresses) {
              const problem = brokerAddressProblem(address);
              if (problem) context.addIssue({ code: 'custom', message: problem });
            }
          }),
      )
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
  KAFKA_BROKERS: env.brokers('127.0.0.1:9092', 'Comma-separated Kafka bootstrap brokers (host:port)'),
  KAFKA_CREATE_TOPICS: env.flag(
    true,
    'Create the topics a service writes when they are missing; false for managed clusters where topics are provisioned (a missing topic then stops the start with its name)',
  ),
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
  // TLS and SASL; schemas that spread this add kafkaSecurityChecks to their withCrossChecks.
  ...kafkaSecurityConfigShape,
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
