import { startTsWorker } from '@pncf/pncf';
import type { ModelRegistry } from '@pncf/registry';
import { deserializeError, isRetriable, type Logger, StoreNotReadyError, WorkerError } from '@pncf/runtime';
import type { LoadAnswer, LoadRequest } from './load-worker.js';
import type { ScorerMetrics } from './metrics.js';
import { type CandidateSettings, type PreparedModel, ServingModel } from './serving-model.js';

const workerEntry = new URL('./load-worker.ts', import.meta.url);

/**
 * Verify, read and prepare a version in a worker thread (load-worker.ts). Rejects with the worker's error rebuilt
 * as a typed error (a ModelArtifactError for a corrupt or unreadable version, …), or with WorkerError when the
 * worker died without answering.
 */
function prepareInWorker(request: LoadRequest): Promise<PreparedModel> {
  return new Promise((resolve, reject) => {
    const worker = startTsWorker(workerEntry, { workerData: request });
    worker.once('message', (message: LoadAnswer) => {
      if (message.prepared) resolve(message.prepared);
      else reject(deserializeError(message.error));
      void worker.terminate();
    });
    worker.once('error', (error) =>
      reject(new WorkerError(`the load worker failed: ${error.message}`, { cause: error })),
    );
    worker.once('exit', (code) => reject(new WorkerError(`the load worker exited with code ${code}`)));
  });
}

/**
 * The model being served, and the swap to a newer one. Readers take `current` (HTTP handlers score
 * synchronously, so a request runs entirely on the model it started with) or `lease()` it across awaits
 * (refresh, interaction batches); a replaced model is disposed only when its last lease is returned. Loads
 * are serialised; a version that fails to verify or load is refused, remembered (not retried until the
 * pointer names another version) and the previous model keeps serving.
 */
export class ModelHolder {
  current: ServingModel | undefined;
  private readonly leases = new Map<ServingModel, number>();
  private readonly retired = new Set<ServingModel>();
  private refused: string | undefined;
  private loading: Promise<void> = Promise.resolve();
  private stopped = false;

  constructor(
    private readonly deps: {
      modelRegistry: ModelRegistry;
      /** The store the worker snapshots (the directory of the history's store: the counts view's). */
      storePath: string;
      /** Whether the store is complete enough to load a model on (the view caught up); until then loads wait. */
      storeReady: () => boolean;
      candidates: CandidateSettings;
      metrics: ScorerMetrics;
      logger: Logger;
      /** Called after each swap with the new model (the full refresh starts here). */
      onSwap?: (model: ServingModel) => void;
    },
  ) {}

  lease(): ServingModel | undefined {
    const model = this.current;
    if (model) this.leases.set(model, (this.leases.get(model) ?? 0) + 1);
    return model;
  }

  release(model: ServingModel): void {
    const left = (this.leases.get(model) ?? 1) - 1;
    if (left > 0) {
      this.leases.set(model, left);
      return;
    }
    this.leases.delete(model);
    if (this.retired.delete(model)) model.dispose();
  }

  /** Load CURRENT if it differs from what is served (and was not refused). Resolves when done; never throws. */
  check(reason: string): Promise<void> {
    this.loading = this.loading.then(() => this.loadIfNew(reason));
    return this.loading;
  }

  private async loadIfNew(reason: string): Promise<void> {
    if (this.stopped) return;
    const { modelRegistry, logger, metrics } = this.deps;
    let version: string | undefined;
    try {
      version = modelRegistry.currentVersion();
    } catch (error) {
      logger.error({ err: error }, 'cannot read the model pointer; keeping the current model');
      return;
    }
    if (version === undefined || version === this.current?.version || version === this.refused) return;
    const started = performance.now();
    try {
      if (!this.deps.storeReady()) {
        throw new StoreNotReadyError(
          'the counts view has not caught up with the changelog yet (needed for centroids and popularity)',
        );
      }
      const prepared = await prepareInWorker({
        modelDir: modelRegistry.root,
        storePath: this.deps.storePath,
        version,
        candidates: this.deps.candidates,
      });
      const model = new ServingModel(prepared);
      if (this.stopped) {
        model.dispose();
        return;
      }
      const previous = this.current;
      this.current = model;
      this.refused = undefined;
      if (previous) this.retire(previous);
      const seconds = (performance.now() - started) / 1000;
      metrics.modelLoads.inc({ outcome: 'loaded' });
      metrics.modelLoadSeconds.observe(seconds);
      logger.info(
        {
          version,
          kind: model.kind,
          previous: previous?.version ?? null,
          reason,
          seconds: Number(seconds.toFixed(3)),
          users: model.numUsers,
          items: model.numItems,
        },
        'model loaded and swapped in',
      );
      this.deps.onSwap?.(model);
    } catch (error) {
      // Waiting for the view to catch up is no failed load: counted, it would fire the failed-load alert at every start.
      if (!(error instanceof StoreNotReadyError)) metrics.modelLoads.inc({ outcome: 'failed' });
      // A version that is broken stays refused until CURRENT moves; one that failed for a passing reason (the
      // store not created yet) is tried again on the next poll.
      const retriable = isRetriable(error);
      if (!retriable) this.refused = version;
      logger.error(
        { err: error, version, reason, serving: this.current?.version ?? null },
        retriable
          ? 'model not loaded yet: retrying on the next poll; the previous model keeps serving'
          : 'model refused: it failed to verify or load; the previous model keeps serving',
      );
    }
  }

  private retire(model: ServingModel): void {
    if ((this.leases.get(model) ?? 0) === 0) model.dispose();
    else this.retired.add(model);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.loading;
  }
}
