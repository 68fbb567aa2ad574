import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { tfRuntime } from '@pncf/evaluation';
import { parseRecommendation, type Recommendation } from '@pncf/events';
import { createHttpServer, createLogger, type HttpServer } from '@pncf/runtime';
import { InteractionStore } from '@pncf/store';
import type { Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerApi } from '../src/api.js';
import { applyInteractionBatch } from '../src/erasure.js';
import { HistorySource } from '../src/history.js';
import { scorerMetrics } from '../src/metrics.js';
import { PUBLISHER_HEADER, RecommendationPublisher } from '../src/publisher.js';
import { ServingModel } from '../src/serving-model.js';
import { TopKCache } from '../src/topk-cache.js';
import { fixture } from './fixture.js';

/** The scorer's API on a real HTTP server (the runtime's, with its /metrics), a real history and a Top-K cache. */
interface Api {
  url: string;
  server: HttpServer;
  holder: { current: ServingModel | undefined };
  history: HistorySource;
  cache: TopKCache;
  publisher: RecommendationPublisher;
  sent: { key: string; value: string; headers?: Record<string, string> }[];
  store: InteractionStore;
}

describe('GET /recommendations/:user served from the Top-K cache', () => {
  const { artifact, data } = fixture();
  const candidates = { nearest: 40, popular: 10 };
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'pncf-scorer-api-cache-'));
  const servers: HttpServer[] = [];
  const stores: InteractionStore[] = [];
  const models: ServingModel[] = [];
  const load = (version: string) => {
    const model = new ServingModel({ version, createdAt: new Date().toISOString(), artifact, data, candidates });
    models.push(model);
    return model;
  };

  async function start(
    cacheSize: number,
    unknownUsers: 'popular' | 'not-found' = 'popular',
    token?: string,
  ): Promise<Api> {
    const logger = createLogger('scorer', 'silent');
    const server = await createHttpServer({ service: 'scorer', logger });
    servers.push(server);
    const holder: Api['holder'] = { current: load('v000001') };
    const cache = new TopKCache(cacheSize, holder);
    const metrics = scorerMetrics(
      server.metricsRegistry,
      () => holder.current,
      () => cache.size,
    );
    // The model's data in the view (a model user with no history at all is answered as erased); what the scorer
    // records comes on top, as if just consumed from Kafka.
    const store = InteractionStore.open({ path: path.join(scratch, `store-${servers.length}`) });
    stores.push(store);
    store.applyBatch({ topic: 'fixture', partition: 0, events: fixtureEvents(), nextOffset: 1n });
    const history = new HistorySource(store, 60_000);
    await registerApi(server.app, { holder, history, cache, metrics, defaultK: 10, maxK: 100, unknownUsers, token });
    const sent: Api['sent'] = [];
    const producer: Pick<Producer, 'send'> = {
      send: async (record) => {
        sent.push(...(record.messages as Api['sent']));
        return [];
      },
    };
    const publisher = new RecommendationPublisher({
      producer,
      topic: 'recommendations',
      holder: {
        get current() {
          return holder.current;
        },
        lease: () => holder.current,
        release: () => undefined,
      },
      history,
      cache,
      metrics,
      logger,
      k: 10,
      blockUsers: 16,
      refreshPauseMs: 0,
      instanceId: 'replica-a',
    });
    const url = await server.listen('127.0.0.1', 0);
    return { url, server, holder, history, cache, publisher, sent, store };
  }

  const get = async (api: Api, user: string, query = '') => {
    const response = await fetch(`${api.url}/recommendations/${encodeURIComponent(user)}${query}`);
    return { status: response.status, type: response.headers.get('content-type'), text: await response.text() };
  };
  const recommendation = (text: string): Recommendation => parseRecommendation(text);
  const fixtureEvents = () => {
    const { indptr, indices, counts } = data.byUser;
    return data.userIds.flatMap((user, u) =>
      Array.from({ length: indptr[u + 1]! - indptr[u]! }, (_, j) => ({
        offset: 0n,
        user,
        item: data.itemIds[indices[indptr[u]! + j]!]!,
        count: counts[indptr[u]! + j]!,
      })),
    );
  };

  /** The value of the series of the real /metrics endpoint with these labels (undefined: no such series). */
  async function scrape(api: Api, name: string, labels: Record<string, string> = {}): Promise<number | undefined> {
    const text = await (await fetch(`${api.url}/metrics`)).text();
    const line = text.split('\n').find((l) => {
      if (!l.startsWith(`${name}{`)) return false;
      const found = new Map([...l.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
      return Object.entries(labels).every(([label, value]) => found.get(label) === value);
    });
    return line === undefined ? undefined : Number(line.split(' ').at(-1));
  }
  const lookups = (api: Api, outcome: 'hit' | 'miss') =>
    scrape(api, 'pncf_scorer_topk_cache_lookups_total', { outcome });
  const entries = (api: Api) => scrape(api, 'pncf_scorer_topk_cache_entries');
  const scoredItems = (api: Api) => scrape(api, 'pncf_scorer_items_scored_total');
  const latencyCount = (api: Api, cache: 'hit' | 'miss' | 'none', status = '200') =>
    scrape(api, 'pncf_scorer_http_request_duration_seconds_count', {
      route: '/recommendations/:user',
      method: 'GET',
      status,
      cache,
    });

  beforeAll(async () => {
    await tfRuntime();
  });
  afterAll(async () => {
    for (const server of servers) await server.close();
    for (const store of stores) await store.close();
    for (const model of models) model.dispose();
    fs.rmSync(scratch, { recursive: true, force: true });
  });

  it('with a token, answers 401 without or with malformed credentials, 403 when wrong, 200 with it', async () => {
    const token = 'f00dfeed0123456789abcdef01234567';
    const api = await start(100, 'popular', token);
    const url = `${api.url}/recommendations/u1`;
    const statusWith = async (authorization?: string, route = url) =>
      (await fetch(route, { headers: authorization ? { authorization } : {} })).status;
    const requests = (status: string) =>
      scrape(api, 'pncf_scorer_http_requests_total', { route: '/recommendations/:user', status });
    expect(await requests('401')).toBe(0);

    expect(await statusWith()).toBe(401);
    expect(await statusWith(`Bearer ${token} extra`)).toBe(401);
    expect(await statusWith('Bearer ffffffffffffffffffffffffffffffff')).toBe(403);
    expect(await statusWith(`Bearer ${token}`)).toBe(200);
    expect(await statusWith(undefined, `${api.url}/openapi.json`)).toBe(401);
    expect(await statusWith(`Bearer ${token}`, `${api.url}/openapi.json`)).toBe(200);
    expect(await statusWith(undefined, `${api.url}/metrics`)).toBe(200);
    expect(await requests('401')).toBe(2);
    expect(await requests('403')).toBe(1);
    expect(await requests('200')).toBe(1);
  });

  it('answers a hit with the very bytes of the miss, and counts both in /metrics', async () => {
    const api = await start(100);
    expect(await lookups(api, 'hit')).toBe(0);
    expect(await lookups(api, 'miss')).toBe(0);
    expect(await scoredItems(api)).toBe(0);

    const miss = await get(api, 'u1');
    expect(miss.status).toBe(200);
    expect(miss.type).toBe('application/json; charset=utf-8');
    const body = recommendation(miss.text);
    expect(body).toMatchObject({ user: 'u1', modelVersion: 'v000001', source: 'model' });
    expect(body.items).toHaveLength(10);
    const scored = await scoredItems(api);
    expect(scored).toBeGreaterThan(0);

    for (let j = 0; j < 3; j++) {
      const hit = await get(api, 'u1');
      expect(hit).toEqual(miss); // status, content type and body, generatedAt included
    }
    expect(await lookups(api, 'miss')).toBe(1);
    expect(await lookups(api, 'hit')).toBe(3);
    expect(await latencyCount(api, 'miss')).toBe(1);
    expect(await latencyCount(api, 'hit')).toBe(3);
    // A hit ranks nothing.
    expect(await scoredItems(api)).toBe(scored);
    expect(await entries(api)).toBe(1);

    // k is part of the key: another k is computed, and is its own prefix of the ranking.
    const five = await get(api, 'u1', '?k=5');
    expect(recommendation(five.text).items).toEqual(body.items.slice(0, 5));
    expect(await lookups(api, 'miss')).toBe(2);
    expect(await entries(api)).toBe(2);
  });

  it('computes again after a new interaction of the user, with that item excluded', async () => {
    const api = await start(100);
    const before = recommendation((await get(api, 'u2')).text);
    const top = before.items[0]!.item;
    await get(api, 'u3'); // another user, whose list stays cached
    api.history.record('u2', top, 1);

    const after = await get(api, 'u2');
    expect(await lookups(api, 'miss')).toBe(3);
    expect(recommendation(after.text).items.map((x) => x.item)).not.toContain(top);
    expect(recommendation(after.text).items).toHaveLength(10);
    // The new list is the one cached now.
    expect(await get(api, 'u2')).toEqual(after);
    await get(api, 'u3');
    expect(await lookups(api, 'hit')).toBe(2);
  });

  it('computes again when the view changes the user’s counts (an interaction another replica consumed)', async () => {
    const api = await start(100);
    const before = recommendation((await get(api, 'u9')).text);
    const top = before.items[0]!.item;
    // What the counts view does with a changelog record: set the total in the store, then tell the history.
    api.store.applyTotals([
      { topic: 'counts', partition: 0, changes: [{ offset: 0n, user: 'u9', item: top, total: 1 }], nextOffset: 1n },
    ]);
    api.history.storeChanged('u9');

    const after = recommendation((await get(api, 'u9')).text);
    expect(await lookups(api, 'miss')).toBe(2);
    expect(after.items.map((x) => x.item)).not.toContain(top);
  });

  it('refreshes only the users the ownership accepts, each message naming its replica in a header', async () => {
    const api = await start(100);
    const model = api.holder.current!;
    const users = [...model.users()];
    const owned = new Set(users.filter((_, u) => u % 3 === 0));
    api.publisher.startRefresh(model, (user) => owned.has(user));
    await api.publisher.idle();
    expect(new Set(api.sent.map((m) => m.key))).toEqual(owned);
    for (const message of api.sent) expect(message.headers).toEqual({ [PUBLISHER_HEADER]: 'replica-a' });
  });

  it('computes again after a model swap, with the new model', async () => {
    const api = await start(100);
    const old = await get(api, 'u4');
    expect(recommendation(old.text).modelVersion).toBe('v000001');
    api.holder.current = load('v000002');

    const swapped = recommendation((await get(api, 'u4')).text);
    expect(swapped.modelVersion).toBe('v000002');
    expect(await lookups(api, 'miss')).toBe(2);
    expect(await lookups(api, 'hit')).toBe(0);
    expect(await entries(api)).toBe(1);
  });

  it('keeps at most TOPK_CACHE_SIZE lists: the least recently used is computed again', async () => {
    const api = await start(2);
    for (const user of ['u5', 'u6', 'u7']) await get(api, user);
    expect(await entries(api)).toBe(2);
    await get(api, 'u7');
    await get(api, 'u6');
    expect(await lookups(api, 'hit')).toBe(2);
    await get(api, 'u5'); // evicted by u7
    expect(await lookups(api, 'miss')).toBe(4);
    expect(await entries(api)).toBe(2);
  });

  it('computes every request when disabled (size 0), with the same answer', async () => {
    const cached = await start(100);
    const disabled = await start(0);
    const first = await get(disabled, 'u8');
    const second = await get(disabled, 'u8');
    expect(recommendation(second.text).items).toEqual(recommendation(first.text).items);
    expect(recommendation(first.text).items).toEqual(recommendation((await get(cached, 'u8')).text).items);
    expect(await lookups(disabled, 'miss')).toBe(2);
    expect(await lookups(disabled, 'hit')).toBe(0);
    expect(await entries(disabled)).toBe(0);
  });

  it('serves the list the publisher just published, byte for byte, without computing it', async () => {
    const api = await start(100);
    const model = api.holder.current!;
    expect(await api.publisher.publish(model, ['u9', 'new-user-without-items'], 'interaction')).toBe(1);
    const scored = await scoredItems(api);
    const served = await get(api, 'u9');
    expect(served.text).toBe(api.sent[0]!.value);
    expect(await lookups(api, 'hit')).toBe(1);
    expect(await scoredItems(api)).toBe(scored);
    // Not at another k, nor for a user the publisher had nothing for.
    await get(api, 'u9', '?k=3');
    await get(api, 'new-user-without-items');
    expect(await lookups(api, 'miss')).toBe(2);
  });

  it('an erase drops the user’s lists, answers them as unknown, and a refresh publishes nothing for them', async () => {
    const api = await start(100);
    const model = api.holder.current!;
    expect(recommendation((await get(api, 'u10')).text).source).toBe('model');
    await get(api, 'u10', '?k=3');
    const effect = applyInteractionBatch(
      [
        { type: 'interaction', user: 'u11', item: 'i1', count: 1, ts: undefined },
        { type: 'erase', user: 'u10', ts: undefined },
        { type: 'erase', user: 'u11', ts: undefined },
        { type: 'interaction', user: 'u11', item: 'i13', count: 1, ts: undefined },
        { type: 'interaction', user: 'u12', item: 'i3', count: 1, ts: undefined },
      ],
      api.history,
      api.cache,
    );
    expect(effect).toEqual({ republish: ['u11', 'u12'], erased: ['u10', 'u11'] });
    expect(await entries(api)).toBe(0);
    // The view still holds u10's pairs (its tombstones are on their way): they are not used, nor is the vector.
    const erased = recommendation((await get(api, 'u10')).text);
    expect(erased).toMatchObject({ user: 'u10', source: 'popular' });
    expect(erased.items).toEqual(model.popular(10));
    // Back after the erase: ranked from what came after it alone, as a user the model does not know.
    const back = recommendation((await get(api, 'u11')).text);
    expect(back.source).toBe('cold-start');
    expect(back.items.map((x) => x.item)).not.toContain('i13');
    api.publisher.startRefresh(model);
    await api.publisher.idle();
    const refreshed = new Set(api.sent.map((message) => message.key));
    expect(refreshed.has('u12')).toBe(true);
    expect(refreshed.has('u10')).toBe(false);
    expect(api.sent.filter((message) => message.key === 'u11').map((m) => recommendation(m.value).source)).toEqual([
      'cold-start',
    ]);
  });

  it('does not cache a 404, and labels requests that never reach the cache "none"', async () => {
    const api = await start(100, 'not-found');
    expect((await get(api, 'stranger')).status).toBe(404);
    expect((await get(api, 'stranger')).status).toBe(404);
    expect((await get(api, 'u1', '?k=0')).status).toBe(400);
    expect(await lookups(api, 'miss')).toBe(2);
    expect(await entries(api)).toBe(0);
    expect(await latencyCount(api, 'none', '400')).toBe(1);
    expect(await latencyCount(api, 'miss', '404')).toBe(2);
  });
});
