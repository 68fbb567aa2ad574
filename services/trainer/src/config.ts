import { DEFAULT_CHUNK_BYTES, MAX_CHUNK_BYTES } from '@pncf/registry';
import { commonConfigShape, env, heartbeatWithinSession, kafkaSecurityChecks, withCrossChecks } from '@pncf/runtime';
import { z } from 'zod';

/** The presets of @pncf/pncf (PRESET_NAMES; preset.test.ts checks they are the same), named here to keep config light. */
export const TRAIN_PRESETS = ['default', 'reference', 'npncf', 'paper', 'plus'] as const;

const share = (fallback: number, description: string) =>
  z.coerce.number().min(0).max(0.9).default(fallback).describe(description);
const trainerVariables = z.object({
  ...commonConfigShape,
  // Training blocks the event loop by design (tfjs on the main thread), and POST /train only queues a run.
  MAX_EVENT_LOOP_DELAY_MS: env.nonNegativeInt(
    0,
    'Mean event-loop delay over a second above which POST /train answers 503 with Retry-After; 0: off',
  ),
  TF_BACKEND: env.tfBackend(),
  HTTP_PORT: env.port(9102, 'Port of the trainer HTTP server (/healthz, /metrics, POST /train)'),
  CONTROL_TOKEN: z
    .string()
    .min(16, 'use at least 16 characters (e.g. `openssl rand -hex 32`)')
    .optional()
    .describe(
      'Bearer token POST /train requires (Authorization: Bearer <token>; 401 without, 403 when wrong). Unset: POST /train is open while HTTP_HOST is a loopback address and refused (403) otherwise',
    ),
  MODEL_UPDATES_TOPIC: env.string('model-updated', 'Topic on which the trainer announces new model versions'),
  MODEL_ARTIFACTS_TOPIC: env.string(
    'model-artifacts',
    'Compacted topic model versions travel on (a manifest and chunk records per version, keys named by version; tombstones for pruned ones)',
  ),
  MODEL_CHUNK_BYTES: z.coerce
    .number()
    .int()
    .positive()
    .max(MAX_CHUNK_BYTES)
    .default(DEFAULT_CHUNK_BYTES)
    .describe(
      `Bytes of a model file per record on the artifact topic (at most ${MAX_CHUNK_BYTES}, below the broker's 1 MB message.max.bytes)`,
    ),
  CHANGELOG_TOPIC: env.string(
    'interaction-counts',
    'Compacted topic of the new total of every changed (user, item) pair (key [user, item]; no value: the pair is gone)',
  ),
  VIEW_PATH: env.string(
    '.data/trainer/view',
    'Directory of the service’s own LMDB counts view: a materialized view of the changelog that no other process opens',
  ),
  LEADERSHIP_TOPIC: env.string(
    'trainer-leadership',
    'Single-partition topic whose consumer group elects the one trainer that trains and publishes (the member assigned its partition); the others stand by',
  ),
  LEADERSHIP_GROUP: env.string(
    'pncf-trainer-leadership',
    'Consumer group every trainer of one deployment joins for leadership on LEADERSHIP_TOPIC',
  ),
  LEADERSHIP_SESSION_TIMEOUT_MS: env.positiveInt(
    30_000,
    'How long until a leader that stopped heartbeating (dead, hung) loses leadership to a standby',
  ),
  LEADERSHIP_HEARTBEAT_INTERVAL_MS: env.positiveInt(3000, 'Heartbeat interval of the leadership group'),
  PUBLISH_TRANSACTIONAL_ID: env.string(
    'pncf-trainer-publisher',
    'Kafka transactional id every trainer of one deployment publishes with: a new leader’s producer fences the previous leader’s, so a deposed trainer can no longer write',
  ),
  MODEL_DIR: env.string(
    '.data/models',
    'Directory of this service’s own model registry (versions, CURRENT pointer): the trainer publishes from it, the scorer’s receiver fills it from MODEL_ARTIFACTS_TOPIC',
  ),
  TRAIN_INTERVAL_S: z.coerce.number().min(0).default(600).describe('Retrain every N seconds (0: off)'),
  TRAIN_MIN_NEW_INTERACTIONS: z.coerce
    .number()
    .int()
    .min(0)
    .default(20_000)
    .describe('Retrain as soon as this many interactions arrived since the current model (0: off)'),
  TRAIN_POLL_S: z.coerce.number().positive().default(5).describe('How often the view is asked how much is new'),
  TRAIN_AT_STARTUP: env.flag(
    true,
    'Run once the counts view has caught up at start-up, when it has data and no model is current',
  ),
  TRAIN_MIN_PAIRS: env.positiveInt(500, 'Do not train on fewer distinct user-item pairs than this'),
  TRAIN_PRESET: z
    .enum(TRAIN_PRESETS)
    .default('default')
    .describe(
      'PNCF hyper-parameter preset: default (the product’s PNCF), reference (the reference code’s), npncf (no pre-training), paper (the paper’s text), plus (PNCF+: the history model)',
    ),
  TRAIN_TOWER_EPOCHS: z.coerce
    .number()
    .int()
    .min(0)
    .default(0)
    .describe(
      'Override the preset’s epochs of the learned scorer: the tower’s, or the history model’s with plus (0: preset)',
    ),
  TRAIN_W2V_EPOCHS: z.coerce
    .number()
    .int()
    .min(0)
    .default(0)
    .describe('Override the preset word2vec epochs (0: preset)'),
  TRAIN_WARM_W2V_EPOCHS: z.coerce
    .number()
    .int()
    .min(0)
    .default(1)
    .describe(
      'word2vec epochs of a run continued from the serving model (its tables and its tower or history model); 0: as a first run',
    ),
  TRAIN_WARM_SCORER_EPOCHS: z.coerce
    .number()
    .int()
    .min(0)
    .default(1)
    .describe(
      'Epochs of the tower (no early stopping) or history model in a run continued from the serving model; 0: as a first run',
    ),
  TRAIN_KCORE: z.coerce.number().int().min(0).default(0).describe('k-core filter before training (0: off)'),
  TRAIN_HOLDOUT: share(
    0.2,
    'Share of each user’s items held out to evaluate the first model (later ones are judged on the gate window)',
  ),
  TRAIN_EVAL_USERS: env.positiveInt(
    1000,
    'Users the candidate and the serving model are ranked for (full ranking over all items; a seeded sample of the window or holdout users)',
  ),
  TRAIN_SEED: z.coerce.number().int().default(1).describe('Seed of splits, bags and initialisation'),
  TRAIN_REFIT_ALL: env.flag(
    true,
    'After the gate, train on all data (evaluated pairs included) and publish that: a full-recipe candidate’s fit once more (same start, the tower epochs early stopping chose); a warm-recipe candidate continued one epoch of each',
  ),
  TRAIN_RETRIES: z.coerce.number().int().min(0).default(2).describe('Retries of a failed run (exponential backoff)'),
  TRAIN_RETRY_DELAY_S: z.coerce.number().positive().default(10).describe('First retry delay; doubles per retry'),
  GATE_METRIC: z
    .enum(['recall', 'ndcg', 'precision', 'hr', 'mrr'])
    .default('recall')
    .describe('Metric the gate compares'),
  GATE_K: env.positiveInt(10, 'K of the gate metric'),
  GATE_TOLERANCE: z.coerce
    .number()
    .min(0)
    .default(0.01)
    .describe(
      'Reject the new model only when the whole 95 % bootstrap interval of its gate-metric difference to the serving model on the window lies below −this (absolute)',
    ),
  GATE_MIN_WINDOW_USERS: env.positiveInt(
    100,
    'Fewest window users (known to both models, with an adoption of a known item) for a gate decision; below it the candidate is published with the reason',
  ),
  GATE_MIN_WINDOW_PAIRS: env.positiveInt(
    200,
    'Fewest window pairs (those users’ adoptions of known items) for a gate decision; below it the candidate is published with the reason',
  ),
  GATE_WINDOW_MAX_SHARE: z.coerce
    .number()
    .gt(0)
    .max(1)
    .default(0.2)
    .describe(
      'Largest share of all pairs the gate window takes: the newest pairs (whole write transactions) first seen after the serving model’s snapshot; 1: all of them',
    ),
  KEEP_VERSIONS: env.positiveInt(
    5,
    'Model versions kept in this service’s registry (the current one always is); the trainer also tombstones older ones on the artifact topic',
  ),
});

export const trainerConfigSchema = withCrossChecks(trainerVariables, [
  ...kafkaSecurityChecks,
  heartbeatWithinSession('LEADERSHIP_HEARTBEAT_INTERVAL_MS', 'LEADERSHIP_SESSION_TIMEOUT_MS'),
]);

export type TrainerConfig = z.infer<typeof trainerConfigSchema>;
