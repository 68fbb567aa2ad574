import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { CACHE_OUTCOMES } from './topk-cache.js';

const LATENCY_BUCKETS = [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

export interface ModelInfo {
  version: string;
  createdAt: string;
}

/** Outcomes of a version on the artifact topic (the receiver's reject reasons and installed). */
export const RECEIVED_OUTCOMES = ['installed', 'corrupt', 'incomplete', 'invalid'] as const;

/** The label of a request that did not go through the Top-K cache (other routes, errors before a lookup). */
export const NO_CACHE = 'none';

export const MODEL_LOAD_OUTCOMES = ['loaded', 'failed'] as const;
export const PUBLISH_REASONS = ['refresh', 'interaction'] as const;
export type PublishReason = (typeof PUBLISH_REASONS)[number];
/** The API route and the statuses it answers (api.ts), whose request counters start at 0. */
export const API_ROUTE = '/recommendations/:user';
export const API_STATUSES = [200, 400, 401, 403, 404, 429, 500, 503] as const;

export function scorerMetrics(
  metricsRegistry: Registry,
  currentModel: () => ModelInfo | undefined,
  cacheEntries: () => number = () => 0,
) {
  const registers = [metricsRegistry];
  const metrics = {
    requests: new Counter({
      name: 'pncf_scorer_http_requests_total',
      help: 'HTTP requests by route, method and status',
      labelNames: ['route', 'method', 'status'],
      registers,
    }),
    requestSeconds: new Histogram({
      name: 'pncf_scorer_http_request_duration_seconds',
      help: 'HTTP request latency by route, method, status and cache (hit: served from the Top-K cache; miss: computed; none: no lookup)',
      labelNames: ['route', 'method', 'status', 'cache'],
      buckets: LATENCY_BUCKETS,
      registers,
    }),
    cacheLookups: new Counter({
      name: 'pncf_scorer_topk_cache_lookups_total',
      help: 'GET /recommendations lookups in the Top-K cache by outcome (hit: served from memory; miss: computed, including every request while the cache is disabled)',
      labelNames: ['outcome'],
      registers,
    }),
    cacheEntries: new Gauge({
      name: 'pncf_scorer_topk_cache_entries',
      help: 'Top-K lists held by the cache (at most TOPK_CACHE_SIZE)',
      registers,
      collect() {
        this.set(cacheEntries());
      },
    }),
    published: new Counter({
      name: 'pncf_scorer_recommendations_published_total',
      help: 'Recommendation messages published, by reason (refresh after a model swap, or new interactions)',
      labelNames: ['reason'],
      registers,
    }),
    erased: new Counter({
      name: 'pncf_scorer_recommendations_erased_total',
      help: 'Tombstones published to the recommendations topic for users an erase event removed',
      registers,
    }),
    interactionToPublishSeconds: new Histogram({
      name: 'pncf_scorer_interaction_to_publish_seconds',
      help: 'From an interaction event (Kafka timestamp) to its user’s republished recommendation',
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
    scoringSeconds: new Histogram({
      name: 'pncf_scorer_scoring_duration_seconds',
      help: 'Time to compute Top-K for one block of users (candidates + tower), by path',
      labelNames: ['path'],
      buckets: LATENCY_BUCKETS,
      registers,
    }),
    itemsScored: new Counter({
      name: 'pncf_scorer_items_scored_total',
      help: '(user, item) pairs scored by the tower; its rate is the items scored per second',
      registers,
    }),
    modelLoads: new Counter({
      name: 'pncf_scorer_model_loads_total',
      help: 'Model loads by outcome (loaded, or failed: refused, the previous model keeps serving)',
      labelNames: ['outcome'],
      registers,
    }),
    modelLoadSeconds: new Histogram({
      name: 'pncf_scorer_model_load_duration_seconds',
      help: 'Time to verify, load and prepare a model version',
      buckets: [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    }),
    modelInfo: new Gauge({
      name: 'pncf_scorer_model_info',
      help: 'The registry version being served, as the version label (value 1); absent before the first load',
      labelNames: ['version'],
      registers,
      collect() {
        const model = currentModel();
        this.reset();
        if (model) this.set({ version: model.version }, 1);
      },
    }),
    modelCreated: new Gauge({
      name: 'pncf_scorer_model_created_timestamp_seconds',
      help: 'When the served model version was published; its age is time() minus this',
      registers,
      collect() {
        const model = currentModel();
        if (model) this.set(Date.parse(model.createdAt) / 1000);
      },
    }),
    refreshSeconds: new Gauge({
      name: 'pncf_scorer_last_refresh_duration_seconds',
      help: 'Duration of the last completed full refresh (Top-K of every user published)',
      registers,
    }),
    refreshUsers: new Gauge({
      name: 'pncf_scorer_last_refresh_users',
      help: 'Users published by the last completed full refresh',
      registers,
    }),
    refreshItemsScored: new Gauge({
      name: 'pncf_scorer_last_refresh_items_scored',
      help: '(user, item) pairs scored during the last completed full refresh (per second: divide by its duration)',
      registers,
    }),
    modelVersionsReceived: new Counter({
      name: 'pncf_scorer_model_artifact_versions_received_total',
      help: 'Model versions from the artifact topic, by outcome (installed in the local registry, or rejected: corrupt, incomplete, invalid — never served)',
      labelNames: ['outcome'],
      registers,
    }),
  };
  // Every known label value starts at 0, so the first failure is an increase() and not a series appearing.
  for (const outcome of CACHE_OUTCOMES) metrics.cacheLookups.inc({ outcome }, 0);
  for (const outcome of MODEL_LOAD_OUTCOMES) metrics.modelLoads.inc({ outcome }, 0);
  for (const reason of PUBLISH_REASONS) metrics.published.inc({ reason }, 0);
  for (const status of API_STATUSES) {
    metrics.requests.inc({ route: API_ROUTE, method: 'GET', status: String(status) }, 0);
  }
  for (const outcome of RECEIVED_OUTCOMES) metrics.modelVersionsReceived.inc({ outcome }, 0);
  return metrics;
}

export type ScorerMetrics = ReturnType<typeof scorerMetrics>;
