import type { Worker } from 'node:worker_threads';
import { deserializeError, WorkerError } from '@pncf/runtime/errors';
import { type PreparedTower, TowerInference } from './inference.js';
import type { ScoreAnswer, ScoreRequest, ScorerWorkerData } from './scorer-worker.js';
import { startTsWorker } from './ts-worker.js';

const workerEntry = new URL('./scorer-worker.ts', import.meta.url);

interface Pending {
  resolve: (scores: Float32Array) => void;
  reject: (error: Error) => void;
}

/** One worker thread with its own TowerInference (and its own tfjs backend instance). */
export class ScorerWorker {
  private readonly worker: Worker;
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  private failure: Error | undefined;
  readonly ready: Promise<void>;

  constructor(data: ScorerWorkerData) {
    this.worker = startTsWorker(workerEntry, { workerData: data });
    this.ready = new Promise((resolve, reject) => {
      this.worker.once('message', () => resolve());
      this.worker.once('error', reject);
      this.worker.once('exit', (code) =>
        reject(new WorkerError(`scoring worker exited with code ${code} before it was ready`)),
      );
    });
    this.worker.on('message', (message: ScoreAnswer | { ready: true }) => {
      if (!('id' in message)) return;
      const entry = this.pending.get(message.id);
      this.pending.delete(message.id);
      if ('error' in message) entry?.reject(deserializeError(message.error));
      else entry?.resolve(message.scores);
    });
    // The first failure is the cause; the exit that follows an error must not replace it.
    const fail = (error: Error) => {
      this.failure ??= error;
      for (const entry of this.pending.values()) entry.reject(this.failure);
      this.pending.clear();
    };
    this.worker.on('error', (error) => fail(new WorkerError('scoring worker failed', { cause: error })));
    this.worker.on('exit', (code) => fail(new WorkerError(`scoring worker exited with code ${code}`)));
  }

  score(users: Uint32Array): Promise<Float32Array> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ id, users } satisfies ScoreRequest);
    });
  }

  async terminate(): Promise<void> {
    this.worker.removeAllListeners('exit');
    await this.worker.terminate();
  }
}

/**
 * Full ranking (TowerInference.scoreUsers) over several threads: a block of users is cut into one contiguous
 * slice per thread, the workers score theirs while this thread scores its own, and the slices land in `out` in
 * order. Full ranking is bound by matmul FLOPs on one single-threaded wasm backend, so this is what spreads
 * evaluation over the cores. Same results as one TowerInference (each slice is scored by the same code on the
 * same prepared weights, which every worker receives as plain arrays).
 */
export class ParallelScorer {
  private readonly local: TowerInference;
  private readonly workers: ScorerWorker[];

  private constructor(local: TowerInference, workers: ScorerWorker[]) {
    this.local = local;
    this.workers = workers;
  }

  /** `threads` counts this one: 1 scores here only. Resolves once every worker has its model. */
  static async create(prepared: PreparedTower, threads: number, maxPairsPerPass = 1 << 16): Promise<ParallelScorer> {
    const workers = Array.from(
      { length: Math.max(0, threads - 1) },
      () => new ScorerWorker({ prepared, maxPairsPerPass }),
    );
    try {
      await Promise.all(workers.map((w) => w.ready));
    } catch (error) {
      await Promise.all(workers.map((w) => w.terminate()));
      throw error;
    }
    return new ParallelScorer(new TowerInference(prepared, { maxPairsPerPass }), workers);
  }

  get numItems(): number {
    return this.local.numItems;
  }

  get threads(): number {
    return this.workers.length + 1;
  }

  async scoreUsers(users: Uint32Array, out: Float32Array): Promise<void> {
    const parts = Math.min(this.threads, users.length);
    if (parts <= 1) {
      this.local.scoreUsers(users, out);
      return;
    }
    const bounds = Array.from({ length: parts + 1 }, (_, p) => Math.round((p * users.length) / parts));
    const m = this.local.numItems;
    const remote = this.workers
      .slice(0, parts - 1)
      .map((worker, w) =>
        worker.score(users.slice(bounds[w + 1]!, bounds[w + 2]!)).then((scores) => out.set(scores, bounds[w + 1]! * m)),
      );
    // The first slice here, while the workers run theirs.
    try {
      this.local.scoreUsers(users.subarray(0, bounds[1]!), out.subarray(0, bounds[1]! * m));
    } catch (error) {
      await Promise.allSettled(remote);
      throw error;
    }
    await Promise.all(remote);
  }

  async dispose(): Promise<void> {
    this.local.dispose();
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
