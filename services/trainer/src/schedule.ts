import { declaredRetriable, type RetryEvent, withRetry } from '@pncf/runtime';
import { exhaustMap, filter, interval, map, merge, Observable, of, type Subject } from 'rxjs';

export type TriggerReason = 'interval' | 'new-interactions' | 'manual' | 'startup';

export interface TriggerOptions {
  /** Run every intervalMs regardless of new data (0 disables). */
  intervalMs: number;
  /** Run as soon as this many interactions arrived since the last successful run (0 disables). */
  minNewInteractions: number;
  /** How often the store is asked how much changed. */
  pollMs: number;
  /** How many interactions arrived since the data the current model was trained on. */
  newInteractions: () => number;
  manual$: Subject<void> | Observable<void>;
  runAtStartup: boolean;
}

/** Every reason a training run should start, as one stream; overlapping triggers are resolved downstream. */
export function trainingTriggers(options: TriggerOptions): Observable<TriggerReason> {
  const sources: Observable<TriggerReason>[] = [options.manual$.pipe(map(() => 'manual' as const))];
  if (options.runAtStartup) sources.push(of('startup' as const));
  if (options.intervalMs > 0) sources.push(interval(options.intervalMs).pipe(map(() => 'interval' as const)));
  if (options.minNewInteractions > 0) {
    sources.push(
      interval(options.pollMs).pipe(
        filter(() => options.newInteractions() >= options.minNewInteractions),
        map(() => 'new-interactions' as const),
      ),
    );
  }
  return merge(...sources);
}

export interface RetryOptions {
  /** Attempts after the first failure of one triggered run. */
  retries: number;
  /** Delay before retry n (1-based) is baseDelayMs · 2^(n-1), capped at maxDelayMs. */
  baseDelayMs: number;
  maxDelayMs: number;
  /** A run failed and is retried after event.delayMs (for the log). */
  onRetry?: (reason: TriggerReason, event: RetryEvent) => void;
}

export type ScheduledResult<R> =
  | { reason: TriggerReason; ok: true; result: R; attempts: number }
  | { reason: TriggerReason; ok: false; error: unknown; attempts: number };

/**
 * Turn triggers into runs: never two at once (a trigger that arrives during a run is dropped, since the next
 * run sees its data anyway), each failed run retried with exponential backoff under the shared retry policy
 * (withRetry), and a run that still fails reported as a failure without ending the schedule. A run's failure is
 * retried unless the error declares itself not retriable (a PncfError with retriable false, a programming
 * error); unsubscribing cancels a pending retry.
 */
export function scheduleRuns<R>(
  triggers$: Observable<TriggerReason>,
  run: (reason: TriggerReason, attempt: number) => Promise<R>,
  retryOptions: RetryOptions,
): Observable<ScheduledResult<R>> {
  return triggers$.pipe(
    exhaustMap(
      (reason) =>
        new Observable<ScheduledResult<R>>((subscriber) => {
          const cancel = new AbortController();
          let attempts = 0;
          const settle = (result: ScheduledResult<R>) => {
            subscriber.next(result);
            subscriber.complete();
          };
          withRetry(
            (attempt) => {
              attempts = attempt;
              return run(reason, attempt);
            },
            {
              retries: retryOptions.retries,
              initialDelayMs: retryOptions.baseDelayMs,
              maxDelayMs: retryOptions.maxDelayMs,
              // One trainer: there is no crowd of clients to de-synchronise, so the delays stay as documented.
              jitter: 0,
              retryIf: (error) => declaredRetriable(error) !== false,
              signal: cancel.signal,
              onRetry: (event) => retryOptions.onRetry?.(reason, event),
            },
          ).then(
            (result) => settle({ reason, ok: true, result, attempts }),
            (error: unknown) => settle({ reason, ok: false, error, attempts }),
          );
          return () => cancel.abort();
        }),
    ),
  );
}
