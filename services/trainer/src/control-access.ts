import { isLoopbackHost, type RequestGuard, requireBearerToken } from '@pncf/runtime';

/**
 * Who may call the trainer's control endpoint (POST /train): with CONTROL_TOKEN set, whoever sends it as a bearer
 * token; without one, anyone who can reach a server bound to a loopback address (this machine only), and nobody
 * when the server listens on other interfaces, since then anyone on the network could start training.
 */
export type ControlAccess =
  | { kind: 'token'; token: string }
  | { kind: 'open-on-loopback' }
  | { kind: 'refused'; reason: string };

export function controlAccess(token: string | undefined, host: string): ControlAccess {
  if (token !== undefined) return { kind: 'token', token };
  if (isLoopbackHost(host)) return { kind: 'open-on-loopback' };
  return {
    kind: 'refused',
    reason: `POST /train is refused: the trainer listens on ${host} without CONTROL_TOKEN; set CONTROL_TOKEN (and send it as a bearer token) or bind HTTP_HOST to 127.0.0.1`,
  };
}

/** The guard (for GUARD_HOOK) that enforces an access decision. */
export function controlGuard(access: ControlAccess): RequestGuard {
  if (access.kind === 'token') return requireBearerToken(access.token, 'pncf-trainer');
  return async (_request, reply) => {
    if (access.kind === 'open-on-loopback') return;
    return reply.code(403).send({ statusCode: 403, error: 'Forbidden', message: access.reason });
  };
}
