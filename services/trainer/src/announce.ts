import { declaredRetriable, type RetryEvent, type RetryPolicy, withRetry } from '@pncf/runtime';
import { catchError, concatMap, defer, EMPTY, ignoreElements, type OperatorFunction } from 'rxjs';

/**
 * How a `model-updated` announcement is retried (the one retry policy, withRetry): 5 retries after 1, 2, 4, 8 and
 * 16 s (±20 % jitter), on top of kafkajs's own retries inside each send. Scorers also poll CURRENT every
 * MODEL_POLL_MS, so an announcement that is finally lost delays a swap by at most that; it never stops the schedule.
 */
export const ANNOUNCE_RETRY = { retries: 5, initialDelayMs: 1000, maxDelayMs: 30_000 } as const satisfies RetryPolicy;

/**
 * Whether a failed send is worth another attempt: anything that does not declare itself not retriable (programming
 * errors do), and also kafkajs's "retries exhausted" (it declares itself not retriable, but it is the client
 * giving up on a retriable failure such as a broker that is down; a later attempt may find it back).
 */
export function announcementRetriable(error: unknown): boolean {
  if ((error as { name?: unknown } | null)?.name === 'KafkaJSNumberOfRetriesExceeded') return true;
  return declaredRetriable(error) !== false;
}

export type Announcement = { ok: true; attempts: number } | { ok: false; attempts: number; error: unknown };

export interface AnnounceOptions extends Omit<RetryPolicy, 'retryIf' | 'onRetry'> {
  /** A send failed and is retried after event.delayMs (for the log). */
  onRetry?: (event: RetryEvent) => void;
}

/**
 * Send one announcement, retried under the one retry policy (`ANNOUNCE_RETRY` unless `options` say otherwise).
 * Never rejects: the outcome, with the last error when every attempt failed (or the signal aborted), is returned
 * for the caller to log and count.
 */
export async function announce(
  send: (attempt: number) => Promise<unknown>,
  options: AnnounceOptions = {},
): Promise<Announcement> {
  let attempts = 0;
  const { onRetry, ...policy } = options;
  try {
    await withRetry(
      (attempt) => {
        attempts = attempt;
        return send(attempt);
      },
      { ...ANNOUNCE_RETRY, ...policy, retryIf: announcementRetriable, ...(onRetry ? { onRetry } : {}) },
    );
    return { ok: true, attempts };
  } catch (error) {
    return { ok: false, attempts, error };
  }
}

/**
 * Handle each result inside the RxJS chain, one at a time and in order (concatMap): `handle` (metrics, logs, the
 * `model-updated` send with its retries) finishes before the next result is looked at, so announcements go out in
 * version order. An error `handle` throws is given to `onError` and the results that follow are still handled: a
 * failure here never ends the schedule, and none escapes as an unhandled rejection.
 */
export function handleInOrder<R>(
  handle: (result: R) => Promise<void>,
  onError: (error: unknown, result: R) => void,
): OperatorFunction<R, never> {
  return concatMap((result) =>
    defer(() => handle(result)).pipe(
      ignoreElements(),
      catchError((error: unknown) => {
        onError(error, result);
        return EMPTY;
      }),
    ),
  );
}
