import {
  type Interactions,
  kCore,
  numItems,
  numPairs,
  numUsers,
  partitionByMask,
  protocolSplit,
  Random,
  splitPerUser,
} from '@pncf/data';
import { evaluateModel, type MetricName, type Recommender, tfRuntime } from '@pncf/evaluation';
import {
  fitPncf,
  loadArtifact,
  type ModelArtifact,
  type PncfConfig,
  PncfRecommender,
  type PncfWarmStart,
  remapModel,
  resolvePncfConfig,
  saveArtifact,
  TowerInference,
} from '@pncf/pncf';
import type { ModelRegistry, ModelVersion } from '@pncf/registry';
import type { InteractionStore } from '@pncf/store';
import { type Recovery, verifiedCurrent } from './baseline.js';
import type { TrainerConfig } from './config.js';
import { gate } from './gate.js';

export const STEPS = [
  'snapshot',
  'prepare',
  'bags',
  'pretrain',
  'tower',
  'evaluate',
  'gate',
  'refit',
  'publish',
] as const;
export type Step = (typeof STEPS)[number];

export const REPORT_KS = [5, 10, 20] as const;

export interface HoldoutReport {
  users: number;
  ks: number[];
  metrics: Partial<Record<MetricName, number[]>>;
}

/** What the registry records with every version (version.json metadata). */
export interface ModelMetadata {
  snapshotSequence: number;
  data: { users: number; items: number; pairs: number; total: number };
  holdout: HoldoutReport;
  gate: { metric: string; k: number; candidate: number; current: number | null; tolerance: number; reason: string };
  refitOnAll: boolean;
  /** Whether the word2vec tables and the tower continued from the serving model. */
  warmStart: { embeddings: boolean; tower: boolean };
  /** Set when this run found CURRENT corrupted and rolled it back before building on it. */
  recovery?: Recovery;
  config: PncfConfig;
  seconds: Partial<Record<Step, number>>;
  backend: string;
  createdBy: string;
}

export type RunOutcome =
  | { outcome: 'published'; version: ModelVersion<ModelMetadata>; metadata: ModelMetadata }
  | { outcome: 'rejected'; reason: string; metadata: ModelMetadata }
  | { outcome: 'skipped'; reason: string };

export interface PipelineDeps {
  store: InteractionStore;
  modelRegistry: ModelRegistry<ModelMetadata>;
  config: TrainerConfig;
  /** A step finished (for logs, metrics and progress). */
  onStep?: (step: Step, seconds: number, detail?: Record<string, unknown>) => void;
  /** CURRENT failed verification and was rolled back (or, with no intact version, left for this run to replace). */
  onRecovery?: (recovery: Recovery) => void;
  signal?: AbortSignal;
}

/**
 * The PNCF config of a run, through the one precedence order (resolvePncfConfig): defaults → TRAIN_PRESET →
 * TRAIN_W2V_EPOCHS (both word2vec tables) and TRAIN_TOWER_EPOCHS, where 0 keeps the preset's value.
 */
export function presetFor(config: TrainerConfig): PncfConfig {
  return resolvePncfConfig(config.TRAIN_PRESET, {
    word2vec: { epochs: config.TRAIN_W2V_EPOCHS || undefined },
    tower: { epochs: config.TRAIN_TOWER_EPOCHS || undefined },
  });
}

/**
 * The gate's baseline: the incumbent (serving) model scored on the candidate's snapshot. "fit" only re-indexes
 * its tables to the snapshot's id space (users it does not know get a cold-start vector from their items);
 * scoring is full ranking by the shared TowerInference, and items it never saw cannot be recommended by it.
 */
class IncumbentOnSnapshot implements Recommender {
  readonly name = 'current';
  private inference?: TowerInference;
  private knownItems?: Uint8Array;
  constructor(private readonly artifact: ModelArtifact) {}
  async fit(data: Interactions): Promise<void> {
    const { artifact } = this;
    const remapped = remapModel(artifact.model, artifact.userIds, artifact.itemIds, data);
    this.inference = TowerInference.fromModel(remapped.model);
    this.knownItems = remapped.knownItems;
  }
  scoreUsers(users: Uint32Array, out: Float32Array): void {
    this.inference!.scoreUsers(users, out);
    const known = this.knownItems!;
    const m = known.length;
    for (let b = 0; b < users.length; b++) {
      for (let i = 0; i < m; i++) if (known[i] === 0) out[b * m + i] = Number.NEGATIVE_INFINITY;
    }
  }
  dispose(): void {
    this.inference?.dispose();
  }
}

/**
 * The holdout rows of at most `max` users drawn with a seed: full ranking costs users × items tower passes, which
 * for every author of the author-tag set (36k × 17k) would take longer than the training itself.
 */
export function sampleHoldout(test: Interactions, max: number, seed: number): Interactions {
  const { indptr, rows } = test.byUser;
  const users: number[] = [];
  for (let u = 0; u < rows; u++) if (indptr[u + 1]! > indptr[u]!) users.push(u);
  if (users.length <= max) return test;
  const rng = new Random(seed);
  for (let j = 0; j < max; j++) {
    const r = j + rng.int(users.length - j);
    [users[j], users[r]] = [users[r]!, users[j]!];
  }
  const mask = new Uint8Array(test.byUser.indices.length);
  for (const u of users.slice(0, max)) mask.fill(1, indptr[u]!, indptr[u + 1]!);
  return partitionByMask(test, mask).selected;
}

async function holdoutReport(model: Recommender, train: Interactions, test: Interactions): Promise<HoldoutReport> {
  const evaluation = await evaluateModel(model, train, test, { ks: REPORT_KS });
  const metrics: HoldoutReport['metrics'] = {};
  for (const name of ['precision', 'recall', 'ndcg', 'hr', 'mrr'] as const) metrics[name] = evaluation.metrics[name];
  return { users: evaluation.users, ks: evaluation.ks, metrics };
}

function metricAt(report: HoldoutReport, metric: MetricName, k: number): number {
  const at = report.ks.indexOf(k);
  const value = at >= 0 ? report.metrics[metric]?.[at] : undefined;
  if (value === undefined) throw new Error(`holdout report has no ${metric}@${k}`);
  return value;
}

/**
 * One training run: snapshot → (k-core) → holdout split → bags → word2vec (warm-started from the serving model
 * by id) → tower → holdout evaluation of the candidate AND of the serving model → gate → optional refit on all
 * data → publish. Nothing is written to the registry before the gate passes, so a run that fails or is killed
 * at any step leaves the serving model as it was.
 */
export async function trainOnce(deps: PipelineDeps): Promise<RunOutcome> {
  const { store, modelRegistry, config, signal } = deps;
  const seconds: Partial<Record<Step, number>> = {};
  let mark = performance.now();
  const step = (name: Step, detail?: Record<string, unknown>) => {
    const now = performance.now();
    seconds[name] = (now - mark) / 1000;
    mark = now;
    deps.onStep?.(name, seconds[name]!, detail);
  };
  // SIGTERM stops a run between steps; everything before publish leaves the registry untouched.
  const checkpoint = () => signal?.throwIfAborted();

  const runtime = await tfRuntime();
  const snapshot = store.snapshot();
  step('snapshot', { sequence: snapshot.sequence, pairs: numPairs(snapshot.interactions) });
  checkpoint();
  let data = snapshot.interactions;
  if (numPairs(data) < config.TRAIN_MIN_PAIRS) {
    return { outcome: 'skipped', reason: `${numPairs(data)} pairs < TRAIN_MIN_PAIRS ${config.TRAIN_MIN_PAIRS}` };
  }
  if (config.TRAIN_KCORE > 1) data = kCore(data, config.TRAIN_KCORE);
  const pncfConfig = presetFor(config);
  const candidate = new PncfRecommender(pncfConfig);
  const split = candidate.usesValidation
    ? protocolSplit(data, config.TRAIN_SEED, config.TRAIN_HOLDOUT)
    : { ...splitPerUser(data, config.TRAIN_HOLDOUT, config.TRAIN_SEED), fit: undefined, validation: undefined };
  const fitData = split.fit ?? split.train;

  // Warm start: users and items the serving model knows continue from its word2vec tables.
  const { current, recovery } = verifiedCurrent(modelRegistry);
  if (recovery) deps.onRecovery?.(recovery);
  // Read once: it seeds the warm start here and is evaluated against the candidate after the fit.
  const serving = current ? loadArtifact(current.dir) : undefined;
  // The fit matches rows by id (known users and items continue, new ones start fresh) and keeps the serving
  // tower when it has the configured shape.
  const warmStart: PncfWarmStart | undefined =
    serving && pncfConfig.pretrain
      ? {
          ...(serving.pretrained
            ? { embeddings: { ...serving.pretrained, userIds: serving.userIds, itemIds: serving.itemIds } }
            : {}),
          tower: serving.model.tower,
        }
      : undefined;
  step('prepare', {
    users: numUsers(data),
    items: numItems(data),
    pairs: numPairs(data),
    baseline: current?.version ?? null,
  });
  checkpoint();

  const fit = await candidate.fit(fitData, {
    seed: config.TRAIN_SEED,
    ...(split.validation ? { validation: split.validation } : {}),
    ...(warmStart ? { warmStart } : {}),
  });
  const { report } = fit;
  seconds.bags = report.seconds.bags;
  seconds.pretrain = report.seconds.pretrain;
  seconds.tower = report.seconds.tower;
  deps.onStep?.('bags', report.seconds.bags);
  deps.onStep?.('pretrain', report.seconds.pretrain, { pairsPerSecond: Math.round(report.pretrainPairsPerSecond) });
  deps.onStep?.('tower', report.seconds.tower, {
    samplesPerSecond: Math.round(report.towerSamplesPerSecond),
    bestEpoch: report.bestEpoch,
    warmStart: fit.warmStarted.tower,
  });
  mark = performance.now();
  checkpoint();

  const evaluated = sampleHoldout(split.test, config.TRAIN_EVAL_USERS, config.TRAIN_SEED);
  const holdout = await holdoutReport(candidate, split.train, evaluated);
  let currentValue: number | undefined;
  if (serving) {
    const baseline = new IncumbentOnSnapshot(serving);
    await baseline.fit(split.train);
    currentValue = metricAt(await holdoutReport(baseline, split.train, evaluated), config.GATE_METRIC, config.GATE_K);
    baseline.dispose();
  }
  const candidateValue = metricAt(holdout, config.GATE_METRIC, config.GATE_K);
  step('evaluate', { candidate: candidateValue, current: currentValue ?? null });
  checkpoint();

  const decision = gate({ candidate: candidateValue, current: currentValue, tolerance: config.GATE_TOLERANCE });
  const metadata: ModelMetadata = {
    snapshotSequence: snapshot.sequence,
    data: { users: numUsers(data), items: numItems(data), pairs: numPairs(data), total: snapshot.total },
    holdout,
    gate: {
      metric: config.GATE_METRIC,
      k: config.GATE_K,
      candidate: candidateValue,
      current: currentValue ?? null,
      tolerance: config.GATE_TOLERANCE,
      reason: decision.reason,
    },
    refitOnAll: config.TRAIN_REFIT_ALL,
    warmStart: { ...fit.warmStarted },
    ...(recovery ? { recovery } : {}),
    config: pncfConfig,
    seconds,
    backend: runtime.backend,
    createdBy: `pncf-trainer pid ${process.pid}`,
  };
  step('gate', { publish: decision.publish, reason: decision.reason });
  // Scoring is done: the candidate's fit result is what is published or continued from.
  candidate.dispose();
  if (!decision.publish) return { outcome: 'rejected', reason: decision.reason, metadata };

  let final = { fit, config: pncfConfig };
  if (config.TRAIN_REFIT_ALL) {
    // Same recipe on all data, for as many epochs as early stopping chose: the holdout pairs are real signal.
    const refitConfig: PncfConfig = {
      ...pncfConfig,
      tower: { ...pncfConfig.tower, epochs: report.bestEpoch + 1, patience: 0 },
    };
    // Warm-started from the candidate's tables and tower (its fit data shares the ids of all data).
    const refit = await fitPncf(data, refitConfig, {
      seed: config.TRAIN_SEED + 1,
      warmStart: { ...(fit.pretrained ? { embeddings: fit.pretrained } : {}), tower: fit.model.tower },
    });
    final = { fit: refit, config: refitConfig };
    step('refit');
    checkpoint();
  }
  seconds.refit ??= 0;

  const staged = modelRegistry.createStaging();
  saveArtifact(staged, {
    model: final.fit.model,
    userIds: data.userIds,
    itemIds: data.itemIds,
    config: final.config,
    metrics: { holdout, gate: metadata.gate, snapshotSequence: snapshot.sequence },
    ...(final.fit.pretrained ? { pretrained: final.fit.pretrained } : {}),
  });
  checkpoint();
  const version = modelRegistry.publish(staged, metadata);
  modelRegistry.prune(config.KEEP_VERSIONS);
  step('publish', { version: version.version });
  return { outcome: 'published', version, metadata };
}
