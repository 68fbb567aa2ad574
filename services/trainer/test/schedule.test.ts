import { RegistryError } from '@pncf/registry';
import { firstValueFrom, Subject, take, toArray } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import { type ScheduledResult, scheduleRuns, type TriggerReason, trainingTriggers } from '../src/schedule.js';

const noRetry = { retries: 0, baseDelayMs: 1, maxDelayMs: 1 };

/** A training run that throws `error()` on its first `failures` calls, then returns its call number. */
function flakyRun(failures: number, error: () => Error) {
  const state = { calls: 0 };
  const run = async (): Promise<number> => {
    state.calls++;
    if (state.calls <= failures) throw error();
    return state.calls;
  };
  return { state, run };
}

describe('trainingTriggers (virtual time)', () => {
  it('fires at startup, on manual requests, on the interval and when enough new data arrived', () => {
    const scheduler = new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
    scheduler.run(({ hot, expectObservable }) => {
      const manual$ = hot<void>('---m------', { m: undefined });
      // 150 new interactions appear at 55 ms and are consumed (a run took them) at 75 ms.
      const newInteractions = () => (scheduler.now() >= 55 && scheduler.now() < 75 ? 150 : 0);
      const triggers$ = trainingTriggers({
        intervalMs: 100,
        minNewInteractions: 100,
        pollMs: 20,
        newInteractions,
        manual$,
        runAtStartup: true,
      });
      expectObservable(triggers$, '^ 250ms !').toBe('s--m 56ms n 39ms i 99ms i', {
        s: 'startup',
        m: 'manual',
        n: 'new-interactions',
        i: 'interval',
      });
    });
  });

  it('leaves out the interval and the data trigger when they are disabled', () => {
    const scheduler = new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
    scheduler.run(({ hot, expectObservable }) => {
      const triggers$ = trainingTriggers({
        intervalMs: 0,
        minNewInteractions: 0,
        pollMs: 10,
        newInteractions: () => 1e9,
        manual$: hot<void>('-m-', { m: undefined }),
        runAtStartup: false,
      });
      expectObservable(triggers$, '^ 500ms !').toBe('-m', { m: 'manual' });
    });
  });
});

describe('scheduleRuns', () => {
  it('never overlaps runs: triggers during a run are dropped', async () => {
    const triggers$ = new Subject<TriggerReason>();
    let running = 0;
    let maxRunning = 0;
    let runs = 0;
    const results$ = scheduleRuns(
      triggers$,
      async () => {
        running++;
        maxRunning = Math.max(maxRunning, running);
        await new Promise((resolve) => setTimeout(resolve, 40));
        running--;
        return ++runs;
      },
      noRetry,
    );
    const collected = firstValueFrom(results$.pipe(take(2), toArray()));
    triggers$.next('manual');
    triggers$.next('interval');
    triggers$.next('new-interactions');
    await new Promise((resolve) => setTimeout(resolve, 60));
    triggers$.next('interval');
    const results = await collected;
    expect(maxRunning).toBe(1);
    expect(results.map((r) => r.reason)).toEqual(['manual', 'interval']);
    expect(runs).toBe(2);
  });

  it('retries a failing run with backoff and then succeeds', async () => {
    const triggers$ = new Subject<TriggerReason>();
    const started: number[] = [];
    const results$ = scheduleRuns(
      triggers$,
      async (_reason, attempt) => {
        started.push(Date.now());
        if (attempt < 3) throw new Error(`transient ${attempt}`);
        return 'model';
      },
      { retries: 3, baseDelayMs: 20, maxDelayMs: 1000 },
    );
    const first = firstValueFrom(results$);
    triggers$.next('manual');
    const result = await first;
    expect(result).toEqual({ reason: 'manual', ok: true, result: 'model', attempts: 3 });
    expect(started[1]! - started[0]!).toBeGreaterThanOrEqual(18);
    expect(started[2]! - started[1]!).toBeGreaterThanOrEqual(38);
  });

  it('does not retry a run whose error declares itself not retriable', async () => {
    const triggers$ = new Subject<TriggerReason>();
    const { state, run } = flakyRun(Number.POSITIVE_INFINITY, () => new RegistryError('nothing staged'));
    const results$ = scheduleRuns(triggers$, run, { retries: 3, baseDelayMs: 1, maxDelayMs: 1 });
    const first = firstValueFrom(results$);
    triggers$.next('manual');
    const result = await first;
    expect(result.ok).toBe(false);
    expect(result.attempts).toBe(1);
    expect(state.calls).toBe(1);
  });

  it('reports a run that keeps failing and keeps scheduling later runs', async () => {
    const triggers$ = new Subject<TriggerReason>();
    const { run } = flakyRun(2, () => new Error('boom'));
    const results$ = scheduleRuns(triggers$, run, { retries: 1, baseDelayMs: 1, maxDelayMs: 1 });
    const collected = firstValueFrom(results$.pipe(take(2), toArray()));
    triggers$.next('manual');
    await new Promise((resolve) => setTimeout(resolve, 30));
    triggers$.next('interval');
    const [failed, succeeded] = (await collected) as [ScheduledResult<number>, ScheduledResult<number>];
    expect(failed.ok).toBe(false);
    expect(failed.ok === false && (failed.error as Error).message).toBe('boom');
    expect(failed.attempts).toBe(2);
    expect(succeeded).toEqual({ reason: 'interval', ok: true, result: 3, attempts: 1 });
  });
});
