import { spawnSync } from 'node:child_process';
import path from 'node:path';

export const MIN_JAVA_VERSION = 17;

export interface JavaRuntime {
  bin: string;
  version: number;
}

/** The Java the broker runs on: $JAVA_HOME/bin/java when JAVA_HOME is set, else `java` on PATH; 17 or newer. */
export function findJava(env: NodeJS.ProcessEnv = process.env): JavaRuntime {
  const bin = env.JAVA_HOME ? path.join(env.JAVA_HOME, 'bin', 'java') : 'java';
  const result = spawnSync(bin, ['-version'], { env, encoding: 'utf8', timeout: 30_000 });
  if (result.error) {
    const where = env.JAVA_HOME ? `at ${bin} (from JAVA_HOME)` : 'on PATH';
    throw new Error(
      `Java ${MIN_JAVA_VERSION}+ is needed to run the local Kafka broker, but no java was found ${where} ` +
        `(${(result.error as NodeJS.ErrnoException).code ?? result.error.message}). ` +
        'Install a JDK (e.g. apt-get install openjdk-17-jre-headless) or point KAFKA_BROKERS at a running Kafka.',
    );
  }
  const output = `${result.stderr}${result.stdout}`;
  const match = /version "(\d+)(?:\.(\d+))?/.exec(output);
  if (!match?.[1]) throw new Error(`could not read the Java version from \`${bin} -version\`: ${output.trim()}`);
  // Java 8 and older report "1.8.0_x".
  const version = match[1] === '1' ? Number(match[2]) : Number(match[1]);
  if (version < MIN_JAVA_VERSION) {
    throw new Error(
      `Kafka 4.x needs Java ${MIN_JAVA_VERSION}+, but ${bin} is Java ${version}. Set JAVA_HOME to a newer JDK.`,
    );
  }
  return { bin, version };
}
