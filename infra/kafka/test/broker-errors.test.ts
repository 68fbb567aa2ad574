import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort, startBroker } from '../src/broker.js';
import { ensureKafkaJars } from '../src/jars.js';
import { findJava } from '../src/java.js';

// Each failure must be a prompt, clear error, never a hang: the tests' timeout bounds that.
const PROMPT_MS = 20_000;
const tempDirs: string[] = [];
function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pncf-broker-error-'));
  tempDirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of tempDirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

describe('local broker start-up failures', () => {
  it('names Java when there is none', { timeout: PROMPT_MS }, async () => {
    const env = { ...process.env, JAVA_HOME: path.join(tempDir(), 'no-jdk') };
    expect(() => findJava(env)).toThrow(/Java 17\+ is needed .* no java was found at .*no-jdk/);
    await expect(
      startBroker({ stateDir: tempDir(), port: await freePort(), controllerPort: await freePort(), env }),
    ).rejects.toThrow(/no java was found/);
  });

  it('names Maven when the jars are not cached and mvn is missing', { timeout: PROMPT_MS }, async () => {
    const java = findJava();
    const env: NodeJS.ProcessEnv = { ...process.env, PATH: tempDir(), MAVEN_BIN: undefined };
    if (java.bin === 'java') {
      // Keep Java reachable through JAVA_HOME so only Maven is missing.
      env.JAVA_HOME = path.dirname(path.dirname(fs.realpathSync(whichJava())));
    }
    const emptyCache = tempDir();
    expect(() => ensureKafkaJars(emptyCache, env)).toThrow(/Maven \(mvn\) was not found .*apt-get install maven/);
    await expect(
      startBroker({
        stateDir: tempDir(),
        cacheDir: emptyCache,
        port: await freePort(),
        controllerPort: await freePort(),
        env,
      }),
    ).rejects.toThrow(/Maven \(mvn\) was not found/);
  });

  it('names the port when it is already taken', { timeout: PROMPT_MS }, async () => {
    const blocker = net.createServer();
    const port = await new Promise<number>((resolve) =>
      blocker.listen(0, '127.0.0.1', () => resolve((blocker.address() as net.AddressInfo).port)),
    );
    try {
      await expect(startBroker({ stateDir: tempDir(), port, controllerPort: await freePort() })).rejects.toThrow(
        new RegExp(`Kafka broker port ${port} on 127.0.0.1 is already in use`),
      );
      await expect(startBroker({ stateDir: tempDir(), port: await freePort(), controllerPort: port })).rejects.toThrow(
        new RegExp(`Kafka controller port ${port} on 127.0.0.1 is already in use`),
      );
    } finally {
      blocker.close();
    }
  });
});

function whichJava(): string {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const candidate = path.join(dir, 'java');
    if (fs.existsSync(candidate)) return candidate;
  }
  throw new Error('java not on PATH');
}
