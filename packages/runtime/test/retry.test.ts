import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { KafkaUnavailableError, PncfError } from '../src/errors.js';
import { backoffDelay, type RetryEvent, withRetry } from '../src/retry.js';

const transient = () => new KafkaUnavailableError('not yet');
const permanent = () => new PncfError('BROKEN', 'never', { retriable: false });

describe('backoffDelay', () => {
  it('grows by the multiplier up to the cap', () => {
    const policy = { initialDelayMs: 100, multiplier: 2, maxDelayMs: 1000, jitter: 0 };
    expect([1, 2, 3, 4, 5, 6].map((retry) => backoffDelay(retry, policy))).toEqual([100, 200, 400, 800, 1000, 1000]);
  });

  it('stays within ±jitter of the nominal delay and never above the cap', () => {
    const policy = { initialDelayMs: 1000, maxDelayMs: 1100, jitter: 0.2 };
    expect(backoffDelay(1, policy, () => 0)).toBe(800);
    expect(backoffDelay(1, policy, () => 0.5)).toBe(1000);
    expect(backoffDelay(1, policy, () => 0.999)).toBe(1100);
    for (let k = 0; k < 100; k++) {
      const delay = backoffDelay(1, policy);
      expect(delay).toBeGreaterThanOrEqual(800);
      expect(delay).toBeLessThanOrEqual(1100);
    }
  });
});

describe('withRetry (fake timers)', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('retries retriable errors with growing delays until the operation succeeds', async () => {
    const events: RetryEvent[] = [];
    const operation = vi.fn(async (attempt: number) => {
      if (attempt < 4) throw transient();
      return 'done';
    });
    const result = withRetry(operation, {
      initialDelayMs: 100,
      multiplier: 2,
      jitter: 0,
      onRetry: (event) => events.push(event),
    });
    await vi.runAllTimersAsync();
    await expect(result).resolves.toBe('done');
    expect(operation).toHaveBeenCalledTimes(4);
    expect(events.map((event) => [event.attempt, event.delayMs])).toEqual([
      [1, 100],
      [2, 200],
      [3, 400],
    ]);
    expect(events[2]!.elapsedMs).toBe(300);
    expect(events[0]!.error).toBeInstanceOf(KafkaUnavailableError);
  });

  it('stops at once on an error that is not retriable, and on one that says nothing', async () => {
    for (const error of [permanent(), new Error('plain'), new TypeError('bug')]) {
      const operation = vi.fn(async () => {
        throw error;
      });
      await expect(withRetry(operation, { retries: 10 })).rejects.toBe(error);
      expect(operation).toHaveBeenCalledTimes(1);
    }
  });

  it('gives up with the last error after `retries` retries', async () => {
    let calls = 0;
    const result = withRetry(
      async () => {
        calls++;
        throw new KafkaUnavailableError(`attempt ${calls}`);
      },
      { retries: 3, initialDelayMs: 10 },
    );
    const settled = expect(result).rejects.toThrow('attempt 4');
    await vi.runAllTimersAsync();
    await settled;
    expect(calls).toBe(4);
  });

  it('respects the total retry time: no attempt starts after it, the last one happens at it', async () => {
    const started: number[] = [];
    const t0 = Date.now();
    const result = withRetry(
      async () => {
        started.push(Date.now() - t0);
        throw transient();
      },
      { retries: Number.POSITIVE_INFINITY, initialDelayMs: 100, maxDelayMs: 400, jitter: 0, maxRetryTimeMs: 1000 },
    );
    const settled = expect(result).rejects.toBeInstanceOf(KafkaUnavailableError);
    await vi.runAllTimersAsync();
    await settled;
    // 0, +100, +200, +400 = 700, then the 400 ms wait is cut to the 300 ms left.
    expect(started).toEqual([0, 100, 300, 700, 1000]);
  });

  it('an abort stops the wait at once and rejects with the reason; no attempt starts afterwards', async () => {
    const controller = new AbortController();
    const operation = vi.fn(async () => {
      throw transient();
    });
    const result = withRetry(operation, { initialDelayMs: 10_000, signal: controller.signal });
    const settled = expect(result).rejects.toThrow('shutting down');
    await vi.advanceTimersByTimeAsync(50);
    expect(operation).toHaveBeenCalledTimes(1);
    controller.abort(new Error('shutting down'));
    await settled;
    await vi.runAllTimersAsync();
    expect(operation).toHaveBeenCalledTimes(1);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('does not start at all with an aborted signal', async () => {
    const operation = vi.fn(async () => 'never');
    await expect(withRetry(operation, { signal: AbortSignal.abort(new Error('gone')) })).rejects.toThrow('gone');
    expect(operation).not.toHaveBeenCalled();
  });

  it('retries what retryIf accepts', async () => {
    let calls = 0;
    const result = withRetry(
      async () => {
        if (++calls < 3) throw new Error('plain but known to pass');
        return calls;
      },
      { retryIf: () => true, initialDelayMs: 1 },
    );
    await vi.runAllTimersAsync();
    await expect(result).resolves.toBe(3);
  });
});

describe('withRetry (real timers, tiny delays)', () => {
  it('waits between attempts', async () => {
    const at: number[] = [];
    await withRetry(
      async (attempt) => {
        at.push(performance.now());
        if (attempt < 3) throw transient();
      },
      { initialDelayMs: 20, jitter: 0 },
    );
    expect(at).toHaveLength(3);
    expect(at[1]! - at[0]!).toBeGreaterThanOrEqual(18);
    expect(at[2]! - at[1]!).toBeGreaterThanOrEqual(38);
  });
});
