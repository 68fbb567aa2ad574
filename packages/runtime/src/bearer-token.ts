import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';

/** What an Authorization header says about a bearer token: 401 for missing/malformed, 403 for wrong. */
export type BearerCheck = 'ok' | 'missing' | 'malformed' | 'wrong';

// RFC 6750's b64token: the only characters a bearer token may have.
const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*)$/i;

/**
 * Compares digests, not the strings: timingSafeEqual needs equal lengths, and comparing the lengths first would
 * tell an attacker the token's length.
 */
export function tokensEqual(given: string, expected: string): boolean {
  const digest = (value: string) => createHash('sha256').update(value, 'utf8').digest();
  return timingSafeEqual(digest(given), digest(expected));
}

export function checkBearer(authorization: string | undefined, expected: string): BearerCheck {
  if (authorization === undefined || authorization.trim() === '') return 'missing';
  const match = BEARER.exec(authorization.trim());
  if (!match) return 'malformed';
  return tokensEqual(match[1]!, expected) ? 'ok' : 'wrong';
}

/** The answer to a request that did not pass: status, challenge header (RFC 6750) and a fastify-style error body. */
export function bearerRejection(check: Exclude<BearerCheck, 'ok'>, realm: string) {
  if (check === 'wrong') {
    return {
      status: 403,
      challenge: `Bearer realm="${realm}", error="invalid_token"`,
      body: { statusCode: 403, error: 'Forbidden', message: 'the bearer token is not valid' },
    };
  }
  return {
    status: 401,
    challenge: check === 'missing' ? `Bearer realm="${realm}"` : `Bearer realm="${realm}", error="invalid_request"`,
    body: {
      statusCode: 401,
      error: 'Unauthorized',
      message:
        check === 'missing'
          ? 'an Authorization: Bearer <token> header is required'
          : 'the Authorization header is not of the form "Bearer <token>"',
    },
  };
}

/** A fastify hook: it answers the request itself to refuse it, and returns nothing to let it through. */
export type RequestGuard = (request: FastifyRequest, reply: FastifyReply) => Promise<unknown>;

/**
 * The hook guards go on: after every onRequest hook, since the rate limit (an onRequest hook appended to each
 * route's own) must count refused requests too, or token guessing would be unlimited; before validation, so a
 * caller without the token learns nothing about the route's parameters.
 */
export const GUARD_HOOK = 'preValidation';

/** Lets a request through only with `Authorization: Bearer <token>`. */
export function requireBearerToken(token: string, realm: string): RequestGuard {
  return async (request, reply) => {
    const check = checkBearer(request.headers.authorization, token);
    if (check === 'ok') return;
    const rejection = bearerRejection(check, realm);
    return reply.code(rejection.status).header('www-authenticate', rejection.challenge).send(rejection.body);
  };
}
