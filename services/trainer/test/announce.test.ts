import { PncfError } from '@pncf/runtime';
import { firstValueFrom, from, Subject, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { announce, announcementRetriable, handleInOrder } from '../src/announce.js';

const fast = { initialDelayMs: 1, maxDelayMs: 2, jitter: 0 };

/** A send that fails with `error()` on its first `failures` calls, then succeeds. */
function flakySend(failures: number, error: () => unknown) {
  const state = { calls: 0 };
  const send = async () => {
    state.calls++;
    if (state.calls <= failures) throw error();
  };
  return { state, send };
}

describe('announce (model-updated under the one retry policy)', () => {
  it('retries a failed send and reports how many attempts it took', async () => {
    const { state, send } = flakySend(2, () => new Error('broker gone'));
    const retries: number[] = [];
    const outcome = await announce(send, { ...fast, onRetry: (e) => retries.push(e.attempt) });
    expect(outcome).toEqual({ ok: true, attempts: 3 });
    expect(state.calls).toBe(3);
    expect(retries).toEqual([1, 2]);
  });

  it('gives up after the retries without rejecting, and returns the last error', async () => {
    const { state, send } = flakySend(100, () =>
      Object.assign(new Error('retries exhausted'), {
        name: 'KafkaJSNumberOfRetriesExceeded',
        retriable: false,
      }),
    );
    const outcome = await announce(send, { ...fast, retries: 3 });
    expect(outcome.ok).toBe(false);
    expect(outcome.attempts).toBe(4);
    expect(state.calls).toBe(4);
    if (!outcome.ok) expect((outcome.error as Error).message).toBe('retries exhausted');
  });

  it('does not retry what declares itself not retriable, and stops waiting when aborted', async () => {
    const bug = flakySend(100, () => new TypeError('x is undefined'));
    expect(await announce(bug.send, fast)).toMatchObject({ ok: false, attempts: 1 });
    const refused = flakySend(100, () => new PncfError('REFUSED', 'refused', { retriable: false }));
    expect(await announce(refused.send, fast)).toMatchObject({ ok: false, attempts: 1 });
    expect(announcementRetriable(new Error('plain'))).toBe(true);

    const abort = new AbortController();
    const slow = flakySend(100, () => new Error('broker gone'));
    const pending = announce(slow.send, { initialDelayMs: 60_000, signal: abort.signal });
    abort.abort(new Error('trainer stopping'));
    const outcome = await pending;
    expect(outcome.ok).toBe(false);
    expect(slow.state.calls).toBe(1);
  });
});

describe('handleInOrder', () => {
  it('handles results one at a time, in order, and goes on after a handler fails', async () => {
    const log: string[] = [];
    const errors: unknown[] = [];
    const results$ = new Subject<number>();
    const done = firstValueFrom(
      results$.pipe(
        handleInOrder(
          async (n) => {
            log.push(`start ${n}`);
            // The first result's announcement is slow: the next one must wait for it.
            await new Promise((resolve) => setTimeout(resolve, n === 1 ? 30 : 1));
            if (n === 2) throw new Error('send failed for good');
            log.push(`end ${n}`);
          },
          (error, n) => errors.push([n, (error as Error).message]),
        ),
        toArray(),
      ),
    );
    results$.next(1);
    results$.next(2);
    results$.next(3);
    results$.complete();
    expect(await done).toEqual([]);
    expect(log).toEqual(['start 1', 'end 1', 'start 2', 'start 3', 'end 3']);
    expect(errors).toEqual([[2, 'send failed for good']]);
  });

  it('a rejected handler never escapes as an unhandled rejection', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const errors: unknown[] = [];
      await firstValueFrom(
        from([1, 2]).pipe(
          handleInOrder(
            async () => {
              throw new Error('boom');
            },
            (error) => errors.push(error),
          ),
          toArray(),
        ),
      );
      await new Promise((resolve) => setTimeout(resolve, 10));
      expect(errors).toHaveLength(2);
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});
