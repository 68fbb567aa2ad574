import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  ConfigError,
  commonConfigShape,
  describeConfig,
  env,
  httpProtectionOf,
  isLoopbackHost,
  loadConfig,
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
      LOG_LEVEL: 'info',
      HTTP_HOST: '127.0.0.1',
      RATE_LIMIT_MAX: 1000,
      RATE_LIMIT_WINDOW_MS: 1000,
      MAX_EVENT_LOOP_DELAY_MS: 1000,
      RETRY_AFTER_S: 10,
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
      'LOG_LEVEL',
      'HTTP_HOST',
      'RATE_LIMIT_MAX',
      'RATE_LIMIT_WINDOW_MS',
      'MAX_EVENT_LOOP_DELAY_MS',
      'RETRY_AFTER_S',
      'HTTP_PORT',
      'BATCH',
    ]);
    expect(rows.find((row) => row.name === 'KAFKA_BROKERS')).toEqual({
      name: 'KAFKA_BROKERS',
      default: '127.0.0.1:9092',
      description: 'Comma-separated Kafka bootstrap brokers (host:port)',
    });
    expect(rows.find((row) => row.name === 'BATCH')?.default).toBe('500');
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
