import swagger from '@fastify/swagger';
import { recommendationMessage, recommendationSchema } from '@pncf/events';
import { GUARD_HOOK, requireBearerToken } from '@pncf/runtime';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { HistorySource } from './history.js';
import { API_ROUTE, NO_CACHE, type ScorerMetrics } from './metrics.js';
import type { ModelHolder } from './model-holder.js';
import type { CacheOutcome, TopKCache } from './topk-cache.js';

export interface ApiOptions {
  holder: Pick<ModelHolder, 'current'>;
  history: Pick<HistorySource, 'request' | 'versionOf'>;
  /** The users' current lists; the publisher fills it too. Its holder must be `holder`. */
  cache: TopKCache;
  metrics: ScorerMetrics;
  defaultK: number;
  maxK: number;
  /** A user with no vector and no interactions: the most popular items, or a 404. */
  unknownUsers: 'popular' | 'not-found';
  /** Bearer token the API routes require; open when absent. */
  token?: string | undefined;
}

const errorSchema = {
  type: 'object',
  required: ['statusCode', 'error', 'message'],
  properties: {
    statusCode: { type: 'integer' },
    code: { type: 'string' },
    error: { type: 'string' },
    message: { type: 'string' },
  },
} as const;

// The topic's JSON Schema is the response contract too (for the OpenAPI document; a 200 body is the topic's
// message value, recommendationMessage, serialized once and sent as is, so fastify does not serialize it).
const { $schema: _schema, $id: _id, ...recommendationResponse } = recommendationSchema;
const JSON_TYPE = 'application/json; charset=utf-8';

/**
 * The HTTP API: GET /recommendations/:user?k=, its OpenAPI document at /openapi.json, and request metrics for
 * every route (including /healthz, /readyz and /metrics added by the runtime). Must be registered before the
 * server listens. A user's list is computed on a miss only: while the model and the user's history version are
 * those it was computed with, the cached body is sent (byte for byte what the miss sent).
 */
export async function registerApi(app: FastifyInstance, options: ApiOptions): Promise<void> {
  const { holder, history, cache, metrics, defaultK, maxK, unknownUsers, token } = options;
  const guard = token === undefined ? {} : { [GUARD_HOOK]: requireBearerToken(token, 'pncf-scorer') };
  const outcomes = new WeakMap<FastifyRequest, CacheOutcome>();
  // Bound once: labelled lookups hash their labels on every call.
  const lookups = {
    hit: metrics.cacheLookups.labels({ outcome: 'hit' }),
    miss: metrics.cacheLookups.labels({ outcome: 'miss' }),
  };
  await app.register(swagger, {
    openapi: {
      info: {
        title: 'PNCF scorer',
        description: 'Top-K recommendations (tags for authors) from the newest good PNCF model.',
        version: '0.1.0',
      },
    },
  });

  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    const labels = { route, method: request.method, status: String(reply.statusCode) };
    metrics.requests.inc(labels);
    metrics.requestSeconds.observe({ ...labels, cache: outcomes.get(request) ?? NO_CACHE }, reply.elapsedTime / 1000);
  });

  app.get(
    API_ROUTE,
    {
      ...guard,
      schema: {
        summary: 'Top-K items for a user, excluding the items the user already has',
        description:
          'Users the model was trained on are scored with their vector; users it does not know but who have ' +
          'interactions (in the store or just consumed from Kafka) get a vector built from their items (source ' +
          '"cold-start") or, when none of their items is known to the model, the most popular items they do not ' +
          'have (source "popular"). A user without any interaction gets the most popular items (source ' +
          '"popular"), or a 404 when the scorer runs with UNKNOWN_USERS=not-found; so does an erased user (an ' +
          'erase event removed their interactions): their trained vector is not used again. ' +
          '503 until a model is loaded. ' +
          "A list is computed once per model and state of the user's history, then served from memory " +
          '(generatedAt tells when it was computed).',
        params: {
          type: 'object',
          required: ['user'],
          properties: { user: { type: 'string', minLength: 1, maxLength: 256, description: 'User id' } },
        },
        querystring: {
          type: 'object',
          properties: {
            k: { type: 'integer', minimum: 1, maximum: maxK, default: defaultK, description: 'List length' },
          },
        },
        response: {
          200: recommendationResponse,
          400: errorSchema,
          401: errorSchema,
          403: errorSchema,
          404: errorSchema,
          429: errorSchema,
          503: errorSchema,
        },
      },
    },
    async (request, reply) => {
      const { user } = request.params as { user: string };
      const { k } = request.query as { k: number };
      // Synchronous from here on: the request finishes on the model it started with, even across a swap.
      const model = holder.current;
      if (!model) {
        return reply.code(503).send({ statusCode: 503, error: 'Service Unavailable', message: 'no model loaded yet' });
      }
      const historyVersion = history.versionOf(user);
      const cached = cache.get(model, user, k, historyVersion);
      const outcome: CacheOutcome = cached === undefined ? 'miss' : 'hit';
      outcomes.set(request, outcome);
      lookups[outcome].inc();
      if (cached !== undefined) return reply.type(JSON_TYPE).send(cached);

      const started = performance.now();
      const { results, scored } = model.recommend([history.request(user)], k);
      metrics.scoringSeconds.observe({ path: 'request' }, (performance.now() - started) / 1000);
      metrics.itemsScored.inc(scored);
      const result = results[0]!;
      if (result.source === undefined && unknownUsers === 'popular') {
        result.items = model.popular(k);
        result.source = 'popular';
      }
      if (result.source === undefined) {
        return reply.code(404).send({
          statusCode: 404,
          error: 'Not Found',
          message: `unknown user ${JSON.stringify(user)}: no trained vector and no interactions`,
        });
      }
      const body = recommendationMessage({
        user,
        items: result.items,
        modelVersion: model.version,
        generatedAt: new Date().toISOString(),
        source: result.source,
      }).value;
      cache.set(model, user, k, historyVersion, body);
      return reply.type(JSON_TYPE).send(body);
    },
  );

  app.get('/openapi.json', { ...guard, schema: { hide: true } }, async () => app.swagger());
}
