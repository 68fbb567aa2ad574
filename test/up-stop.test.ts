import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { freePort } from '@pncf/kafka-local';
import { afterAll, describe, expect, it } from 'vitest';
import { scratchDir } from './scorer-support.js';
import { repoRoot } from './support/services.js';

/** Processes (pid → command line) whose environment carries `marker`: everything the run under test started. */
function processesWith(marker: string): Map<number, string> {
  const found = new Map<number, string>();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const environ = fs.readFileSync(`/proc/${entry}/environ`, 'latin1');
      if (!environ.includes(marker)) continue;
      found.set(Number(entry), fs.readFileSync(`/proc/${entry}/cmdline`, 'latin1').replaceAll('\0', ' ').trim());
    } catch {
      // gone, or not ours to read
    }
  }
  return found;
}

async function until(what: string, probe: () => boolean, timeoutMs: number, detail: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}:\n${detail()}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/**
 * What the issue saw: Ctrl-C on `npm start 2>&1 | tee start.log` left the broker, the ingester and the trainer
 * running. A terminal's Ctrl-C sends SIGINT to the whole foreground process group (npm, sh, node, tee): here the
 * group of the test's shell gets the same signal. tee dies with it, so the supervisor's stdout is a closed pipe.
 */
describe('npm start piped through tee, then Ctrl-C', () => {
  const root = scratchDir('up-stop');
  afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

  it('stops the broker and the three services it started', async () => {
    const marker = `PNCF_UP_STOP_TEST=${path.basename(root)}`;
    const log = path.join(root, 'start.log');
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      PNCF_UP_STOP_TEST: path.basename(root),
      KAFKA_PORT: String(await freePort()),
      KAFKA_CONTROLLER_PORT: String(await freePort()),
      INGESTER_HTTP_PORT: String(await freePort()),
      TRAINER_HTTP_PORT: String(await freePort()),
      SCORER_HTTP_PORT: String(await freePort()),
    };
    delete env.KAFKA_BROKERS;
    const shell = spawn('sh', ['-c', `npm start -- --no-demo --data-dir '${root}/data' 2>&1 | tee '${log}'`], {
      cwd: repoRoot,
      env,
      stdio: 'ignore',
      detached: true,
    });
    const shellExited = new Promise<void>((resolve) => shell.once('exit', () => resolve()));
    const output = () => (fs.existsSync(log) ? fs.readFileSync(log, 'utf8') : '');
    try {
      await until('the pipeline to start', () => output().includes('Ctrl-C stops everything'), 240_000, output);
      const started = [...processesWith(marker).values()];
      for (const part of ['kafka.Kafka', 'services/ingester/src/main.ts', 'services/trainer/src/main.ts']) {
        expect(started.some((command) => command.includes(part))).toBe(true);
      }
      expect(started.some((command) => command.includes('services/scorer/src/main.ts'))).toBe(true);
      expect(started.some((command) => command.startsWith('tee '))).toBe(true);

      process.kill(-shell.pid!, 'SIGINT');
      await until(
        'every process of the run to exit',
        () => processesWith(marker).size === 0,
        120_000,
        () => [...processesWith(marker).entries()].map(([pid, command]) => `${pid} ${command}`).join('\n'),
      );
      await shellExited;
      // The services' own logs show an orderly stop, not a kill.
      for (const name of ['ingester', 'trainer', 'scorer']) {
        const lines = fs.readFileSync(path.join(root, 'data', 'logs', `${name}.log`), 'utf8');
        expect(lines).toContain('"msg":"stopped"');
      }
    } finally {
      for (const pid of processesWith(marker).keys()) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }
  }, 400_000);
});
