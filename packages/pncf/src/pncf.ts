import { type Interactions, selectRows } from '@pncf/data';
import type { Recommender } from '@pncf/evaluation';
import type { PncfConfig } from './config.js';
import { fitPncf, isHistoryModel, type PncfFit, type PncfFitOptions, pncfUsesValidation } from './fit.js';
import { HistoryInference } from './history-inference.js';
import { type PncfModel, prepareTower, TowerInference } from './inference.js';
import { ParallelScorer } from './parallel-scorer.js';

export interface PncfRecommenderOptions {
  /** Name in experiment results (default PNCF+ for the history scorer, else PNCF, or NPNCF without pre-training). */
  name?: string;
  /**
   * Threads that score (this one included): full ranking in evaluation is bound by matmul FLOPs on one
   * single-threaded wasm backend, so more threads spread it over the cores. 1 (default): this thread only.
   */
  scoringThreads?: number;
}

/** PNCF, PNCF+ (config.scorer 'history') or NPNCF (config.pretrain false) as a harness Recommender. */
export class PncfRecommender implements Recommender<PncfFit> {
  readonly name: string;
  /** Early stopping needs the harness to hold out a validation part of train. */
  readonly usesValidation: boolean;
  private readonly scoringThreads: number;
  /** The model of the last fit, kept for scoring only: the fit's result belongs to the caller. */
  private model?: PncfModel;
  private inference?: TowerInference;
  private parallel?: Promise<ParallelScorer>;
  /** PNCF+: the history model and the train interactions it takes each user's history from. */
  private history?: { inference: HistoryInference; train: Interactions };

  constructor(
    readonly config: PncfConfig,
    options: PncfRecommenderOptions = {},
  ) {
    this.name = options.name ?? (config.scorer === 'history' ? 'PNCF+' : config.pretrain ? 'PNCF' : 'NPNCF');
    this.scoringThreads = options.scoringThreads ?? 1;
    this.usesValidation = pncfUsesValidation(config);
  }

  /**
   * `fitPncf` on train; the returned fit (model, word2vec tables, report, what was warm-started) is the caller's
   * to save or to continue from (`options.warmStart` of a later fit). Nothing carries over between fits here.
   */
  async fit(train: Interactions, options: PncfFitOptions = {}): Promise<PncfFit> {
    const fit = await fitPncf(train, this.config, options);
    this.disposeScorers();
    if (isHistoryModel(fit.model)) this.history = { inference: new HistoryInference(fit.model), train };
    else this.model = fit.model;
    return fit;
  }

  scoreUsers(users: Uint32Array, out: Float32Array): void | Promise<void> {
    if (this.history) {
      const { inference, train } = this.history;
      inference.scoreVectors(inference.userVectors(users, selectRows(train.byUser, users)), out);
      return;
    }
    if (!this.model) throw new Error(`${this.name}: scoreUsers before fit`);
    if (this.scoringThreads <= 1) {
      this.inference ??= TowerInference.fromModel(this.model);
      this.inference.scoreUsers(users, out);
      return;
    }
    // The parallel scorer builds its own inference on this thread from the prepared arrays.
    this.parallel ??= ParallelScorer.create(prepareTower(this.model), this.scoringThreads);
    return this.parallel.then((parallel) => parallel.scoreUsers(users, out));
  }

  dispose(): void {
    this.disposeScorers();
  }

  private disposeScorers(): void {
    this.model = undefined;
    this.history?.inference.dispose();
    this.history = undefined;
    this.inference?.dispose();
    this.inference = undefined;
    // Worker threads end asynchronously; nothing waits on them.
    void this.parallel?.then((parallel) => parallel.dispose()).catch(() => {});
    this.parallel = undefined;
  }
}
