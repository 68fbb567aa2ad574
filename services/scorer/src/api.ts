import swagger from '@fastify/swagger';
import { recommendationSchema } from '@pncf/events';
import type { FastifyInstance } from 'fastify';
import type { HistorySource } from './history.js';
import type { ScorerMetrics } from './metrics.js';
import type { ModelHolder } from './model-holder.js';

export interface ApiOptions {
  holder: Pick<ModelHolder, 'current'>;
  history: Pick<HistorySource, 'historyOf'>;
  metrics: ScorerMetrics;
  defaultK: number;
  maxK: number;
  /** A user with no vector and no interactions: the most popular items, or a 404. */
  unknownUsers: 'popular' | 'not-found';
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

// The topic's JSON Schema is the response contract too; fastify's serializer needs it without $schema/$id.
const { $schema: _schema, $id: _id, ...recommendationResponse } = recommendationSchema;

/**
 * The HTTP API: GET /recommendations/:user?k=, its OpenAPI document at /openapi.json, and request metrics for
 * every route (including /healthz, /readyz and /metrics added by the runtime). Must be registered before the
 * server listens.
 */
export async function registerApi(app: FastifyInstance, options: ApiOptions): Promise<void> {
  const { holder, history, metrics, defaultK, maxK, unknownUsers } = options;
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
    metrics.requestSeconds.observe(labels, reply.elapsedTime / 1000);
  });

  app.get(
    '/recommendations/:user',
    {
      schema: {
        summary: 'Top-K items for a user, excluding the items the user already has',
        description:
          'Users the model was trained on are scored with their vector; users it does not know but who have ' +
          'interactions (in the store or just consumed from Kafka) get a vector built from their items (source ' +
          '"cold-start") or, when none of their items is known to the model, the most popular items they do not ' +
          'have (source "popular"). A user without any interaction gets the most popular items (source ' +
          '"popular"), or a 404 when the scorer runs with UNKNOWN_USERS=not-found. 503 until a model is loaded.',
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
        response: { 200: recommendationResponse, 400: errorSchema, 404: errorSchema, 503: errorSchema },
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
      const started = performance.now();
      const { results, scored } = model.recommend([{ user, history: history.historyOf(user) }], k);
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
      return {
        user,
        items: result.items,
        modelVersion: model.version,
        generatedAt: new Date().toISOString(),
        source: result.source,
      };
    },
  );

  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
}
