import { Random } from '@pncf/data';
import { tfRuntime } from '@pncf/evaluation';
import { PncfError } from '@pncf/runtime/errors';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectSameScores } from '../../evaluation/test/support/recommender-contract.js';
import { initTower, ParallelScorer, type PncfModel, prepareTower, TowerInference } from '../src/index.js';
import { ScorerWorker } from '../src/parallel-scorer.js';

describe('ParallelScorer', () => {
  const rng = new Random(11);
  const dim = 8;
  const table = (rows: number) => Float32Array.from({ length: rows * dim }, () => rng.next() * 2 - 1);
  const model: PncfModel = {
    numUsers: 50,
    numItems: 70,
    userVectors: table(50),
    itemVectors: table(70),
    tower: initTower(dim, [16, 8], true, 5, 0.5),
  };
  const prepared = prepareTower(model);
  let single: TowerInference;
  const expected = new Float32Array(37 * 70);
  const users = Uint32Array.from({ length: 37 }, (_, k) => (k * 17) % 50);

  beforeAll(async () => {
    await tfRuntime(() => {});
    single = new TowerInference(prepared);
    single.scoreUsers(users, expected);
  });
  afterAll(() => single.dispose());

  it('gives the single-thread scores with 2 and 3 threads, and with fewer users than threads', async () => {
    for (const threads of [2, 3]) {
      const parallel = await ParallelScorer.create(prepared, threads);
      try {
        expect(parallel.threads).toBe(threads);
        const out = new Float32Array(users.length * 70);
        await parallel.scoreUsers(users, out);
        expectSameScores(out, expected);
        const one = new Float32Array(70);
        await parallel.scoreUsers(users.subarray(5, 6), one);
        expectSameScores(one, expected.subarray(5 * 70, 6 * 70));
        // Several blocks in flight at once, as a pipelined caller would send them.
        const a = new Float32Array(20 * 70);
        const b = new Float32Array(17 * 70);
        await Promise.all([parallel.scoreUsers(users.subarray(0, 20), a), parallel.scoreUsers(users.subarray(20), b)]);
        expectSameScores([...a, ...b], expected);
      } finally {
        await parallel.dispose();
      }
    }
  }, 60_000);

  it('answers a request that fails in a worker with its typed error, and the worker stays up', async () => {
    // An output kernel of the wrong size makes every scoring pass throw, in the workers as here.
    const broken = { ...prepared, outKernel: new Float32Array(3) };
    const parallel = await ParallelScorer.create(broken, 2);
    try {
      const out = new Float32Array(users.length * 70);
      await expect(parallel.scoreUsers(users, out)).rejects.toThrow();
    } finally {
      await parallel.dispose();
    }
    // One worker alone: its error crossed the thread as { name, code, message } and was rebuilt; the worker
    // answers the next request too instead of dying with the first.
    const worker = new ScorerWorker({ prepared: broken, maxPairsPerPass: 1 << 16 });
    try {
      await worker.ready;
      await expect(worker.score(users.subarray(0, 4))).rejects.toMatchObject({
        code: 'UNCLASSIFIED',
        retriable: false,
      });
      await expect(worker.score(users.subarray(4, 8))).rejects.toBeInstanceOf(PncfError);
    } finally {
      await worker.terminate();
    }
  }, 60_000);
});
