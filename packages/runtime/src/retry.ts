import { isRetriable } from './errors.js';

/**
 * The one retry policy (modelled on kafkajs's retrier): exponential backoff with jitter, bounded by a number of
 * retries and by a total time, cancellable by an AbortSignal, and retrying only what `retryIf` accepts — by
 * default errors that declare themselves retriable (isRetriable). Every field is optional.
 */
export interface RetryPolicy {
  /** Retries after the first attempt; Infinity leaves the bound to maxRetryTimeMs. Default 5. */
  retries?: number;
  /** Delay before the first retry. Default 300 ms. */
  initialDelayMs?: number;
  /** Largest delay between two attempts, jitter included. Default 30 s. */
  maxDelayMs?: number;
  /** Growth of the delay per retry. Default 2. */
  multiplier?: number;
  /** Randomisation factor: each delay is drawn uniformly within ±jitter of its nominal value. Default 0.2. */
  jitter?: number;
  /**
   * Time from the first attempt after which no retry starts; the last wait is shortened so one attempt
   * still happens at that moment. An attempt in flight is not interrupted. Default Infinity.
   */
  maxRetryTimeMs?: number;
  /** Aborting stops the waiting at once and rejects with the signal's reason; no attempt starts after it. */
  signal?: AbortSignal;
  /** Which errors to retry. Default isRetriable (errors that declare `retriable: true`). */
  retryIf?: (error: unknown) => boolean;
  /** Called before each wait, e.g. to log the failure and the delay. */
  onRetry?: (event: RetryEvent) => void;
}

export interface RetryEvent {
  error: unknown;
  /** The attempt that failed, 1-based. */
  attempt: number;
  /** How long until the next attempt. */
  delayMs: number;
  /** Time since the first attempt started. */
  elapsedMs: number;
}

export const DEFAULT_RETRY_POLICY = {
  retries: 5,
  initialDelayMs: 300,
  maxDelayMs: 30_000,
  multiplier: 2,
  jitter: 0.2,
  maxRetryTimeMs: Number.POSITIVE_INFINITY,
} as const satisfies RetryPolicy;

/**
 * The delay before retry `retry` (1-based): initialDelayMs · multiplier^(retry−1), randomised by ±jitter and
 * capped at maxDelayMs.
 */
export function backoffDelay(retry: number, policy: RetryPolicy = {}, random: () => number = Math.random): number {
  const initial = policy.initialDelayMs ?? DEFAULT_RETRY_POLICY.initialDelayMs;
  const max = policy.maxDelayMs ?? DEFAULT_RETRY_POLICY.maxDelayMs;
  const multiplier = policy.multiplier ?? DEFAULT_RETRY_POLICY.multiplier;
  const jitter = policy.jitter ?? DEFAULT_RETRY_POLICY.jitter;
  const nominal = Math.min(max, initial * multiplier ** (retry - 1));
  const spread = nominal * jitter;
  return Math.round(Math.min(max, Math.max(0, nominal - spread + random() * 2 * spread)));
}

/**
 * Run `operation` until it resolves, retrying under `policy`. Rejects with the operation's own error when that
 * error is not to be retried or the retries or the time are used up, and with the signal's reason when aborted.
 */
export async function withRetry<T>(operation: (attempt: number) => Promise<T>, policy: RetryPolicy = {}): Promise<T> {
  const retries = policy.retries ?? DEFAULT_RETRY_POLICY.retries;
  const maxRetryTimeMs = policy.maxRetryTimeMs ?? DEFAULT_RETRY_POLICY.maxRetryTimeMs;
  const retryIf = policy.retryIf ?? ((error: unknown) => isRetriable(error));
  const { signal } = policy;
  const started = Date.now();
  for (let attempt = 1; ; attempt++) {
    signal?.throwIfAborted();
    try {
      return await operation(attempt);
    } catch (error) {
      // An operation that failed because it was aborted is not retried.
      if (signal?.aborted || attempt > retries || !retryIf(error)) throw error;
      const elapsedMs = Date.now() - started;
      const left = maxRetryTimeMs - elapsedMs;
      if (left <= 0) throw error;
      const delayMs = Math.min(backoffDelay(attempt, policy), left);
      policy.onRetry?.({ error, attempt, delayMs, elapsedMs });
      await sleep(delayMs, signal);
    }
  }
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
