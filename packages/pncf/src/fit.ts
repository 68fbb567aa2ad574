import { type Interactions, Random } from '@pncf/data';
import { type FitOptions, tfRuntime } from '@pncf/evaluation';
import { sampleBags } from './bags.js';
import { type PncfConfig, parsePncfConfig } from './config.js';
import { type HistoryModel, warmStartHistoryModel } from './history-model.js';
import type { PncfModel } from './inference.js';
import { initTower, type TowerWeights } from './tower-weights.js';
import { initHistoryModel, trainHistoryModel } from './train-history.js';
import { type EpochRecord, trainTower } from './train-tower.js';
import { type Embeddings, trainWord2Vec, warmStartEmbeddings } from './word2vec.js';

/** What a fit learned: the paper's tower, or PNCF+'s history model (config.scorer). */
export type TrainedModel = PncfModel | HistoryModel;

export const isHistoryModel = (model: TrainedModel): model is HistoryModel => model.kind === 'history';

/** What a fit measured, kept with the model (and in its artifact). */
export interface FitReport {
  /** `tower`: training the scorer over the pre-trained tables (the tower, or the history model). */
  seconds: { bags: number; pretrain: number; tower: number; total: number };
  pretrainPairsPerSecond: number;
  /** Training samples per second of the scorer: (user, item) pairs for the tower, users for the history model. */
  towerSamplesPerSecond: number;
  bestEpoch: number;
  history: EpochRecord[];
}

export interface PretrainResult {
  users: Embeddings;
  items: Embeddings;
  pairs: number;
  seconds: { bags: number; pretrain: number };
}

/** Both word2vec tables (input and output vectors) with the raw id of each row: what a later fit continues from. */
export interface PretrainedEmbeddings {
  users: Embeddings;
  items: Embeddings;
  userIds: string[];
  itemIds: string[];
}

/** Where a fit starts from instead of a fresh initialisation (online retraining). */
export interface PncfWarmStart {
  /**
   * word2vec tables of an earlier fit: rows are matched by id, so users and items it knew continue from their
   * vectors and new ones start fresh. Used only when the config pre-trains.
   */
  embeddings?: PretrainedEmbeddings;
  /** Tower weights to continue from; ignored when their shape differs from the config's tower. */
  tower?: TowerWeights;
  /**
   * A history model to continue from (config.scorer 'history'), with the ids of its rows: known users and items
   * keep their rows, new ones start from this fit's pre-trained tables. Ignored when its dim differs.
   */
  history?: { model: HistoryModel; userIds: string[]; itemIds: string[] };
}

export interface PncfFitOptions extends FitOptions {
  warmStart?: PncfWarmStart;
}

/** The result of a fit: everything the caller may keep, save or continue from. */
export interface PncfFit {
  model: TrainedModel;
  /** The word2vec tables with the ids of their rows (absent for NPNCF). Artifacts store them; warm starts use them. */
  pretrained?: PretrainedEmbeddings;
  report: FitReport;
  /**
   * Which parts of `options.warmStart` were actually used: `embeddings` when the config pre-trains and the tables
   * know at least one of the fit's users or items, `tower` when the tower has the config's shape. The trainer
   * records this in each version's metadata.
   */
  warmStarted: { embeddings: boolean; tower: boolean; history?: boolean };
}

/** Whether fits with this config early-stop, i.e. need a validation part held out from train. */
export const pncfUsesValidation = (config: PncfConfig): boolean =>
  config.scorer === 'tower' && config.tower.patience > 0;

/**
 * Step 1 and 2 of PNCF: bags of users per item train the user vectors, bags of items per user train the
 * item vectors. `previous` warm-starts both models (online retraining).
 */
export async function pretrainEmbeddings(
  train: Interactions,
  config: PncfConfig,
  seed: number,
  previous?: { users: Embeddings; items: Embeddings },
  signal?: AbortSignal,
): Promise<PretrainResult> {
  const rng = new Random(seed);
  let t = performance.now();
  const userBags = sampleBags(train.byItem, config.bags, rng.nextU32());
  const itemBags = sampleBags(train.byUser, config.bags, rng.nextU32());
  const bagSeconds = (performance.now() - t) / 1000;
  t = performance.now();
  const run = signal ? { signal } : {};
  const users = await trainWord2Vec(userBags, config.userWord2Vec, rng.nextU32(), previous?.users, run);
  const items = await trainWord2Vec(itemBags, config.itemWord2Vec, rng.nextU32(), previous?.items, run);
  return {
    users: users.embeddings,
    items: items.embeddings,
    pairs: users.pairs + items.pairs,
    seconds: { bags: bagSeconds, pretrain: (performance.now() - t) / 1000 },
  };
}

function uniformTable(rows: number, dim: number, range: number, rng: Random): Float32Array {
  const out = new Float32Array(rows * dim);
  for (let k = 0; k < out.length; k++) out[k] = (rng.next() * 2 - 1) * range;
  return out;
}

/** Whether earlier word2vec tables have a row for at least one user or item of `train`. */
function sharesIds(previous: PretrainedEmbeddings, train: Interactions): boolean {
  const users = new Set(previous.userIds);
  const items = new Set(previous.itemIds);
  return train.userIds.some((id) => users.has(id)) || train.itemIds.some((id) => items.has(id));
}

const sameTowerShape = (tower: TowerWeights, dim: number, config: PncfConfig): boolean =>
  tower.dim === dim &&
  tower.batchNorm === config.tower.batchNorm &&
  tower.layers.map((l) => l.outputs).join() === config.tower.hidden.join();

/**
 * PNCF (or NPNCF with config.pretrain = false) on `train`: bags → word2vec for users and items → the tower with
 * per-epoch negatives and, given `options.validation`, early stopping. Pure apart from the word2vec worker threads:
 * nothing is kept between calls, and continuing from an earlier model is explicit (`options.warmStart`). With
 * one word2vec thread the result is a function of (train, config, seed, warm start).
 */
export async function fitPncf(train: Interactions, config: PncfConfig, options: PncfFitOptions = {}): Promise<PncfFit> {
  parsePncfConfig(config, 'fitPncf');
  await tfRuntime();
  const started = performance.now();
  const rng = new Random(options.seed ?? 1);
  const dim = config.userWord2Vec.dim;
  const numUsers = train.byUser.rows;
  const numItems = train.byUser.cols;
  let userVectors: Float32Array;
  let itemVectors: Float32Array;
  let seconds = { bags: 0, pretrain: 0 };
  let pairs = 0;
  let pretrained: PretrainedEmbeddings | undefined;
  const pretrainSeed = rng.nextU32();
  // Tables that know none of these users and items continue nothing: the fit is then a cold one.
  const offered = config.pretrain ? options.warmStart?.embeddings : undefined;
  // Tables of another dimension (e.g. a 32-d default model before a 64-d PNCF+ one) cannot be continued either.
  const previous =
    offered && offered.users.dim === dim && offered.items.dim === dim && sharesIds(offered, train)
      ? offered
      : undefined;
  if (config.pretrain) {
    options.onProgress?.(0, 'pre-training embeddings');
    const warm = previous && {
      users: warmStartEmbeddings(previous.users, previous.userIds, train.userIds, pretrainSeed),
      items: warmStartEmbeddings(previous.items, previous.itemIds, train.itemIds, pretrainSeed + 1),
    };
    const pre = await pretrainEmbeddings(train, config, pretrainSeed, warm, options.signal);
    pretrained = { users: pre.users, items: pre.items, userIds: train.userIds, itemIds: train.itemIds };
    userVectors = pre.users.vectors;
    itemVectors = pre.items.vectors;
    seconds = pre.seconds;
    pairs = pre.pairs;
  } else {
    userVectors = uniformTable(numUsers, dim, config.randomInitRange, rng.fork(2));
    itemVectors = uniformTable(numItems, dim, config.randomInitRange, rng.fork(3));
  }
  const pretrain = { seconds, pairs, warmStarted: previous !== undefined };
  if (config.scorer === 'history') {
    // Only the history model scores against context vectors: a tower fit draws no such table (and no seed for it).
    const itemContext = pretrained?.items.context ?? uniformTable(numItems, dim, config.randomInitRange, rng.fork(4));
    const tables = { userVectors, itemVectors, itemContext };
    return fitHistory(train, config, options, rng, tables, pretrain, pretrained, started);
  }
  // Drawn even when warm-started, so the seeds that follow do not depend on the warm start.
  const fresh = initTower(dim, config.tower.hidden, config.tower.batchNorm, rng.nextU32());
  const warmTower = options.warmStart?.tower;
  const towerWarmStarted = warmTower !== undefined && sameTowerShape(warmTower, dim, config);
  const tower = towerWarmStarted ? warmTower : fresh;
  const epochs = config.tower.epochs;
  const towerStarted = performance.now();
  const result = await trainTower(
    train,
    { tower, userVectors, itemVectors },
    config.tower,
    rng.nextU32(),
    options.validation,
    (r) =>
      options.onProgress?.(
        (r.epoch + 1) / epochs,
        `epoch ${r.epoch + 1} loss ${r.loss.toFixed(4)}` +
          (r.validationRecall === undefined
            ? ''
            : ` val recall@${config.tower.validationK} ${r.validationRecall.toFixed(4)}`),
      ),
    options.signal,
  );
  const towerSeconds = (performance.now() - towerStarted) / 1000;
  return {
    model: result.model,
    ...(pretrained ? { pretrained } : {}),
    report: {
      seconds: { ...seconds, tower: towerSeconds, total: (performance.now() - started) / 1000 },
      pretrainPairsPerSecond: seconds.pretrain > 0 ? pairs / seconds.pretrain : 0,
      towerSamplesPerSecond: result.samplesPerSecond,
      bestEpoch: result.bestEpoch,
      history: result.history,
    },
    warmStarted: { embeddings: previous !== undefined, tower: towerWarmStarted },
  };
}

/** Step 3 of PNCF+: the history model over the pre-trained tables (or continued from options.warmStart.history). */
async function fitHistory(
  train: Interactions,
  config: PncfConfig,
  options: PncfFitOptions,
  rng: Random,
  tables: { userVectors: Float32Array; itemVectors: Float32Array; itemContext: Float32Array },
  pretrain: { seconds: { bags: number; pretrain: number }; pairs: number; warmStarted: boolean },
  pretrained: PretrainedEmbeddings | undefined,
  started: number,
): Promise<PncfFit> {
  const dim = config.userWord2Vec.dim;
  let start = initHistoryModel(
    { userVectors: tables.userVectors, itemInput: tables.itemVectors, itemOutput: tables.itemContext, dim },
    train.byUser.rows,
    train.byUser.cols,
  );
  const warm = options.warmStart?.history;
  const historyWarmStarted = warm !== undefined && warm.model.dim === dim;
  if (historyWarmStarted) start = warmStartHistoryModel(warm.model, warm.userIds, warm.itemIds, start, train);
  const epochs = config.history.epochs;
  const scorerStarted = performance.now();
  const result = await trainHistoryModel(
    train,
    start,
    config.history,
    rng.nextU32(),
    (r) => options.onProgress?.((r.epoch + 1) / epochs, `epoch ${r.epoch + 1} loss ${r.loss.toFixed(4)}`),
    options.signal,
  );
  const { seconds } = pretrain;
  return {
    model: result.model,
    ...(pretrained ? { pretrained } : {}),
    report: {
      seconds: {
        ...seconds,
        tower: (performance.now() - scorerStarted) / 1000,
        total: (performance.now() - started) / 1000,
      },
      pretrainPairsPerSecond: seconds.pretrain > 0 ? pretrain.pairs / seconds.pretrain : 0,
      towerSamplesPerSecond: result.usersPerSecond,
      bestEpoch: result.history.length - 1,
      history: result.history.map((r) => ({
        epoch: r.epoch,
        loss: r.loss,
        samples: train.byUser.rows,
        seconds: r.seconds,
      })),
    },
    warmStarted: { embeddings: pretrain.warmStarted, tower: false, history: historyWarmStarted },
  };
}
