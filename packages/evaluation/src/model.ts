import type { Interactions } from '@pncf/data';

/**
 * What every model evaluated by the harness implements: baselines, NeuMF, PNCF and NPNCF alike.
 * The harness excludes each user's train items itself, so scoreUsers returns raw scores for all items.
 * `Fit` is what `fit` returns (the harness ignores it): a model that has something to hand back — its weights,
 * a fit report, what a later fit may continue from — returns it instead of exposing mutable fields.
 */
export interface Recommender<Fit = unknown> {
  readonly name: string;
  /**
   * Fit on the train split. `validation` (held out from train) is for early stopping and tuning only. After it,
   * scoreUsers scores with this fit's model.
   */
  fit(train: Interactions, options?: FitOptions): Promise<Fit>;
  /**
   * Scores of every item for each user of the block, row-major into `out`
   * (users.length × numItems(train)); higher is better.
   */
  scoreUsers(users: Uint32Array, out: Float32Array): void | Promise<void>;
  /**
   * If true, the experiment runner fits the model on train minus a validation part carved from train and
   * passes that part as `options.validation` (for early stopping / tuning). Otherwise it fits on all of train and
   * gets no `options.validation` (it trains on that part, so nothing may be chosen on it).
   */
  readonly usesValidation?: boolean;
  /** Release native memory (e.g. tfjs tensors) once the runner is done with the model. */
  dispose?(): void;
}

export interface FitOptions {
  seed?: number;
  validation?: Interactions;
  /** Called with progress in [0, 1] on long fits (for progress bars). */
  onProgress?: (fraction: number, message?: string) => void;
  /** Stops a fit that honours it (PNCF's word2vec and scorer loops) within about a batch: it rejects with the reason. */
  signal?: AbortSignal;
}
