import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Worker } from 'node:worker_threads';
import { afterAll, describe, expect, it } from 'vitest';
import { startTsWorker, workerEntryOf } from '../src/ts-worker.js';

describe('workerEntryOf', () => {
  const entry = new URL('file:///app/packages/pncf/src/scorer-worker.ts');
  const compiled = new URL('file:///app/packages/pncf/dist/scorer-worker.ts');

  it('runs an existing TypeScript source through tsx', () => {
    expect(workerEntryOf(entry, (file) => file === entry.pathname)).toEqual({ url: entry, typescript: true });
  });

  it('runs the emitted JavaScript when the caller is compiled and no .ts sits next to it', () => {
    const js = new URL('file:///app/packages/pncf/dist/scorer-worker.js');
    expect(workerEntryOf(compiled, (file) => file === js.pathname)).toEqual({ url: js, typescript: false });
  });

  it('leaves a missing entry to tsx, whose error names the .ts file', () => {
    expect(workerEntryOf(compiled, () => false)).toEqual({ url: compiled, typescript: true });
  });

  it('runs a JavaScript entry as it is', () => {
    const js = new URL('file:///app/worker.js');
    expect(workerEntryOf(js, () => true)).toEqual({ url: js, typescript: false });
  });
});

describe('startTsWorker', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pncf-ts-worker-'));
  // ES modules, as in the workspaces.
  fs.writeFileSync(path.join(dir, 'package.json'), '{ "type": "module" }');
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  const firstMessage = (worker: Worker) =>
    new Promise<unknown>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    }).finally(() => worker.terminate());

  it('starts a TypeScript source (type annotations and all) from the sources', async () => {
    const source = path.join(dir, 'src', 'echo.ts');
    fs.mkdirSync(path.dirname(source));
    fs.writeFileSync(
      source,
      "import { parentPort, workerData } from 'node:worker_threads';\n" +
        'const doubled: number = (workerData as number) * 2;\nparentPort!.postMessage(doubled);\n',
    );
    expect(await firstMessage(startTsWorker(pathToFileURL(source), { workerData: 21 }))).toBe(42);
  });

  it('starts the compiled .js for a .ts entry named from dist/', async () => {
    const compiled = path.join(dir, 'dist', 'echo.js');
    fs.mkdirSync(path.dirname(compiled));
    // Plain JavaScript that tsx would not be needed for, and that says which file ran.
    fs.writeFileSync(
      compiled,
      "import { parentPort } from 'node:worker_threads';\nparentPort.postMessage(import.meta.url);\n",
    );
    const entry = new URL('./echo.ts', pathToFileURL(compiled));
    expect(await firstMessage(startTsWorker(entry))).toBe(pathToFileURL(compiled).href);
  });
});
