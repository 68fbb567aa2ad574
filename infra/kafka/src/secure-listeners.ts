/**
 * Secured listeners for the local broker, beside its PLAINTEXT one (which the controller, inter-broker traffic and
 * the start-up probe keep using): SASL_SSL with SCRAM and PLAIN users, and optionally SSL with client certificates
 * required (mutual TLS). For tests of the services' TLS and SASL options; the default broker has neither.
 */
export interface SecureListenerOptions {
  /** Port of the SASL_SSL listener. */
  saslSslPort: number;
  /** Port of an SSL listener that requires a client certificate signed by the trusted CA. */
  mutualTlsPort?: number;
  /** PEM file with the broker's private key (PKCS#8, unencrypted) followed by its certificate chain. */
  keystorePemFile: string;
  /** PEM file of the CA certificates that client certificates must chain to. */
  truststorePemFile: string;
  /** SCRAM credentials, written into the cluster metadata when the data dir is formatted. */
  scramUsers?: ScramUser[];
  /** PLAIN users, held in the listener's JAAS configuration. */
  plainUsers?: { name: string; password: string }[];
}

export interface ScramUser {
  name: string;
  password: string;
  mechanism: 'SCRAM-SHA-256' | 'SCRAM-SHA-512';
}

/** The @SECURE_*@ parts of server.properties.in. */
export interface SecurePropertyParts {
  SECURE_LISTENERS: string;
  SECURE_PROTOCOLS: string;
  SECURE_SETTINGS: string;
}

export const noSecureListeners: SecurePropertyParts = {
  SECURE_LISTENERS: '',
  SECURE_PROTOCOLS: '',
  SECURE_SETTINGS: '',
};

// JAAS option values are double-quoted strings; a quote or backslash inside would end or escape them.
const jaasQuoted = (value: string) => `"${value.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`;

export function securePropertyParts(host: string, options: SecureListenerOptions): SecurePropertyParts {
  const listeners = [`SASL_SSL://${host}:${options.saslSslPort}`];
  const protocols = ['SASL_SSL:SASL_SSL'];
  if (options.mutualTlsPort !== undefined) {
    listeners.push(`SSL://${host}:${options.mutualTlsPort}`);
    protocols.push('SSL:SSL');
  }
  const plainUsers = (options.plainUsers ?? []).map((user) => `user_${user.name}=${jaasQuoted(user.password)}`);
  const settings = [
    'ssl.keystore.type=PEM',
    `ssl.keystore.location=${options.keystorePemFile}`,
    'ssl.truststore.type=PEM',
    `ssl.truststore.location=${options.truststorePemFile}`,
    'listener.name.sasl_ssl.sasl.enabled.mechanisms=SCRAM-SHA-512,SCRAM-SHA-256,PLAIN',
    'listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;',
    'listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;',
    `listener.name.sasl_ssl.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required${plainUsers.map((user) => ` ${user}`).join('')};`,
    ...(options.mutualTlsPort !== undefined ? ['listener.name.ssl.ssl.client.auth=required'] : []),
  ];
  return {
    SECURE_LISTENERS: listeners.map((listener) => `,${listener}`).join(''),
    SECURE_PROTOCOLS: protocols.map((protocol) => `,${protocol}`).join(''),
    SECURE_SETTINGS: `# Secured listeners (BrokerOptions.secure)\n${settings.join('\n')}`,
  };
}

/** Arguments of `kafka-storage format` that store the SCRAM users (KRaft keeps credentials in the metadata log). */
export function scramFormatArguments(users: ScramUser[] = []): string[] {
  return users.flatMap((user) => ['--add-scram', `${user.mechanism}=[name=${user.name},password=${user.password}]`]);
}
