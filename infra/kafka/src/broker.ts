import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { probeKafka } from '@pncf/runtime';
import { ensureKafkaJars } from './jars.js';
import { findJava } from './java.js';
import { defaultCacheDir, kafkaInfraDir } from './paths.js';
import {
  noSecureListeners,
  type SecureListenerOptions,
  scramFormatArguments,
  securePropertyParts,
} from './secure-listeners.js';

export interface BrokerOptions {
  /** Where this broker keeps its config, log, pid file and data (kraft/). */
  stateDir: string;
  host?: string;
  port?: number;
  controllerPort?: number;
  /** Jar cache shared by every broker of this checkout. */
  cacheDir?: string;
  heapMb?: number;
  /** Wipe the data and format anew; otherwise existing data is kept (a restart continues where it stopped). */
  fresh?: boolean;
  startTimeoutMs?: number;
  /** Let this process exit while the broker keeps running (the CLI's `start`). */
  detached?: boolean;
  env?: NodeJS.ProcessEnv;
  /** SASL_SSL (and optionally mutual-TLS SSL) listeners beside the PLAINTEXT one; none by default. */
  secure?: SecureListenerOptions;
}

export interface StartedBroker {
  /** The PLAINTEXT listener. */
  brokers: string[];
  /** The secured listeners, when started with BrokerOptions.secure. */
  secure?: { saslSsl: string[]; mutualTls?: string[] };
  pid: number;
  stateDir: string;
  logFile: string;
  /** Milliseconds from the call to the first answered metadata request, and how they were spent. */
  timings: { jarsMs: number; formatMs: number; readyMs: number; totalMs: number; jarsDownloaded: boolean };
  stop(): Promise<void>;
}

export class BrokerStartError extends Error {
  override name = 'BrokerStartError';
}

const stateFiles = (stateDir: string) => ({
  properties: path.join(stateDir, 'server.properties'),
  log: path.join(stateDir, 'broker.log'),
  pid: path.join(stateDir, 'broker.pid'),
  data: path.join(stateDir, 'kraft'),
});

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function readPid(pidFile: string): number | undefined {
  if (!fs.existsSync(pidFile)) return undefined;
  const pid = Number(fs.readFileSync(pidFile, 'utf8').trim());
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

/** Fails with a message naming the port when something already listens there. */
export async function assertPortFree(host: string, port: number, what: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const server = net.createServer();
    server.once('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EADDRINUSE') {
        reject(
          new BrokerStartError(
            `${what} port ${port} on ${host} is already in use by another process. ` +
              'Stop it, or choose other ports (KAFKA_PORT / KAFKA_CONTROLLER_PORT).',
          ),
        );
      } else {
        reject(error);
      }
    });
    server.listen(port, host, () => server.close(() => resolve()));
  });
}

/** A port the OS reports free right now (for tests that must not collide with a running broker). */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function tail(file: string, lines = 40): string {
  if (!fs.existsSync(file)) return '(no log)';
  return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
}

function writeServerProperties(file: string, values: Record<string, string>): void {
  let text = fs.readFileSync(path.join(kafkaInfraDir, 'server.properties.in'), 'utf8');
  for (const [key, value] of Object.entries(values)) text = text.replaceAll(`@${key}@`, value);
  fs.writeFileSync(file, text);
}

/**
 * Start a single-node KRaft broker and resolve once it answers a metadata request. Any failure (no Java,
 * no Maven, a busy port, a crash during start, a timeout) rejects with a message that says why, including
 * the tail of the broker's log when the JVM got that far.
 */
export async function startBroker(options: BrokerOptions): Promise<StartedBroker> {
  const started = Date.now();
  const env = options.env ?? process.env;
  const host = options.host ?? '127.0.0.1';
  const port = options.port ?? 9092;
  const controllerPort = options.controllerPort ?? 9093;
  const files = stateFiles(options.stateDir);
  fs.mkdirSync(options.stateDir, { recursive: true });

  const runningPid = readPid(files.pid);
  if (runningPid !== undefined && isAlive(runningPid)) {
    throw new BrokerStartError(
      `a broker from ${options.stateDir} is already running (pid ${runningPid}); stop it first (npm run kafka:stop)`,
    );
  }
  const java = findJava(env);
  await assertPortFree(host, port, 'Kafka broker');
  await assertPortFree(host, controllerPort, 'Kafka controller');
  if (options.secure) {
    await assertPortFree(host, options.secure.saslSslPort, 'Kafka SASL_SSL');
    if (options.secure.mutualTlsPort !== undefined) {
      await assertPortFree(host, options.secure.mutualTlsPort, 'Kafka mutual-TLS');
    }
  }

  const jars = ensureKafkaJars(options.cacheDir ?? defaultCacheDir, env);
  const jarsDone = Date.now();

  const log4j = `-Dlog4j2.configurationFile=${path.join(kafkaInfraDir, 'log4j2.xml')}`;
  if (options.fresh) fs.rmSync(files.data, { recursive: true, force: true });
  writeServerProperties(files.properties, {
    HOST: host,
    PORT: String(port),
    CONTROLLER_PORT: String(controllerPort),
    LOG_DIRS: files.data,
    ...(options.secure ? securePropertyParts(host, options.secure) : noSecureListeners),
  });
  if (!fs.existsSync(path.join(files.data, 'meta.properties'))) {
    // Kafka's own random-uuid may start with '-', which the storage tool's parser then takes for a flag.
    const clusterId = `k${randomBytes(16).toString('base64url').slice(1, 22)}`;
    const format = spawnSync(
      java.bin,
      [
        '-Xmx256m',
        log4j,
        '-cp',
        jars.classpath,
        'kafka.tools.StorageTool',
        'format',
        '-t',
        clusterId,
        '-c',
        files.properties,
        ...scramFormatArguments(options.secure?.scramUsers),
      ],
      { env, encoding: 'utf8', timeout: 120_000 },
    );
    if (format.status !== 0) {
      throw new BrokerStartError(`formatting the Kafka data dir failed:\n${`${format.stdout}${format.stderr}`.trim()}`);
    }
  }
  const formatDone = Date.now();

  const heap = `${options.heapMb ?? 512}m`;
  const logFd = fs.openSync(files.log, 'a');
  const child: ChildProcess = spawn(
    java.bin,
    [
      `-Xms${heap}`,
      `-Xmx${heap}`,
      '-XX:+UseG1GC',
      '-XX:MaxGCPauseMillis=20',
      '-XX:+ExplicitGCInvokesConcurrent',
      '-Djava.awt.headless=true',
      log4j,
      `-Dkafka.logs.dir=${options.stateDir}`,
      '-cp',
      jars.classpath,
      'kafka.Kafka',
      files.properties,
    ],
    // Always its own process group: a terminal's Ctrl-C must not kill the broker before the services that
    // still flush to it have stopped; whoever started it stops it explicitly (or by pid file).
    { env, stdio: ['ignore', logFd, logFd], detached: true },
  );
  fs.closeSync(logFd);
  if (child.pid === undefined) throw new BrokerStartError(`could not spawn ${java.bin}`);
  const pid = child.pid;
  fs.writeFileSync(files.pid, `${pid}\n`);
  let exitCode: number | null | undefined;
  child.once('exit', (code, signal) => {
    exitCode = code ?? (signal ? -1 : 0);
  });
  if (options.detached) child.unref();

  const brokers = [`${host}:${port}`];
  const deadline = started + (options.startTimeoutMs ?? 120_000);
  let lastError: unknown;
  for (;;) {
    if (exitCode !== undefined) {
      fs.rmSync(files.pid, { force: true });
      throw new BrokerStartError(
        `the Kafka broker exited during start (code ${exitCode}). Its log:\n${tail(files.log)}`,
      );
    }
    if (Date.now() > deadline) {
      await stopBroker(options.stateDir);
      const reason = lastError instanceof Error ? lastError.message : String(lastError);
      throw new BrokerStartError(
        `the Kafka broker did not answer a metadata request within ${options.startTimeoutMs ?? 120_000} ms (${reason}). Its log:\n${tail(files.log)}`,
      );
    }
    try {
      await probeKafka(brokers);
      break;
    } catch (error) {
      lastError = error;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
  const ready = Date.now();
  const secure = options.secure;
  return {
    brokers,
    ...(secure
      ? {
          secure: {
            saslSsl: [`${host}:${secure.saslSslPort}`],
            ...(secure.mutualTlsPort !== undefined ? { mutualTls: [`${host}:${secure.mutualTlsPort}`] } : {}),
          },
        }
      : {}),
    pid,
    stateDir: options.stateDir,
    logFile: files.log,
    timings: {
      jarsMs: jarsDone - started,
      formatMs: formatDone - jarsDone,
      readyMs: ready - formatDone,
      totalMs: ready - started,
      jarsDownloaded: jars.downloaded,
    },
    stop: async () => {
      await stopBroker(options.stateDir);
    },
  };
}

/** Stop the broker of a state dir by its pid file: SIGTERM, then SIGKILL after graceMs. */
export async function stopBroker(stateDir: string, graceMs = 20_000): Promise<boolean> {
  const pidFile = stateFiles(stateDir).pid;
  const pid = readPid(pidFile);
  if (pid === undefined || !isAlive(pid)) {
    fs.rmSync(pidFile, { force: true });
    return false;
  }
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (isAlive(pid) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
  if (isAlive(pid)) {
    process.kill(pid, 'SIGKILL');
    while (isAlive(pid)) await new Promise((resolve) => setTimeout(resolve, 50));
  }
  fs.rmSync(pidFile, { force: true });
  return true;
}
