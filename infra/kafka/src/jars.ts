import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { kafkaInfraDir } from './paths.js';

const pomPath = path.join(kafkaInfraDir, 'pom.xml');
// Pinned: Maven 3.8 would otherwise pick the ancient dependency plugin 2.8.
const copyGoal = 'org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy-dependencies';

export interface JarCache {
  libDir: string;
  /** The JVM expands the trailing '*', so this is passed to -cp as is. */
  classpath: string;
  downloaded: boolean;
}

function pomDigest(): string {
  return createHash('sha256').update(fs.readFileSync(pomPath)).digest('hex');
}

/**
 * Make sure <cacheDir>/libs holds the broker jars of infra/kafka/pom.xml. A stamp with the pom's digest
 * makes the second call a no-op that needs neither Maven nor the network.
 */
export function ensureKafkaJars(cacheDir: string, env: NodeJS.ProcessEnv = process.env): JarCache {
  const libDir = path.join(cacheDir, 'libs');
  const stampPath = path.join(libDir, '.pom-sha256');
  const digest = pomDigest();
  const classpath = path.join(libDir, '*');
  if (fs.existsSync(stampPath) && fs.readFileSync(stampPath, 'utf8').trim() === digest) {
    return { libDir, classpath, downloaded: false };
  }

  const mvn = env.MAVEN_BIN ?? 'mvn';
  const probe = spawnSync(mvn, ['--version'], { env, encoding: 'utf8', timeout: 60_000 });
  if (probe.error) {
    throw new Error(
      `Maven (${mvn}) was not found (${(probe.error as NodeJS.ErrnoException).code ?? probe.error.message}). ` +
        'It is needed once, to fetch the Kafka broker jars from Maven Central into .kafka/libs. ' +
        'Install it (e.g. apt-get install maven) or point KAFKA_BROKERS at a running Kafka.',
    );
  }

  // Download into a temporary folder and rename, so an interrupted fetch never leaves a half cache.
  fs.mkdirSync(cacheDir, { recursive: true });
  const staging = fs.mkdtempSync(path.join(cacheDir, 'libs-staging-'));
  const result = spawnSync(
    mvn,
    ['-B', '-ntp', '-q', '-f', pomPath, copyGoal, '-DincludeScope=runtime', `-DoutputDirectory=${staging}`],
    { env, encoding: 'utf8', timeout: 15 * 60_000 },
  );
  if (result.status !== 0) {
    fs.rmSync(staging, { recursive: true, force: true });
    const output = `${result.stdout ?? ''}${result.stderr ?? ''}`.trim().split('\n').slice(-30).join('\n');
    throw new Error(`Maven could not fetch the Kafka jars (exit ${result.status ?? result.signal}):\n${output}`);
  }
  fs.writeFileSync(path.join(staging, '.pom-sha256'), `${digest}\n`);
  fs.rmSync(libDir, { recursive: true, force: true });
  fs.renameSync(staging, libDir);
  return { libDir, classpath, downloaded: true };
}
