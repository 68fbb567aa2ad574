import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '@pncf/kafka-local';
import { describe, expect, it } from 'vitest';
import { testBrokers } from './support/kafka.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

interface Run {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

function startService(name: string, env: Record<string, string>): Run {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(repoRoot, 'services', name, 'src', 'main.ts')], {
    cwd: repoRoot,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk) => {
    output += chunk;
  });
  child.stderr?.on('data', (chunk) => {
    output += chunk;
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output: () => output, exited };
}

async function waitFor(url: string, run: Run, timeoutMs = 45_000): Promise<Response> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (run.child.exitCode !== null) throw new Error(`service exited early:\n${run.output()}`);
    try {
      const response = await fetch(url);
      if (response.ok) return response;
    } catch {
      // not up yet
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`${url} not healthy in time:\n${run.output()}`);
}

describe.each(['ingester', 'trainer', 'scorer'])('the %s service process', (name) => {
  it('serves /healthz and /metrics, logs JSON lines and exits 0 on SIGTERM', async () => {
    const port = await freePort();
    const run = startService(name, { KAFKA_BROKERS: testBrokers().join(','), HTTP_PORT: String(port) });
    try {
      await waitFor(`http://127.0.0.1:${port}/healthz`, run);
      const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      expect(metrics).toContain(`nodejs_heap_size_used_bytes{service="${name}"}`);
    } finally {
      run.child.kill('SIGTERM');
    }
    expect(await run.exited).toBe(0);
    const lines = run
      .output()
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as { service: string; msg: string });
    expect(lines.length).toBeGreaterThan(2);
    expect(lines.every((line) => line.service === name)).toBe(true);
    expect(lines.map((line) => line.msg)).toEqual(expect.arrayContaining(['started', 'stopping', 'stopped']));
  });

  it('refuses invalid configuration with exit code 2 and names the variable', async () => {
    const run = startService(name, { HTTP_PORT: 'eighty', LOG_LEVEL: 'loud' });
    expect(await run.exited).toBe(2);
    expect(run.output()).toContain(`invalid configuration for ${name}`);
    expect(run.output()).toContain('HTTP_PORT="eighty"');
    expect(run.output()).toContain('LOG_LEVEL="loud"');
  });
});
