import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

/** PEM files of a throw-away certificate authority, a broker certificate it signed, and a client certificate. */
export interface TestCertificates {
  /** The CA certificate: clients trust it (KAFKA_SSL_CA_FILE) and the broker verifies client certificates with it. */
  caFile: string;
  /** The broker's PKCS#8 key followed by its certificate: SecureListenerOptions.keystorePemFile. */
  brokerKeystoreFile: string;
  /** A client certificate and its key for mutual TLS (KAFKA_SSL_CERT_FILE, KAFKA_SSL_KEY_FILE). */
  clientCertFile: string;
  clientKeyFile: string;
}

function openssl(args: string[], cwd: string): void {
  const result = spawnSync('openssl', args, { cwd, encoding: 'utf8', timeout: 60_000 });
  if (result.error) {
    throw new Error(
      `openssl is needed to generate test certificates but could not run (${(result.error as NodeJS.ErrnoException).code ?? result.error.message}); install it (apt-get install openssl)`,
    );
  }
  if (result.status !== 0) throw new Error(`openssl ${args[0]} failed:\n${result.stderr.trim()}`);
}

/**
 * Generate a CA and, signed by it, a broker certificate valid for `hosts` (IP addresses and DNS names) and a
 * client certificate, all as PEM in `dir`. PEM rather than Java keystores because both sides read it: Node's TLS
 * and Kafka's PEM stores. Keys are unencrypted: these are for tests and local brokers only.
 */
export function createTestCertificates(dir: string, hosts: string[] = ['127.0.0.1', 'localhost']): TestCertificates {
  fs.mkdirSync(dir, { recursive: true });
  const names = hosts.map((host) => (/^[\d.]+$|:/.test(host) ? `IP:${host}` : `DNS:${host}`)).join(',');
  const days = '30';
  openssl(
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      'ca.key',
      '-out',
      'ca.pem',
      '-days',
      days,
      '-subj',
      '/CN=pncf test CA',
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ],
    dir,
  );
  const signed = (name: string, extensions: string) => {
    openssl(
      ['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`],
      dir,
    );
    fs.writeFileSync(path.join(dir, `${name}.ext`), extensions);
    openssl(
      [
        'x509',
        '-req',
        '-in',
        `${name}.csr`,
        '-CA',
        'ca.pem',
        '-CAkey',
        'ca.key',
        '-CAcreateserial',
        '-out',
        `${name}.pem`,
        '-days',
        days,
        '-extfile',
        `${name}.ext`,
      ],
      dir,
    );
  };
  signed('broker', `subjectAltName=${names}\nextendedKeyUsage=serverAuth\n`);
  signed('client', 'extendedKeyUsage=clientAuth\n');
  const brokerKeystoreFile = path.join(dir, 'broker-keystore.pem');
  fs.writeFileSync(
    brokerKeystoreFile,
    fs.readFileSync(path.join(dir, 'broker.key'), 'utf8') + fs.readFileSync(path.join(dir, 'broker.pem'), 'utf8'),
  );
  return {
    caFile: path.join(dir, 'ca.pem'),
    brokerKeystoreFile,
    clientCertFile: path.join(dir, 'client.pem'),
    clientKeyFile: path.join(dir, 'client.key'),
  };
}
