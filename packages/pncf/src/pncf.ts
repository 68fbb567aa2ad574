import { type Interactions, Random } from '@pncf/data';
import { type FitOptions, type Recommender, tfRuntime } from '@pncf/evaluation';
import { sampleBags } from './bags.js';
import type { PncfConfig } from './config.js';
import { ParallelScorer } from './parallel-scorer.js';
import { type PncfModel, Scorer } from './scorer.js';
import { initTower, type TowerWeights } from './tower-weights.js';
import { type EpochRecord, trainTower } from './train-tower.js';
import { type Embeddings, trainWord2Vec, warmStartEmbeddings } from './word2vec.js';

/** What a fit measured, kept with the model (and in its artifact). */
export interface FitReport {
  seconds: { bags: number; pretrain: number; tower: number; total: number };
  pretrainPairsPerSecond: number;
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

/**
 * Step 1 and 2 of PNCF: bags of users per item train the user vectors, bags of items per user train the
 * item vectors. `previous` warm-starts both models (online retraining).
 */
export async function pretrainEmbeddings(
  train: Interactions,
  config: PncfConfig,
  seed: number,
  previous?: { users: Embeddings; items: Embeddings },
): Promise<PretrainResult> {
  const rng = new Random(seed);
  let t = performance.now();
  const userBags = sampleBags(train.byItem, config.bags, rng.nextU32());
  const itemBags = sampleBags(train.byUser, config.bags, rng.nextU32());
  const bagSeconds = (performance.now() - t) / 1000;
  t = performance.now();
  const users = await trainWord2Vec(userBags, config.userWord2Vec, rng.nextU32(), previous?.users);
  const items = await trainWord2Vec(itemBags, config.itemWord2Vec, rng.nextU32(), previous?.items);
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

/** PNCF (or NPNCF with config.pretrain = false) as a harness Recommender. */
export class PncfRecommender implements Recommender {
  model?: PncfModel;
  report?: FitReport;
  /**
   * The word2vec tables of the last fit with the ids of their rows: the next fit continues from them (warm
   * start, matched by id), and artifacts store them.
   */
  pretrained?: { users: Embeddings; items: Embeddings; userIds: string[]; itemIds: string[] };
  private scorer?: Scorer;
  private parallel?: Promise<ParallelScorer>;
  /**
   * Threads that score (this one included): full ranking in evaluation is bound by matmul FLOPs on one
   * single-threaded wasm backend, so more threads spread it over the cores. 1: score on this thread only.
   */
  scoringThreads = 1;
  /** Tower weights to start from instead of a fresh initialisation (ignored when the shape differs). */
  initialTower?: TowerWeights;
  /** Whether the last fit started from initialTower. */
  towerWarmStarted = false;
  /** Early stopping needs the harness to hold out a validation part of train. */
  readonly usesValidation: boolean;

  constructor(
    readonly config: PncfConfig,
    readonly name = config.pretrain ? 'PNCF' : 'NPNCF',
  ) {
    this.usesValidation = config.tower.patience > 0;
  }

  async fit(train: Interactions, options: FitOptions = {}): Promise<void> {
    await tfRuntime();
    const started = performance.now();
    const rng = new Random(options.seed ?? 1);
    const dim = this.config.userWord2Vec.dim;
    const numUsers = train.byUser.rows;
    const numItems = train.byUser.cols;
    let userVectors: Float32Array;
    let itemVectors: Float32Array;
    let seconds = { bags: 0, pretrain: 0 };
    let pairs = 0;
    const pretrainSeed = rng.nextU32();
    if (this.config.pretrain) {
      options.onProgress?.(0, 'pre-training embeddings');
      const previous = this.pretrained;
      const warm = previous && {
        users: warmStartEmbeddings(previous.users, previous.userIds, train.userIds, pretrainSeed),
        items: warmStartEmbeddings(previous.items, previous.itemIds, train.itemIds, pretrainSeed + 1),
      };
      const pre = await pretrainEmbeddings(train, this.config, pretrainSeed, warm);
      this.pretrained = { users: pre.users, items: pre.items, userIds: train.userIds, itemIds: train.itemIds };
      userVectors = pre.users.vectors;
      itemVectors = pre.items.vectors;
      seconds = pre.seconds;
      pairs = pre.pairs;
    } else {
      userVectors = uniformTable(numUsers, dim, this.config.randomInitRange, rng.fork(2));
      itemVectors = uniformTable(numItems, dim, this.config.randomInitRange, rng.fork(3));
    }
    const fresh = initTower(dim, this.config.tower.hidden, this.config.tower.batchNorm, rng.nextU32());
    // Online retraining continues from the serving tower when it has the same shape (the trainer sets it).
    const warm = this.initialTower;
    const sameShape =
      warm !== undefined &&
      warm.dim === dim &&
      warm.batchNorm === this.config.tower.batchNorm &&
      warm.layers.map((l) => l.outputs).join() === this.config.tower.hidden.join();
    const tower = sameShape ? warm : fresh;
    this.towerWarmStarted = sameShape;
    const epochs = this.config.tower.epochs;
    const towerStarted = performance.now();
    const result = trainTower(
      train,
      { tower, userVectors, itemVectors },
      this.config.tower,
      rng.nextU32(),
      options.validation,
      (r) =>
        options.onProgress?.(
          (r.epoch + 1) / epochs,
          `epoch ${r.epoch + 1} loss ${r.loss.toFixed(4)}` +
            (r.validationRecall === undefined
              ? ''
              : ` val recall@${this.config.tower.validationK} ${r.validationRecall.toFixed(4)}`),
        ),
    );
    const towerSeconds = (performance.now() - towerStarted) / 1000;
    this.disposeScorers();
    this.model = result.model;
    this.scorer = new Scorer(result.model);
    this.report = {
      seconds: { ...seconds, tower: towerSeconds, total: (performance.now() - started) / 1000 },
      pretrainPairsPerSecond: seconds.pretrain > 0 ? pairs / seconds.pretrain : 0,
      towerSamplesPerSecond: result.samplesPerSecond,
      bestEpoch: result.bestEpoch,
      history: result.history,
    };
  }

  scoreUsers(users: Uint32Array, out: Float32Array): void | Promise<void> {
    if (!this.scorer || !this.model) throw new Error(`${this.name}: scoreUsers before fit`);
    if (this.scoringThreads <= 1) {
      this.scorer.scoreUsers(users, out);
      return;
    }
    this.parallel ??= ParallelScorer.create(this.model, this.scoringThreads);
    return this.parallel.then((parallel) => parallel.scoreUsers(users, out));
  }

  dispose(): void {
    this.disposeScorers();
  }

  private disposeScorers(): void {
    this.scorer?.dispose();
    this.scorer = undefined;
    // Worker threads end asynchronously; nothing waits on them.
    void this.parallel?.then((parallel) => parallel.dispose()).catch(() => {});
    this.parallel = undefined;
  }
}
