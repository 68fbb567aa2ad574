import fs from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import type { SASLOptions } from 'kafkajs';
import { z } from 'zod';
import type { CrossCheck } from './config.js';

/** Kafka's own names for how a client talks to a listener (the Java client's `security.protocol`). */
export const KAFKA_SECURITY_PROTOCOLS = ['PLAINTEXT', 'SSL', 'SASL_PLAINTEXT', 'SASL_SSL'] as const;
export type KafkaSecurityProtocol = (typeof KAFKA_SECURITY_PROTOCOLS)[number];

/** Kafka's names for the SASL mechanisms kafkajs speaks with a username and password. */
export const KAFKA_SASL_MECHANISMS = ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512'] as const;
export type KafkaSaslMechanism = (typeof KAFKA_SASL_MECHANISMS)[number];

/** Why a file variable is unusable, or undefined when the process can read it. */
function unreadable(file: string): string | undefined {
  try {
    fs.accessSync(file, fs.constants.R_OK);
    return undefined;
  } catch (error) {
    return `cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`;
  }
}

/** A path to a file that must be readable at start-up, so a wrong path is reported with the other variables. */
const readableFile = (description: string) =>
  z
    .string()
    .optional()
    .superRefine((file, context) => {
      const problem = file === undefined ? undefined : unreadable(file);
      if (problem) context.addIssue({ code: 'custom', message: problem });
    })
    .describe(description);

/** The Kafka security variables, part of every service's schema and the `pncf` commands' (see commonConfigShape). */
export const kafkaSecurityConfigShape = {
  KAFKA_SECURITY_PROTOCOL: z
    .enum(KAFKA_SECURITY_PROTOCOLS)
    .default('PLAINTEXT')
    .describe(
      'How to reach the brokers, as Kafka names it: PLAINTEXT, SSL (TLS), SASL_PLAINTEXT or SASL_SSL (SASL over TLS)',
    ),
  KAFKA_SSL_CA_FILE: readableFile(
    'SSL, SASL_SSL: PEM file of the certificate authorities that signed the brokers’ certificates (default: the system’s)',
  ),
  KAFKA_SSL_CERT_FILE: readableFile('SSL, SASL_SSL: PEM client certificate for mutual TLS (with KAFKA_SSL_KEY_FILE)'),
  KAFKA_SSL_KEY_FILE: readableFile('SSL, SASL_SSL: PEM private key of KAFKA_SSL_CERT_FILE (unencrypted)'),
  KAFKA_SASL_MECHANISM: z
    .enum(KAFKA_SASL_MECHANISMS)
    .optional()
    .describe('SASL_PLAINTEXT, SASL_SSL: PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512 (required there)'),
  KAFKA_SASL_USERNAME: z.string().optional().describe('SASL user name (required with KAFKA_SASL_MECHANISM)'),
  KAFKA_SASL_PASSWORD: z
    .string()
    .optional()
    .describe('SASL password; or KAFKA_SASL_PASSWORD_FILE (exactly one with KAFKA_SASL_MECHANISM)'),
  KAFKA_SASL_PASSWORD_FILE: readableFile(
    'File holding the SASL password (a trailing newline is dropped), e.g. a mounted secret',
  ),
};

export interface KafkaSecurityConfig {
  KAFKA_SECURITY_PROTOCOL: KafkaSecurityProtocol;
  KAFKA_SSL_CA_FILE?: string | undefined;
  KAFKA_SSL_CERT_FILE?: string | undefined;
  KAFKA_SSL_KEY_FILE?: string | undefined;
  KAFKA_SASL_MECHANISM?: KafkaSaslMechanism | undefined;
  KAFKA_SASL_USERNAME?: string | undefined;
  KAFKA_SASL_PASSWORD?: string | undefined;
  KAFKA_SASL_PASSWORD_FILE?: string | undefined;
}

const usesTls = (c: KafkaSecurityConfig) =>
  c.KAFKA_SECURITY_PROTOCOL === 'SSL' || c.KAFKA_SECURITY_PROTOCOL === 'SASL_SSL';
const usesSasl = (c: KafkaSecurityConfig) => c.KAFKA_SECURITY_PROTOCOL.startsWith('SASL_');

/**
 * Rules between the security variables, checked at start-up with the rest of a schema (withCrossChecks): a
 * setting the chosen protocol would ignore is an error rather than silently unused. The password rule names
 * KAFKA_SASL_PASSWORD_FILE because a complaint prints the named variable's value.
 */
export const kafkaSecurityChecks: CrossCheck<KafkaSecurityConfig>[] = [
  {
    rule: 'KAFKA_SASL_MECHANISM set when KAFKA_SECURITY_PROTOCOL is SASL_PLAINTEXT or SASL_SSL, and only then',
    variable: 'KAFKA_SASL_MECHANISM',
    holds: (c) => usesSasl(c) === (c.KAFKA_SASL_MECHANISM !== undefined),
  },
  {
    rule: 'KAFKA_SASL_USERNAME set with KAFKA_SASL_MECHANISM',
    variable: 'KAFKA_SASL_USERNAME',
    holds: (c) => c.KAFKA_SASL_MECHANISM === undefined || c.KAFKA_SASL_USERNAME !== undefined,
  },
  {
    rule: 'exactly one of KAFKA_SASL_PASSWORD, KAFKA_SASL_PASSWORD_FILE with KAFKA_SASL_MECHANISM, neither without',
    variable: 'KAFKA_SASL_PASSWORD_FILE',
    holds: (c) =>
      (c.KAFKA_SASL_PASSWORD !== undefined) !== (c.KAFKA_SASL_PASSWORD_FILE !== undefined)
        ? c.KAFKA_SASL_MECHANISM !== undefined
        : c.KAFKA_SASL_MECHANISM === undefined &&
          c.KAFKA_SASL_PASSWORD === undefined &&
          c.KAFKA_SASL_PASSWORD_FILE === undefined,
  },
  {
    rule: 'KAFKA_SSL_* files only when KAFKA_SECURITY_PROTOCOL is SSL or SASL_SSL',
    variable: 'KAFKA_SECURITY_PROTOCOL',
    holds: (c) =>
      usesTls(c) ||
      (c.KAFKA_SSL_CA_FILE === undefined && c.KAFKA_SSL_CERT_FILE === undefined && c.KAFKA_SSL_KEY_FILE === undefined),
  },
  {
    rule: 'KAFKA_SSL_CERT_FILE and KAFKA_SSL_KEY_FILE together',
    variable: 'KAFKA_SSL_KEY_FILE',
    holds: (c) => (c.KAFKA_SSL_CERT_FILE === undefined) === (c.KAFKA_SSL_KEY_FILE === undefined),
  },
];

/** What kafkajs needs to connect securely: its `ssl` and `sasl` client options, and how to name them in logs. */
export interface KafkaSecurity {
  protocol: KafkaSecurityProtocol;
  ssl?: ConnectionOptions;
  sasl?: SASLOptions & { username: string };
}

type ReadFile = (file: string) => string;

/**
 * The client options of a validated config, with the files read (certificates, the password file): the one
 * place the variables turn into a connection, for every service and command.
 */
export function kafkaSecurity(
  config: KafkaSecurityConfig,
  readFile: ReadFile = (file) => fs.readFileSync(file, 'utf8'),
): KafkaSecurity {
  const security: KafkaSecurity = { protocol: config.KAFKA_SECURITY_PROTOCOL };
  if (usesTls(config)) {
    security.ssl = {
      ...(config.KAFKA_SSL_CA_FILE ? { ca: readFile(config.KAFKA_SSL_CA_FILE) } : {}),
      ...(config.KAFKA_SSL_CERT_FILE ? { cert: readFile(config.KAFKA_SSL_CERT_FILE) } : {}),
      ...(config.KAFKA_SSL_KEY_FILE ? { key: readFile(config.KAFKA_SSL_KEY_FILE) } : {}),
    };
  }
  if (usesSasl(config) && config.KAFKA_SASL_MECHANISM && config.KAFKA_SASL_USERNAME) {
    const password =
      config.KAFKA_SASL_PASSWORD ??
      (config.KAFKA_SASL_PASSWORD_FILE ? readFile(config.KAFKA_SASL_PASSWORD_FILE).replace(/\r?\n$/, '') : '');
    const username = config.KAFKA_SASL_USERNAME;
    security.sasl =
      config.KAFKA_SASL_MECHANISM === 'PLAIN'
        ? { mechanism: 'plain', username, password }
        : config.KAFKA_SASL_MECHANISM === 'SCRAM-SHA-256'
          ? { mechanism: 'scram-sha-256', username, password }
          : { mechanism: 'scram-sha-512', username, password };
  }
  return security;
}

/** The security of a connection for logs and error messages: protocol, mechanism and user, never a secret. */
export function describeKafkaSecurity(security: KafkaSecurity | undefined): string {
  if (!security || security.protocol === 'PLAINTEXT') return 'PLAINTEXT';
  const parts: string[] = [security.protocol];
  if (security.sasl) parts.push(`${security.sasl.mechanism.toUpperCase()} as ${security.sasl.username}`);
  if (security.ssl?.cert) parts.push('client certificate');
  return parts.join(', ');
}
