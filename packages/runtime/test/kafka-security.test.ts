import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ConfigError, commonConfigShape, describeCrossChecks, loadConfig, withCrossChecks } from '../src/config.js';
import { securityRefusal } from '../src/kafka.js';
import { describeKafkaSecurity, kafkaSecurity, kafkaSecurityChecks } from '../src/kafka-security.js';

const schema = withCrossChecks(z.object({ ...commonConfigShape }), kafkaSecurityChecks);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pncf-kafka-security-'));
const file = (name: string, text: string) => {
  const at = path.join(dir, name);
  fs.writeFileSync(at, text);
  return at;
};
const ca = file('ca.pem', 'CA PEM');
const cert = file('client.pem', 'CERT PEM');
const key = file('client.key', 'KEY PEM');
const passwordFile = file('password', 's3cret-from-file\n');
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** The problems loadConfig reports for an environment, or [] when it is valid. */
function problems(environment: Record<string, string>): string[] {
  try {
    loadConfig('svc', schema, environment);
    return [];
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return error.problems;
  }
}

describe('Kafka security variables', () => {
  it('default to plaintext with no TLS or SASL options', () => {
    const config = loadConfig('svc', schema, {});
    expect(config.KAFKA_SECURITY_PROTOCOL).toBe('PLAINTEXT');
    expect(kafkaSecurity(config)).toEqual({ protocol: 'PLAINTEXT' });
  });

  it('turn SASL_SSL with SCRAM-SHA-512, a CA file and a password file into kafkajs options', () => {
    const config = loadConfig('svc', schema, {
      KAFKA_SECURITY_PROTOCOL: 'SASL_SSL',
      KAFKA_SSL_CA_FILE: ca,
      KAFKA_SASL_MECHANISM: 'SCRAM-SHA-512',
      KAFKA_SASL_USERNAME: 'alice',
      KAFKA_SASL_PASSWORD_FILE: passwordFile,
    });
    const security = kafkaSecurity(config);
    expect(security).toEqual({
      protocol: 'SASL_SSL',
      ssl: { ca: 'CA PEM' },
      sasl: { mechanism: 'scram-sha-512', username: 'alice', password: 's3cret-from-file' },
    });
    expect(describeKafkaSecurity(security)).toBe('SASL_SSL, SCRAM-SHA-512 as alice');
  });

  it('turn SSL with a client certificate (mutual TLS) into kafkajs options, system CAs when no CA file', () => {
    const config = loadConfig('svc', schema, {
      KAFKA_SECURITY_PROTOCOL: 'SSL',
      KAFKA_SSL_CERT_FILE: cert,
      KAFKA_SSL_KEY_FILE: key,
    });
    expect(kafkaSecurity(config)).toEqual({ protocol: 'SSL', ssl: { cert: 'CERT PEM', key: 'KEY PEM' } });
  });

  it('turn SASL_PLAINTEXT with PLAIN and a password variable into kafkajs options, with no TLS', () => {
    const config = loadConfig('svc', schema, {
      KAFKA_SECURITY_PROTOCOL: 'SASL_PLAINTEXT',
      KAFKA_SASL_MECHANISM: 'PLAIN',
      KAFKA_SASL_USERNAME: 'bob',
      KAFKA_SASL_PASSWORD: 'pw',
    });
    expect(kafkaSecurity(config)).toEqual({
      protocol: 'SASL_PLAINTEXT',
      sasl: { mechanism: 'plain', username: 'bob', password: 'pw' },
    });
  });

  it('refuse a SASL mechanism without a user name, naming the variable', () => {
    const found = problems({
      KAFKA_SECURITY_PROTOCOL: 'SASL_SSL',
      KAFKA_SASL_MECHANISM: 'SCRAM-SHA-512',
      KAFKA_SASL_PASSWORD: 'pw',
    });
    expect(found).toEqual(['KAFKA_SASL_USERNAME=null: must satisfy KAFKA_SASL_USERNAME set with KAFKA_SASL_MECHANISM']);
  });

  it('refuse a SASL protocol without a mechanism, and a mechanism the protocol would ignore', () => {
    expect(problems({ KAFKA_SECURITY_PROTOCOL: 'SASL_SSL' }).join('\n')).toMatch(
      /^KAFKA_SASL_MECHANISM=null: must satisfy KAFKA_SASL_MECHANISM set when/m,
    );
    expect(
      problems({ KAFKA_SASL_MECHANISM: 'PLAIN', KAFKA_SASL_USERNAME: 'bob', KAFKA_SASL_PASSWORD: 'pw' }).join('\n'),
    ).toMatch(/^KAFKA_SASL_MECHANISM="PLAIN": must satisfy/m);
  });

  it('refuse both password sources, and neither, without ever printing the password', () => {
    const both = problems({
      KAFKA_SECURITY_PROTOCOL: 'SASL_SSL',
      KAFKA_SASL_MECHANISM: 'PLAIN',
      KAFKA_SASL_USERNAME: 'bob',
      KAFKA_SASL_PASSWORD: 'do-not-print-me',
      KAFKA_SASL_PASSWORD_FILE: passwordFile,
    });
    expect(both).toHaveLength(1);
    expect(both[0]).toMatch(/^KAFKA_SASL_PASSWORD_FILE=.*exactly one of KAFKA_SASL_PASSWORD, KAFKA_SASL_PASSWORD_FILE/);
    expect(both.join('\n')).not.toContain('do-not-print-me');
    const neither = problems({
      KAFKA_SECURITY_PROTOCOL: 'SASL_SSL',
      KAFKA_SASL_MECHANISM: 'PLAIN',
      KAFKA_SASL_USERNAME: 'bob',
    });
    expect(neither).toEqual([
      'KAFKA_SASL_PASSWORD_FILE=null: must satisfy exactly one of KAFKA_SASL_PASSWORD, KAFKA_SASL_PASSWORD_FILE with KAFKA_SASL_MECHANISM, neither without',
    ]);
  });

  it('refuse certificate files the protocol would not use, a certificate without its key, and unreadable files', () => {
    expect(problems({ KAFKA_SSL_CA_FILE: ca }).join('\n')).toMatch(
      /^KAFKA_SECURITY_PROTOCOL=null: must satisfy KAFKA_SSL_\* files only when/m,
    );
    expect(problems({ KAFKA_SECURITY_PROTOCOL: 'SSL', KAFKA_SSL_CERT_FILE: cert })).toEqual([
      `KAFKA_SSL_KEY_FILE=null: must satisfy KAFKA_SSL_CERT_FILE and KAFKA_SSL_KEY_FILE together`,
    ]);
    const missing = path.join(dir, 'no-such-ca.pem');
    expect(problems({ KAFKA_SECURITY_PROTOCOL: 'SSL', KAFKA_SSL_CA_FILE: missing })).toEqual([
      `KAFKA_SSL_CA_FILE=${JSON.stringify(missing)}: cannot read ${missing} (ENOENT)`,
    ]);
  });

  it('are listed as rules of the schema', () => {
    expect(describeCrossChecks(schema)).toEqual(kafkaSecurityChecks.map((check) => check.rule));
  });
});

describe('securityRefusal', () => {
  it('finds a SASL refusal or a TLS certificate failure inside kafkajs errors, and nothing else', () => {
    const sasl = Object.assign(new Error('SASL SCRAM SHA512 authentication failed'), {
      name: 'KafkaJSSASLAuthenticationError',
    });
    const wrapped = Object.assign(new Error('Number of retries exceeded'), { originalError: sasl });
    expect(securityRefusal(wrapped)).toMatch(
      /^SASL authentication failed \(check KAFKA_SASL_USERNAME and the password\): SASL SCRAM SHA512/,
    );
    const tls = Object.assign(new Error('Connection error: self-signed certificate in certificate chain'), {
      code: 'SELF_SIGNED_CERT_IN_CHAIN',
    });
    expect(securityRefusal(new Error('outer', { cause: tls }))).toMatch(
      /^TLS handshake failed, SELF_SIGNED_CERT_IN_CHAIN \(check KAFKA_SSL_CA_FILE/,
    );
    expect(securityRefusal(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }))).toBeUndefined();
    expect(securityRefusal(new Error('Connection timeout'))).toBeUndefined();
  });
});
