/**
 * Worker threads that run the wasm word2vec kernel, kept between trainings: a fit trains two tables and the
 * trainer retrains often, and a fresh worker costs tens of milliseconds next to a training of about half a
 * second. Idle workers are unref'd, so they never keep the process alive; one that fails is dropped.
 */
import { Worker } from 'node:worker_threads';

// Plain JavaScript run with eval: a worker that loads no TypeScript starts in tens of milliseconds instead of the
// few hundred a tsx bootstrap takes. The module arrives compiled (V8 shares its code, optimised tiers included).
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
parentPort.on('message', ({ module, memory, args }) => {
  const train = new WebAssembly.Instance(module, { env: { memory } }).exports.w2v_train;
  parentPort.postMessage(train(...args));
});
`;

/** What one worker runs: w2v_train(...args) of an instance of `module` over the shared `memory`. */
export interface WasmJob {
  module: unknown;
  memory: unknown;
  args: number[];
}

const idle: Worker[] = [];

/**
 * Run one job on a pooled worker; resolves to w2v_train's result (the pairs trained). Aborting `signal`
 * terminates the worker (V8 interrupts a running wasm loop) and rejects with the signal's reason.
 */
export function runWasmJob(job: WasmJob, signal?: AbortSignal): Promise<number> {
  signal?.throwIfAborted();
  const worker = idle.pop() ?? new Worker(WORKER_SOURCE, { eval: true });
  worker.ref();
  return new Promise((resolve, reject) => {
    const onAbort = (): void => {
      done();
      void worker.terminate();
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    const done = (): void => {
      signal?.removeEventListener('abort', onAbort);
      worker.off('message', onMessage);
      worker.off('error', onError);
      worker.off('exit', onExit);
    };
    const onMessage = (pairs: number): void => {
      done();
      worker.unref();
      idle.push(worker);
      resolve(pairs);
    };
    const onError = (err: Error): void => {
      done();
      void worker.terminate();
      reject(err);
    };
    const onExit = (code: number): void => {
      done();
      reject(new Error(`word2vec wasm worker exited with code ${code}`));
    };
    worker.on('message', onMessage);
    worker.on('error', onError);
    worker.on('exit', onExit);
    worker.postMessage(job);
  });
}
