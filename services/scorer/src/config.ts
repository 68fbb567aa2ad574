import { commonConfigShape, env, heartbeatWithinSession, kafkaSecurityChecks, withCrossChecks } from '@pncf/runtime';
import { z } from 'zod';

const scorerVariables = z.object({
  ...commonConfigShape,
  TF_BACKEND: env.tfBackend(),
  HTTP_PORT: env.port(9103, 'Port of the scorer HTTP server (API, /healthz, /metrics)'),
  API_TOKEN: z
    .string()
    .min(16, 'use at least 16 characters (e.g. `openssl rand -hex 32`)')
    .optional()
    .describe(
      'Bearer token GET /recommendations and /openapi.json require (401 without, 403 when wrong); unset: the API is open to whoever reaches HTTP_HOST',
    ),
  RECOMMENDATIONS_TOPIC: env.string('recommendations', 'Compacted topic of Top-K recommendations, keyed by user'),
  RECOMMENDATIONS_PARTITIONS: env.positiveInt(4, 'Partitions of the recommendations topic when the scorer creates it'),
  MODEL_UPDATES_TOPIC: env.string('model-updated', 'Topic on which the trainer announces new model versions'),
  INTERACTIONS_TOPIC: env.string(
    'interactions',
    'Topic of interaction events; a user’s list is republished after each',
  ),
  CONSUMER_GROUP: env.string(
    'pncf-scorer',
    'Consumer group of the scorer replicas on the interactions topic (beside the ingester’s): each replica publishes the users of the partitions it holds; model-updated events are read by a per-process group derived from it',
  ),
  SESSION_TIMEOUT_MS: env.positiveInt(
    30000,
    'Session timeout of the interactions consumer group: how long until a dead replica’s partitions (and the refresh of their users) pass to the others',
  ),
  HEARTBEAT_INTERVAL_MS: env.positiveInt(3000, 'Heartbeat interval of the interactions consumer group'),
  INSTANCE_ID: z
    .string()
    .min(1)
    .optional()
    .describe(
      'Name of this replica, sent as the pncf-publisher header of every recommendation it publishes and reported by /readyz; unset: <hostname>-<pid>',
    ),
  CHANGELOG_TOPIC: env.string(
    'interaction-counts',
    'Compacted topic of the new total of every changed (user, item) pair (key [user, item]; no value: the pair is gone)',
  ),
  VIEW_PATH: env.string(
    '.data/scorer/view',
    'Directory of the service’s own LMDB counts view: a materialized view of the changelog that no other process opens',
  ),
  MODEL_ARTIFACTS_TOPIC: env.string(
    'model-artifacts',
    'Compacted topic model versions travel on (a manifest and chunk records per version, keys named by version; tombstones for pruned ones)',
  ),
  MODEL_DIR: env.string(
    '.data/scorer/models',
    'Directory of this service’s own model registry (versions, CURRENT pointer): the trainer publishes from it, the scorer’s receiver fills it from MODEL_ARTIFACTS_TOPIC',
  ),
  KEEP_VERSIONS: env.positiveInt(
    3,
    'Model versions kept in this service’s registry (the current one always is); the trainer also tombstones older ones on the artifact topic',
  ),
  MODEL_POLL_MS: env.positiveInt(
    5000,
    'How often the local CURRENT pointer is read, as a fallback to the receiver and model-updated events (a local rollback sends none)',
  ),
  DEFAULT_K: env.positiveInt(10, 'List length of published recommendations and of the API when k is not given'),
  MAX_K: env.positiveInt(100, 'Largest k the API accepts (larger is a 400)'),
  CANDIDATES_NEAREST: z.coerce
    .number()
    .int()
    .min(0)
    .default(100)
    .describe(
      'Candidates per user by affinity of the user vector to item centroids (with the popular ones, the only items the tower scores; a history model ranks every item)',
    ),
  CANDIDATES_POPULAR: z.coerce
    .number()
    .int()
    .min(0)
    .default(400)
    .describe('Most popular unseen items added to each user’s candidates (see bench/results/score.json for the sweep)'),
  FULL_RANKING: env.flag(
    false,
    'Score every item with the tower instead of the candidates (exact, much slower); a history model (PNCF+) always ranks every item',
  ),
  BLOCK_USERS: env.positiveInt(
    16,
    'Users scored in one batched pass and published in one Kafka send (a pass blocks the event loop: smaller keeps API latency low during a refresh)',
  ),
  REFRESH_ON_SWAP: env.flag(true, 'Publish every user’s Top-K after each model swap'),
  REFRESH_PAUSE_MS: z.coerce
    .number()
    .int()
    .min(0)
    .default(0)
    .describe('Pause between blocks of a full refresh (throttle; the event loop is always yielded to in between)'),
  TOPK_CACHE_SIZE: z.coerce
    .number()
    .int()
    .min(0)
    .default(50_000)
    .describe(
      'Top-K lists (user, k) kept in memory for GET /recommendations, least recently used out; a list is served while the model and the user’s history are unchanged (about 0.9 kB each at k=10: some 45 MB at the default; 0 disables the cache)',
    ),
  UNKNOWN_USERS: z
    .enum(['popular', 'not-found'])
    .default('popular')
    .describe(
      'API answer for a user with no trained vector and no interactions: the most popular items (source "popular") or a 404',
    ),
  RECENT_TTL_S: env.positiveInt(
    600,
    'How long consumed interactions are kept in memory beside the store (covers the ingester’s lag)',
  ),
});

export const scorerConfigSchema = withCrossChecks(scorerVariables, [
  ...kafkaSecurityChecks,
  heartbeatWithinSession('HEARTBEAT_INTERVAL_MS', 'SESSION_TIMEOUT_MS'),
  { rule: 'DEFAULT_K ≤ MAX_K', variable: 'DEFAULT_K', holds: (c) => c.DEFAULT_K <= c.MAX_K },
  {
    // With no candidates a tower model would answer every request with an empty list.
    rule: 'CANDIDATES_NEAREST + CANDIDATES_POPULAR > 0 unless FULL_RANKING',
    variable: 'CANDIDATES_POPULAR',
    holds: (c) => c.FULL_RANKING || c.CANDIDATES_NEAREST + c.CANDIDATES_POPULAR > 0,
  },
]);

export type ScorerConfig = z.infer<typeof scorerConfigSchema>;
