import {
  catchError,
  defer,
  exhaustMap,
  filter,
  interval,
  map,
  merge,
  type Observable,
  of,
  retry,
  type Subject,
  timer,
} from 'rxjs';

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
}

export type ScheduledResult<R> =
  | { reason: TriggerReason; ok: true; result: R; attempts: number }
  | { reason: TriggerReason; ok: false; error: unknown; attempts: number };

/**
 * Turn triggers into runs: never two at once (a trigger that arrives during a run is dropped, since the next
 * run sees its data anyway), each failed run retried with exponential backoff, and a run that still fails
 * reported as a failure without ending the schedule.
 */
export function scheduleRuns<R>(
  triggers$: Observable<TriggerReason>,
  run: (reason: TriggerReason, attempt: number) => Promise<R>,
  retryOptions: RetryOptions,
): Observable<ScheduledResult<R>> {
  return triggers$.pipe(
    exhaustMap((reason) => {
      let attempts = 0;
      return defer(() => run(reason, ++attempts)).pipe(
        retry({
          count: retryOptions.retries,
          delay: (_error, retryCount) =>
            timer(Math.min(retryOptions.maxDelayMs, retryOptions.baseDelayMs * 2 ** (retryCount - 1))),
        }),
        map((result): ScheduledResult<R> => ({ reason, ok: true, result, attempts })),
        catchError((error: unknown) => of<ScheduledResult<R>>({ reason, ok: false, error, attempts })),
      );
    }),
  );
}
