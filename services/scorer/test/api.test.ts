import { tfRuntime } from '@pncf/evaluation';
import Fastify, { type FastifyInstance } from 'fastify';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerApi } from '../src/api.js';
import { scorerMetrics } from '../src/metrics.js';
import { ServingModel } from '../src/serving-model.js';
import { TopKCache } from '../src/topk-cache.js';
import { fixture } from './fixture.js';

// The API's handling of users nobody knows, in both modes; the default mode is also exercised against the real
// scorer process in test/scorer-service.test.ts.
describe('GET /recommendations/:user for a user with no vector and no interactions', () => {
  const { artifact, data } = fixture();
  let model: ServingModel;
  const apps: FastifyInstance[] = [];
  const api = async (unknownUsers: 'popular' | 'not-found') => {
    const app = Fastify();
    apps.push(app);
    const holder = { current: model };
    await registerApi(app, {
      holder,
      history: { request: (user) => ({ user, history: { items: [], counts: [] } }), versionOf: () => 0 },
      cache: new TopKCache(100, holder),
      metrics: scorerMetrics(new Registry(), () => undefined),
      defaultK: 10,
      maxK: 100,
      unknownUsers,
    });
    return app;
  };

  beforeAll(async () => {
    await tfRuntime();
    const source = { version: 'v000001', createdAt: new Date().toISOString(), artifact, data };
    model = new ServingModel({ ...source, candidates: { nearest: 40, popular: 10 } });
  });
  afterAll(async () => {
    for (const app of apps) await app.close();
    model.dispose();
  });

  it('answers the most popular items with source "popular" by default', async () => {
    const response = await (await api('popular')).inject({ url: '/recommendations/stranger?k=4' });
    expect(response.statusCode).toBe(200);
    const body = response.json();
    expect(body).toMatchObject({ user: 'stranger', source: 'popular', modelVersion: 'v000001' });
    expect(body.items).toEqual(model.popular(4));
    expect(body.items[0].score).toBe(1);
  });

  it('answers a 404 naming the user with UNKNOWN_USERS=not-found', async () => {
    const response = await (await api('not-found')).inject({ url: '/recommendations/stranger' });
    expect(response.statusCode).toBe(404);
    expect(response.json().message).toMatch(/unknown user "stranger"/);
  });
});
