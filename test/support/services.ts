import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '@pncf/kafka-local';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface ServiceProcess {
  name: string;
  child: ChildProcess;
  port: number;
  url: string;
  output(): string;
  exited: Promise<number | null>;
}

/**
 * A service as it runs in production: its own node process on main.ts (one process, so SIGKILL hits the service
 * itself), configured by environment variables, on a free HTTP port. `nodeArgs` go to node after `--import tsx`.
 * Its data directories (store, counts view, model registry) are a fresh temporary folder of its own unless `env`
 * names them: the defaults are relative to the repository, where test files running at once would share them.
 */
export async function spawnService(
  name: string,
  env: Record<string, string>,
  nodeArgs: string[] = [],
): Promise<ServiceProcess> {
  const port = env.HTTP_PORT ? Number(env.HTTP_PORT) : await freePort();
  const main = path.join(repoRoot, 'services', name, 'src', 'main.ts');
  const own = fs.mkdtempSync(path.join(os.tmpdir(), `pncf-${name}-`));
  const dataDirs = {
    STORE_PATH: path.join(own, 'store'),
    VIEW_PATH: path.join(own, 'view'),
    MODEL_DIR: path.join(own, 'models'),
  };
  const child = spawn(process.execPath, ['--import', 'tsx', ...nodeArgs, main], {
    cwd: repoRoot,
    env: { ...process.env, ...dataDirs, ...env, HTTP_PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return watchService(name, child, port);
}

/** Keep a started service's output (its last 50 kB) and its exit, for the helpers below. */
export function watchService(name: string, child: ChildProcess, port: number): ServiceProcess {
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-50_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { name, child, port, url: `http://127.0.0.1:${port}`, output: () => output, exited };
}

async function stillStarting(response: Response): Promise<boolean> {
  if (!response.headers.get('content-type')?.includes('json')) return false;
  const body: unknown = await response.clone().json();
  return typeof body === 'object' && body !== null && 'starting' in body;
}

/**
 * Poll an endpoint of a service until it answers 2xx and the service has finished starting; fail early with the
 * service's output if it died.
 */
export async function waitForHttp(service: ServiceProcess, route: string, timeoutMs = 60_000): Promise<Response> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (service.child.exitCode !== null) {
      throw new Error(
        `${service.name} exited (${service.child.exitCode}) before ${route} answered:\n${service.output()}`,
      );
    }
    try {
      const response = await fetch(`${service.url}${route}`);
      // A service answers /healthz while it starts (with a `starting` field): ready for a test once that is gone.
      if (response.ok && !(await stillStarting(response))) return response;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`${service.name}: ${route} did not answer within ${timeoutMs} ms:\n${service.output()}`);
}

/** Resolve when the service's output matches, or reject with the output after timeoutMs. */
export async function waitForOutput(service: ServiceProcess, pattern: RegExp, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (pattern.test(service.output())) return;
    if (service.child.exitCode !== null) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${service.name}: no output matching ${pattern} within ${timeoutMs} ms:\n${service.output()}`);
}

export async function stopService(service: ServiceProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
  if (service.child.exitCode === null && service.child.signalCode === null) service.child.kill(signal);
  return service.exited;
}
