import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  brokerAddressProblem,
  ConfigError,
  commonConfigShape,
  describeConfig,
  describeCrossChecks,
  env,
  httpProtectionOf,
  isLoopbackHost,
  loadConfig,
  withCrossChecks,
} from '../src/config.js';

const schema = z.object({
  ...commonConfigShape,
  HTTP_PORT: env.port(9101, 'port'),
  BATCH: env.positiveInt(500, 'batch size'),
});

describe('loadConfig', () => {
  it('applies documented defaults when variables are unset or empty', () => {
    const config = loadConfig('svc', schema, { BATCH: '' });
    expect(config).toEqual({
      KAFKA_BROKERS: ['127.0.0.1:9092'],
      KAFKA_CREATE_TOPICS: true,
      LOG_LEVEL: 'info',
      HTTP_HOST: '127.0.0.1',
      RATE_LIMIT_MAX: 1000,
      RATE_LIMIT_WINDOW_MS: 1000,
      MAX_EVENT_LOOP_DELAY_MS: 1000,
      RETRY_AFTER_S: 10,
      KAFKA_SECURITY_PROTOCOL: 'PLAINTEXT',
      HTTP_PORT: 9101,
      BATCH: 500,
    });
  });

  it('parses lists and numbers from strings', () => {
    const config = loadConfig('svc', schema, { KAFKA_BROKERS: 'a:1, b:2,', HTTP_PORT: '0', BATCH: '7' });
    expect(config.KAFKA_BROKERS).toEqual(['a:1', 'b:2']);
    expect(config.HTTP_PORT).toBe(0);
    expect(config.BATCH).toBe(7);
  });

  it('rejects bad values naming every offending variable at once', () => {
    const attempt = () =>
      loadConfig('svc', schema, { HTTP_PORT: '70000', BATCH: '-3', LOG_LEVEL: 'loud', KAFKA_BROKERS: ' , ' });
    expect(attempt).toThrow(ConfigError);
    try {
      attempt();
    } catch (error) {
      const problems = (error as ConfigError).problems.join('\n');
      for (const name of ['HTTP_PORT="70000"', 'BATCH="-3"', 'LOG_LEVEL="loud"', 'KAFKA_BROKERS']) {
        expect(problems).toContain(name);
      }
      expect((error as ConfigError).message).toMatch(/^invalid configuration for svc/);
    }
  });
});

describe('describeConfig', () => {
  it('lists every variable with its default and description', () => {
    const rows = describeConfig(schema);
    expect(rows.map((row) => row.name)).toEqual([
      'KAFKA_BROKERS',
      'KAFKA_CREATE_TOPICS',
      'LOG_LEVEL',
      'HTTP_HOST',
      'RATE_LIMIT_MAX',
      'RATE_LIMIT_WINDOW_MS',
      'MAX_EVENT_LOOP_DELAY_MS',
      'RETRY_AFTER_S',
      'KAFKA_SECURITY_PROTOCOL',
      'KAFKA_SSL_CA_FILE',
      'KAFKA_SSL_CERT_FILE',
      'KAFKA_SSL_KEY_FILE',
      'KAFKA_SASL_MECHANISM',
      'KAFKA_SASL_USERNAME',
      'KAFKA_SASL_PASSWORD',
      'KAFKA_SASL_PASSWORD_FILE',
      'HTTP_PORT',
      'BATCH',
    ]);
    expect(rows.find((row) => row.name === 'KAFKA_BROKERS')).toEqual({
      name: 'KAFKA_BROKERS',
      default: '127.0.0.1:9092',
      description: 'Comma-separated Kafka bootstrap brokers (host:port)',
      allowed: 'comma-separated list',
    });
    expect(rows.find((row) => row.name === 'BATCH')?.default).toBe('500');
  });

  it('reads the allowed values from the checks themselves', () => {
    const allowed = Object.fromEntries(describeConfig(schema).map((row) => [row.name, row.allowed]));
    expect(allowed).toEqual({
      KAFKA_BROKERS: 'comma-separated list',
      KAFKA_CREATE_TOPICS: expect.stringMatching(/^one of (?=.*true)(?=.*false)/),
      LOG_LEVEL: 'one of fatal, error, warn, info, debug, trace, silent',
      HTTP_HOST: '',
      RATE_LIMIT_MAX: expect.any(String),
      RATE_LIMIT_WINDOW_MS: expect.any(String),
      MAX_EVENT_LOOP_DELAY_MS: expect.any(String),
      RETRY_AFTER_S: expect.any(String),
      KAFKA_SECURITY_PROTOCOL: 'one of PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL',
      KAFKA_SSL_CA_FILE: '',
      KAFKA_SSL_CERT_FILE: '',
      KAFKA_SSL_KEY_FILE: '',
      KAFKA_SASL_MECHANISM: 'one of PLAIN, SCRAM-SHA-256, SCRAM-SHA-512',
      KAFKA_SASL_USERNAME: '',
      KAFKA_SASL_PASSWORD: '',
      KAFKA_SASL_PASSWORD_FILE: '',
      HTTP_PORT: 'integer ≥ 0 ≤ 65535',
      BATCH: 'integer > 0',
    });
  });
});

describe('broker addresses', () => {
  it('accepts host:port, IPv4 and bracketed IPv6, and says what is wrong with anything else', () => {
    for (const good of ['kafka:9092', '10.0.0.7:19092', '[::1]:9092', 'b-1.msk.eu-west-1.amazonaws.com:9096']) {
      expect(brokerAddressProblem(good)).toBeUndefined();
    }
    expect(brokerAddressProblem('kafka')).toBe('"kafka" is not host:port');
    expect(brokerAddressProblem('kafka:0')).toBe('"kafka:0" is not host:port');
    expect(brokerAddressProblem('kafka:99999')).toBe('"kafka:99999": port 99999 is above 65535');
  });

  it('refuses a bad KAFKA_BROKERS entry at load, naming it', () => {
    expect(() => loadConfig('svc', schema, { KAFKA_BROKERS: 'good:9092,localhost' })).toThrow(
      /KAFKA_BROKERS="good:9092,localhost": "localhost" is not host:port/,
    );
  });
});

describe('withCrossChecks', () => {
  const ranged = withCrossChecks(
    z.object({ LOW: env.positiveInt(1, 'low'), HIGH: env.positiveInt(10, 'high'), OTHER: env.positiveInt(3, 'x') }),
    [{ rule: 'LOW ≤ HIGH', variable: 'LOW', holds: (c) => c.LOW <= c.HIGH }],
  );

  it('passes values that satisfy the rule and keeps the variables describable', () => {
    expect(loadConfig('svc', ranged, { LOW: '10' })).toEqual({ LOW: 10, HIGH: 10, OTHER: 3 });
    expect(describeConfig(ranged).map((row) => row.name)).toEqual(['LOW', 'HIGH', 'OTHER']);
    expect(describeCrossChecks(ranged)).toEqual(['LOW ≤ HIGH']);
  });

  it('reports a broken rule like a bad variable, naming the variable and the rule', () => {
    expect(() => loadConfig('svc', ranged, { LOW: '11' })).toThrow(/LOW="11": must satisfy LOW ≤ HIGH/);
  });
});

describe('HTTP settings', () => {
  it('maps the protection variables, 0 switching a protection off', () => {
    const config = loadConfig('svc', schema, { RATE_LIMIT_MAX: '0', MAX_EVENT_LOOP_DELAY_MS: '250' });
    expect(httpProtectionOf(config)).toEqual({
      rateLimitMax: 0,
      rateLimitWindowMs: 1000,
      maxEventLoopDelayMs: 250,
      retryAfterS: 10,
    });
  });

  it('tells loopback bind addresses from the others', () => {
    for (const host of ['127.0.0.1', '127.0.1.1', '::1', 'localhost']) expect(isLoopbackHost(host), host).toBe(true);
    for (const host of ['0.0.0.0', '::', '10.0.0.5', 'scorer', '127.0.0.1.example.com']) {
      expect(isLoopbackHost(host), host).toBe(false);
    }
  });
});
