import { afterEach, describe, expect, it } from 'vitest';
import { checkBearer, GUARD_HOOK, requireBearerToken, tokensEqual } from '../src/bearer-token.js';
import { createHttpServer, type HttpServer } from '../src/http-server.js';
import { createLogger } from '../src/logger.js';

const TOKEN = 'a3f1c9e07b5d4e2f9a8c6b1d0e7f2a4c';

describe('checkBearer', () => {
  it('classifies the Authorization header', () => {
    expect(checkBearer(undefined, TOKEN)).toBe('missing');
    expect(checkBearer('  ', TOKEN)).toBe('missing');
    expect(checkBearer(`Basic ${Buffer.from(`u:${TOKEN}`).toString('base64')}`, TOKEN)).toBe('malformed');
    expect(checkBearer('Bearer', TOKEN)).toBe('malformed');
    expect(checkBearer('Bearer two words', TOKEN)).toBe('malformed');
    expect(checkBearer(`Bearer ${TOKEN}x`, TOKEN)).toBe('wrong');
    expect(checkBearer('Bearer short', TOKEN)).toBe('wrong');
    expect(checkBearer(`Bearer ${TOKEN}`, TOKEN)).toBe('ok');
    expect(checkBearer(`bearer ${TOKEN}`, TOKEN)).toBe('ok');
  });

  it('compares tokens of any lengths without throwing', () => {
    expect(tokensEqual(TOKEN, TOKEN)).toBe(true);
    expect(tokensEqual('', TOKEN)).toBe(false);
    expect(tokensEqual(`${TOKEN}${TOKEN}`, TOKEN)).toBe(false);
  });
});

describe('requireBearerToken on a real HTTP server', () => {
  let server: HttpServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('answers 401 without or with malformed credentials, 403 with a wrong token, 200 with the token', async () => {
    server = await createHttpServer({ service: 'probe', logger: createLogger('probe', 'silent') });
    server.app.post('/control', { [GUARD_HOOK]: requireBearerToken(TOKEN, 'probe') }, async () => ({ done: true }));
    const base = await server.listen('127.0.0.1', 0);
    const post = (authorization?: string) =>
      fetch(`${base}/control`, { method: 'POST', headers: authorization ? { authorization } : {} });

    const missing = await post();
    expect(missing.status).toBe(401);
    expect(missing.headers.get('www-authenticate')).toBe('Bearer realm="probe"');
    const malformed = await post(`Token ${TOKEN}`);
    expect(malformed.status).toBe(401);
    expect(malformed.headers.get('www-authenticate')).toContain('error="invalid_request"');
    const wrong = await post('Bearer 00000000000000000000000000000000');
    expect(wrong.status).toBe(403);
    expect(((await wrong.json()) as { error: string }).error).toBe('Forbidden');
    const right = await post(`Bearer ${TOKEN}`);
    expect(right.status).toBe(200);
    expect(await right.json()).toEqual({ done: true });
    // The operations routes stay open.
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
  });

  it('counts refused requests against the rate limit, so tokens cannot be guessed at full speed', async () => {
    server = await createHttpServer({
      service: 'probe',
      logger: createLogger('probe', 'silent'),
      protection: { rateLimitMax: 2, rateLimitWindowMs: 60_000, maxEventLoopDelayMs: 0, retryAfterS: 10 },
    });
    server.app.post('/control', { [GUARD_HOOK]: requireBearerToken(TOKEN, 'probe') }, async () => ({ done: true }));
    const base = await server.listen('127.0.0.1', 0);
    const statuses: number[] = [];
    for (const guess of ['0', '1', '2']) {
      const response = await fetch(`${base}/control`, {
        method: 'POST',
        headers: { authorization: `Bearer ${guess}` },
      });
      statuses.push(response.status);
    }
    expect(statuses).toEqual([403, 403, 429]);
  });
});
