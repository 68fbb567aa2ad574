import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker, type WorkerOptions } from 'node:worker_threads';

// The sources are TypeScript run through tsx (or vite-node under vitest), and a worker thread starts without
// either: a tiny JavaScript bootstrap registers tsx's loader inside the worker, then imports the entry.
// createRequire rather than import.meta.resolve, which vite-node does not provide.
const tsxApi = pathToFileURL(createRequire(import.meta.url).resolve('tsx/esm/api')).href.replace(/\.cjs$/, '.mjs');

/** A worker thread running a TypeScript module (`new URL('./x.ts', import.meta.url)`). */
export function startTsWorker(entry: URL, options: Omit<WorkerOptions, 'eval'> = {}): Worker {
  const bootstrap = `import(${JSON.stringify(tsxApi)}).then((m) => { m.register(); return import(${JSON.stringify(entry.href)}); });`;
  return new Worker(bootstrap, { ...options, eval: true });
}
