import {
  carveValidation,
  deriveSeed,
  type Interactions,
  numItems,
  numPairs,
  numUsers,
  partitionByMask,
  protocolSplit,
  Random,
  splitPerUser,
} from '@pncf/data';
import { type Evaluation, type MetricName, RankOnly, tfRuntime } from '@pncf/evaluation';
import {
  ArtifactRecommender,
  fitPncf,
  isHistoryModel,
  loadArtifact,
  type ModelArtifact,
  mergePncfConfig,
  modelKind,
  type PncfConfig,
  type PncfFit,
  PncfRecommender,
  type PncfWarmStart,
  parsePncfConfig,
  pncfUsesValidation,
  presets,
  resolvePncfConfig,
  saveArtifact,
} from '@pncf/pncf';
import type { ModelRegistry, ModelVersion } from '@pncf/registry';
import type { InteractionStore } from '@pncf/store';
import { type Recovery, verifiedCurrent } from './baseline.js';
import { type PairedComparison, pairedBootstrap } from './bootstrap.js';
import type { TrainerConfig } from './config.js';
import { divergedCandidate, type GateRule, gate, windowGate } from './gate.js';
import { trainingData } from './training-data.js';
import { evaluatePerUser, type PerUserEvaluation, planWindow, type WindowPlan, type WindowStats } from './window.js';

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

/**
 * What the candidate's figures (`holdout`) and the gate were measured on, never pairs the candidate trained on:
 * 'window' = the pairs first seen after the serving model's snapshot (every version after the first);
 * 'random-holdout' = a per-user random holdout of the snapshot (the first version, with no serving model).
 */
export type EvaluationKind = 'window' | 'random-holdout';

/** The gate's window as recorded in the metadata (see window.ts). */
export interface GateWindow extends WindowStats {
  /** Pairs first seen in (fromSequence, toSequence]. */
  fromSequence: number;
  toSequence: number;
  /** The serving model's snapshotSequence; fromSequence is later when GATE_WINDOW_MAX_SHARE capped the window. */
  incumbentSequence: number;
  /** What both models were ranked for: a seeded sample of at most TRAIN_EVAL_USERS evaluable users, their pairs. */
  evaluated: { users: number; pairs: number };
}

export interface GateRecord {
  metric: string;
  k: number;
  /** Mean metric@K of the candidate and of the serving model over the evaluated users (null: none evaluated). */
  candidate: number | null;
  current: number | null;
  tolerance: number;
  reason: string;
  evaluation: EvaluationKind;
  decision: 'publish' | 'reject';
  rule: GateRule;
  /** The serving version compared with. */
  baseline?: string;
  window?: GateWindow;
  /** Paired bootstrap over the evaluated users: both means and their difference, each with its interval. */
  comparison?: PairedComparison;
}

/** What the registry records with every version (version.json metadata). */
export interface ModelMetadata {
  snapshotSequence: number;
  data: { users: number; items: number; pairs: number; total: number };
  /** What `holdout` was measured on (absent in versions published before the window gate). */
  evaluation: EvaluationKind;
  /** The candidate's metrics on data it never trained on (see `evaluation`); the gate's users. */
  holdout: HoldoutReport;
  gate: GateRecord;
  refitOnAll: boolean;
  /**
   * Whether the word2vec tables and the learned scorer (the tower, or the history model) continued from the
   * serving model. `history` is absent in versions published before PNCF+.
   */
  warmStart: { embeddings: boolean; tower: boolean; history?: boolean };
  /**
   * 'warm': the candidate continued the serving model for TRAIN_WARM_* epochs (and the refit, if any, continued
   * the candidate one epoch); 'full': the preset's recipe. Absent in versions published before it existed.
   */
  recipe?: 'full' | 'warm';
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
 * TRAIN_W2V_EPOCHS (both word2vec tables) and TRAIN_TOWER_EPOCHS (the epochs of the preset's learned scorer: the
 * tower's, or the history model's for `plus`), where 0 keeps the preset's value.
 */
export function presetFor(config: TrainerConfig): PncfConfig {
  const epochs = config.TRAIN_TOWER_EPOCHS || undefined;
  return resolvePncfConfig(config.TRAIN_PRESET, {
    word2vec: { epochs: config.TRAIN_W2V_EPOCHS || undefined },
    ...(presets[config.TRAIN_PRESET].scorer === 'history' ? { history: { epochs } } : { tower: { epochs } }),
  });
}

/**
 * What a fit with `config` continues from the serving model: its word2vec tables when they have the config's
 * dimensions (the serving model may come from another preset), its tower for a tower config, its history model
 * for a history config (fitPncf uses the tower only when its shape is the config's, the history model only when
 * its dim is). Nothing for a config without pre-training.
 */
export function warmStartFrom(
  serving: Pick<ModelArtifact, 'model' | 'pretrained' | 'userIds' | 'itemIds'> | undefined,
  config: PncfConfig,
): PncfWarmStart | undefined {
  if (!serving || !config.pretrain) return undefined;
  const { pretrained, model, userIds, itemIds } = serving;
  const sameDims =
    pretrained !== undefined &&
    pretrained.users.dim === config.userWord2Vec.dim &&
    pretrained.items.dim === config.itemWord2Vec.dim;
  const warm: PncfWarmStart = sameDims ? { embeddings: { ...pretrained, userIds, itemIds } } : {};
  if (config.scorer === 'history' && isHistoryModel(model)) warm.history = { model, userIds, itemIds };
  if (config.scorer === 'tower' && !isHistoryModel(model)) warm.tower = model.tower;
  return warm;
}

/**
 * The recipe of a run that continues from the serving model (its word2vec tables and its tower or history model):
 * the tables and the scorer are already trained, so TRAIN_WARM_W2V_EPOCHS and TRAIN_WARM_SCORER_EPOCHS epochs over
 * the current data bring them up to date, without early stopping (no validation part is carved, no per-epoch
 * ranking). This is what keeps a steady-state run within about a minute at author-tag scale; the first run, or one
 * whose serving model does not fit the config, trains the full recipe. 0 keeps the preset's epochs.
 */
export function warmRunConfig(
  pncfConfig: PncfConfig,
  warm: PncfWarmStart | undefined,
  config: TrainerConfig,
): PncfConfig {
  const scorerWarm = pncfConfig.scorer === 'history' ? warm?.history !== undefined : warm?.tower !== undefined;
  if (!warm?.embeddings || !scorerWarm) return pncfConfig;
  const w2vEpochs = config.TRAIN_WARM_W2V_EPOCHS || undefined;
  const scorerEpochs = config.TRAIN_WARM_SCORER_EPOCHS || undefined;
  // Both 0: the full recipe, and the same object, which is how the run tells the two recipes apart.
  if (w2vEpochs === undefined && scorerEpochs === undefined) return pncfConfig;
  return withEpochs(pncfConfig, w2vEpochs, scorerEpochs, 'a warm run');
}

/**
 * `config` with `word2vec` epochs for both tables and `scorer` epochs for its learned scorer (a tower then trains
 * them all: no early stopping); undefined keeps the config's.
 */
function withEpochs(
  config: PncfConfig,
  word2vec: number | undefined,
  scorer: number | undefined,
  source: string,
): PncfConfig {
  const merged = mergePncfConfig(config, {
    word2vec: { epochs: word2vec },
    ...(config.scorer === 'history'
      ? { history: { epochs: scorer } }
      : { tower: scorer ? { epochs: scorer, patience: 0 } : {} }),
  });
  return parsePncfConfig(merged, source);
}

/**
 * The model to publish once the gate passed, trained on all data (the evaluated pairs are real signal, and the
 * newest).
 * - After a full-recipe candidate: the candidate's recipe once more — the same start (the serving model's tables
 *   and tower or history model when the candidate was warm-started from them, else fresh) and, for a tower that
 *   early-stopped, as many tower epochs as early stopping chose (bestEpoch + 1, no early stopping: there is no
 *   validation part left); other configs train their configured epochs again. Not continued from the candidate,
 *   which would train it about twice as long as the model that passed the gate.
 * - After a warm-recipe candidate (a few epochs continuing the serving model): the candidate itself continues on
 *   all data for one word2vec and one scorer epoch, a catch-up on the window rather than a second fit — the
 *   steady state stays incremental, like the candidate.
 */
async function refitOnAll(
  data: Interactions,
  candidate: {
    fit: PncfFit;
    fitData: Interactions;
    pncfConfig: PncfConfig;
    warmRecipe: boolean;
    warmStart?: PncfWarmStart;
  },
  config: TrainerConfig,
  signal?: AbortSignal,
): Promise<{ fit: PncfFit; config: PncfConfig }> {
  const { fit, fitData, pncfConfig, warmRecipe, warmStart } = candidate;
  const seed = config.TRAIN_SEED + 1;
  const stoppable = signal ? { signal } : {};
  if (warmRecipe) {
    const catchUp = withEpochs(pncfConfig, 1, 1, 'the catch-up refit');
    const fromCandidate = warmStartFrom(
      { model: fit.model, pretrained: fit.pretrained, userIds: fitData.userIds, itemIds: fitData.itemIds },
      catchUp,
    );
    const refit = await fitPncf(data, catchUp, {
      seed,
      ...stoppable,
      ...(fromCandidate ? { warmStart: fromCandidate } : {}),
    });
    return { fit: refit, config: catchUp };
  }
  const refitConfig: PncfConfig = pncfUsesValidation(pncfConfig)
    ? { ...pncfConfig, tower: { ...pncfConfig.tower, epochs: fit.report.bestEpoch + 1, patience: 0 } }
    : pncfConfig;
  const refit = await fitPncf(data, refitConfig, { seed, ...stoppable, ...(warmStart ? { warmStart } : {}) });
  return { fit: refit, config: refitConfig };
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

function holdoutReport(evaluation: Evaluation): HoldoutReport {
  const metrics: HoldoutReport['metrics'] = {};
  // No users, no figures (rather than zeros that read like a model that found nothing).
  if (evaluation.users > 0) {
    for (const name of ['precision', 'recall', 'ndcg', 'hr', 'mrr'] as const) metrics[name] = evaluation.metrics[name];
  }
  return { users: evaluation.users, ks: evaluation.ks, metrics };
}

const meanOf = (values: Float64Array): number | null =>
  values.length > 0 ? values.reduce((sum, value) => sum + value, 0) / values.length : null;

/**
 * The candidate's split. With a window: the fit part is every pair before it (a validation part carved from it per
 * user when the preset early-stops), the test part its ground truth. Without (the first model): the per-user random
 * holdout (TRAIN_HOLDOUT) as before.
 */
function splitFor(
  data: Interactions,
  plan: WindowPlan | undefined,
  config: TrainerConfig,
  usesValidation: boolean,
): { train: Interactions; test: Interactions; fit?: Interactions; validation?: Interactions } {
  if (!plan) {
    return usesValidation
      ? protocolSplit(data, config.TRAIN_SEED, config.TRAIN_HOLDOUT)
      : splitPerUser(data, config.TRAIN_HOLDOUT, config.TRAIN_SEED);
  }
  if (!usesValidation) return { train: plan.before, test: plan.truth };
  return { train: plan.before, test: plan.truth, ...carveValidation(plan.before, config.TRAIN_SEED) };
}

/**
 * One training run: snapshot → (k-core) → split → bags → word2vec (warm-started from the serving model by id) →
 * tower → evaluation → gate → optional refit on all data → publish. With a serving model the split is the window
 * of pairs first seen after its snapshot (held out of the candidate's fit; both models ranked on it, compared by a
 * paired bootstrap); the first model gets a per-user random holdout and no comparison. Nothing is written to the
 * registry before the gate passes, so a run that fails or is killed at any step leaves the serving model as it was.
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
  // SIGTERM stops a run between steps, and inside the fits (word2vec, tower or history epochs, refit) within about
  // a batch; everything before publish leaves the registry untouched.
  const checkpoint = () => signal?.throwIfAborted();

  const runtime = await tfRuntime();
  const snapshot = store.snapshot();
  step('snapshot', { sequence: snapshot.sequence, pairs: numPairs(snapshot.interactions) });
  checkpoint();
  if (numPairs(snapshot.interactions) < config.TRAIN_MIN_PAIRS) {
    const pairs = numPairs(snapshot.interactions);
    return { outcome: 'skipped', reason: `${pairs} pairs < TRAIN_MIN_PAIRS ${config.TRAIN_MIN_PAIRS}` };
  }
  const { data, firstSeen } = trainingData(snapshot, config.TRAIN_KCORE);
  // Warm start: users and items the serving model knows continue from its word2vec tables.
  const { current, recovery } = verifiedCurrent(modelRegistry);
  if (recovery) deps.onRecovery?.(recovery);
  // Read once: it seeds the warm start here and is evaluated against the candidate after the fit.
  const serving = current ? loadArtifact(current.dir) : undefined;
  const presetConfig = presetFor(config);
  // The fit matches rows by id (known users and items continue, new ones start fresh) and keeps the serving
  // tower or history model when it is of the configured kind and shape.
  const warmStart = warmStartFrom(serving, presetConfig);
  const pncfConfig = warmRunConfig(presetConfig, warmStart, config);
  const recipe: 'full' | 'warm' = pncfConfig === presetConfig ? 'full' : 'warm';
  const candidate = new PncfRecommender(pncfConfig);
  // The gate on the future: the pairs first seen after the serving model's snapshot, which neither model trains on.
  const plan =
    current && serving
      ? planWindow(data, firstSeen, {
          incumbentSequence: current.manifest.metadata.snapshotSequence ?? snapshot.sequence,
          incumbentUserIds: serving.userIds,
          maxShare: config.GATE_WINDOW_MAX_SHARE,
          sequence: snapshot.sequence,
        })
      : undefined;
  if (plan && numPairs(plan.before) < config.TRAIN_MIN_PAIRS) {
    const reason = `${numPairs(plan.before)} pairs before the gate window (first seen ≤ sequence ${plan.from}) < TRAIN_MIN_PAIRS ${config.TRAIN_MIN_PAIRS}`;
    return { outcome: 'skipped', reason };
  }
  const split = splitFor(data, plan, config, candidate.usesValidation);
  const fitData = split.fit ?? split.train;
  step('prepare', {
    users: numUsers(data),
    items: numItems(data),
    pairs: numPairs(data),
    baseline: current?.version ?? null,
    ...(serving ? { baselineKind: modelKind(serving.model) } : {}),
    scorer: pncfConfig.scorer,
    recipe,
    evaluation: plan ? 'window' : 'random-holdout',
    ...(plan ? { window: { from: plan.from, to: plan.to, ...plan.stats } } : {}),
  });
  checkpoint();

  const fit = await candidate.fit(fitData, {
    seed: config.TRAIN_SEED,
    ...(signal ? { signal } : {}),
    ...(split.validation ? { validation: split.validation } : {}),
    ...(warmStart ? { warmStart } : {}),
  });
  const { report } = fit;
  seconds.bags = report.seconds.bags;
  seconds.pretrain = report.seconds.pretrain;
  seconds.tower = report.seconds.tower;
  deps.onStep?.('bags', report.seconds.bags);
  deps.onStep?.('pretrain', report.seconds.pretrain, { pairsPerSecond: Math.round(report.pretrainPairsPerSecond) });
  // 'tower' is the learned scorer's step: the tower, or the history model (PNCF+).
  deps.onStep?.('tower', report.seconds.tower, {
    scorer: pncfConfig.scorer,
    samplesPerSecond: Math.round(report.towerSamplesPerSecond),
    bestEpoch: report.bestEpoch,
    warmStart: pncfConfig.scorer === 'history' ? (fit.warmStarted.history ?? false) : fit.warmStarted.tower,
  });
  mark = performance.now();
  checkpoint();

  // Both models rank every item they may (items with a pair before the window; the serving model only those it
  // knows) for the same sampled users, each user's earlier items excluded: one per-user value each for the gate.
  const evaluated = sampleHoldout(split.test, config.TRAIN_EVAL_USERS, config.TRAIN_SEED);
  const perUser = { ks: REPORT_KS, metric: config.GATE_METRIC, k: config.GATE_K };
  // Scoring ends here, also when it fails: the candidate's fit result is what is published or continued from.
  let candidateEval: PerUserEvaluation;
  try {
    candidateEval = await evaluatePerUser(
      plan ? new RankOnly(candidate, plan.rankable) : candidate,
      split.train,
      evaluated,
      perUser,
    );
  } finally {
    candidate.dispose();
  }
  const holdout = holdoutReport(candidateEval);
  let comparison: PairedComparison | undefined;
  let currentValue: number | null = null;
  if (plan && serving) {
    // The gate's baseline: the serving model scored on the candidate's snapshot (see ArtifactRecommender).
    const baseline = new ArtifactRecommender(serving, 'current');
    let incumbentEval: PerUserEvaluation;
    try {
      await baseline.fit(plan.before);
      incumbentEval = await evaluatePerUser(new RankOnly(baseline, plan.rankable), split.train, evaluated, perUser);
    } finally {
      baseline.dispose();
    }
    currentValue = meanOf(incumbentEval.values);
    if (candidateEval.values.length > 0) {
      comparison = pairedBootstrap(candidateEval.values, incumbentEval.values, {
        seed: deriveSeed(config.TRAIN_SEED, 3),
      });
    }
  }
  const candidateValue = meanOf(candidateEval.values);
  step('evaluate', {
    users: candidateEval.users,
    candidate: candidateValue,
    current: currentValue,
    ...(comparison ? { difference: comparison.difference } : {}),
  });
  checkpoint();

  const label = `${config.GATE_METRIC}@${config.GATE_K}`;
  const decision =
    divergedCandidate(report.history) ??
    (plan
      ? windowGate({
          comparison,
          users: plan.stats.evaluable.users,
          pairs: plan.stats.evaluable.pairs,
          minUsers: config.GATE_MIN_WINDOW_USERS,
          minPairs: config.GATE_MIN_WINDOW_PAIRS,
          tolerance: config.GATE_TOLERANCE,
          label,
        })
      : gate({ candidate: candidateValue ?? Number.NaN, current: undefined, tolerance: config.GATE_TOLERANCE }));
  const evaluation: EvaluationKind = plan ? 'window' : 'random-holdout';
  const metadata: ModelMetadata = {
    snapshotSequence: snapshot.sequence,
    data: { users: numUsers(data), items: numItems(data), pairs: numPairs(data), total: snapshot.total },
    evaluation,
    holdout,
    gate: {
      metric: config.GATE_METRIC,
      k: config.GATE_K,
      candidate: candidateValue,
      current: currentValue,
      tolerance: config.GATE_TOLERANCE,
      reason: decision.reason,
      evaluation,
      decision: decision.publish ? 'publish' : 'reject',
      rule: decision.rule,
      ...(current && plan ? { baseline: current.version } : {}),
      ...(plan
        ? {
            window: {
              fromSequence: plan.from,
              toSequence: plan.to,
              incumbentSequence: plan.incumbentSequence,
              ...plan.stats,
              evaluated: { users: candidateEval.users, pairs: numPairs(evaluated) },
            },
          }
        : {}),
      ...(comparison ? { comparison } : {}),
    },
    refitOnAll: config.TRAIN_REFIT_ALL,
    recipe,
    warmStart: { ...fit.warmStarted, history: fit.warmStarted.history ?? false },
    ...(recovery ? { recovery } : {}),
    config: pncfConfig,
    seconds,
    backend: runtime.backend,
    createdBy: `pncf-trainer pid ${process.pid}`,
  };
  step('gate', { publish: decision.publish, rule: decision.rule, reason: decision.reason });
  if (!decision.publish) return { outcome: 'rejected', reason: decision.reason, metadata };

  let final = { fit, config: pncfConfig };
  if (config.TRAIN_REFIT_ALL) {
    const refit = await refitOnAll(
      data,
      { fit, fitData, pncfConfig, warmRecipe: recipe === 'warm', warmStart },
      config,
      signal,
    );
    final = refit;
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
  // Pruning is the caller's: a pruned version's records must be tombstoned on the artifact topic first.
  const version = modelRegistry.publish(staged, metadata);
  step('publish', { version: version.version });
  return { outcome: 'published', version, metadata };
}
