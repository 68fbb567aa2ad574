import { setImmediate as nextTurn } from 'node:timers/promises';

/**
 * A stopping point for a long synchronous training loop. The loop itself never gives the event loop a turn, so a
 * SIGTERM handler could not run (let alone abort) until the whole fit ended: awaiting the returned function at each
 * batch yields a macrotask turn every `intervalMs` (when signal handlers run) and then rejects with the signal's
 * reason once it is aborted. Without a signal it costs nothing.
 */
export function abortPoint(signal: AbortSignal | undefined, intervalMs = 100): () => Promise<void> {
  if (!signal) return async () => undefined;
  let next = performance.now() + intervalMs;
  return async () => {
    signal.throwIfAborted();
    if (performance.now() < next) return;
    await nextTurn();
    next = performance.now() + intervalMs;
    signal.throwIfAborted();
  };
}
