import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker, type WorkerOptions } from 'node:worker_threads';

/**
 * Where a worker entry named `new URL('./x.ts', import.meta.url)` really is. From the sources (tsx, vitest) the .ts
 * file exists and a worker thread, which starts without tsx's loader, needs a bootstrap that registers it. From the
 * compiled workspaces (dist/, the container image) the caller's URL names a dist/x.ts that was never emitted: its
 * dist/x.js runs on plain node, and tsx may not even be installed.
 */
export function workerEntryOf(entry: URL, exists: (file: string) => boolean): { url: URL; typescript: boolean } {
  if (!entry.pathname.endsWith('.ts') || exists(fileURLToPath(entry))) {
    return { url: entry, typescript: entry.pathname.endsWith('.ts') };
  }
  const compiled = new URL(entry.href.replace(/\.ts$/, '.js'));
  return exists(fileURLToPath(compiled)) ? { url: compiled, typescript: false } : { url: entry, typescript: true };
}

/** The JavaScript that registers tsx's loader inside a worker thread and then imports the TypeScript entry. */
function tsxBootstrap(entry: URL): string {
  // Resolved only here, from the sources: production installs have no tsx. createRequire rather than
  // import.meta.resolve, which vite-node does not provide.
  const tsxApi = pathToFileURL(createRequire(import.meta.url).resolve('tsx/esm/api')).href.replace(/\.cjs$/, '.mjs');
  return `import(${JSON.stringify(tsxApi)}).then((m) => { m.register(); return import(${JSON.stringify(entry.href)}); });`;
}

/**
 * A worker thread running a module named by its TypeScript source (`new URL('./x.ts', import.meta.url)`): the source
 * through tsx in development and tests, the compiled JavaScript next to the caller when it runs from dist/.
 */
export function startTsWorker(entry: URL, options: Omit<WorkerOptions, 'eval'> = {}): Worker {
  const { url, typescript } = workerEntryOf(entry, existsSync);
  return typescript ? new Worker(tsxBootstrap(url), { ...options, eval: true }) : new Worker(url, options);
}
