import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadArtifact } from '@pncf/pncf';
import { ModelRegistry } from '@pncf/registry';
import { loadConfig } from '@pncf/runtime';
import { InteractionStore } from '@pncf/store';
import { AuthorTagGenerator, type SyntheticStream, scaledOptions } from '@pncf/synthetic';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TrainerConfig, trainerConfigSchema } from '../src/config.js';
import { type ModelMetadata, trainOnce } from '../src/pipeline.js';

/** Events [from, to) of the stream, in write transactions of at most `batch` events (one sequence each). */
function ingest(store: InteractionStore, stream: SyntheticStream, from: number, to: number, batch = to - from): void {
  for (let start = from; start < to; start += batch) {
    const end = Math.min(to, start + batch);
    const events = [];
    for (let i = start; i < end; i++) {
      events.push({
        offset: BigInt(i),
        user: stream.authorIds[stream.authors[i]!]!,
        item: stream.tagIds[stream.tags[i]!]!,
        count: 1,
      });
    }
    store.applyBatch({ topic: 'interactions', partition: 0, events, nextOffset: BigInt(end) });
  }
}

describe('trainOnce on a real LMDB store and registry', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'pncf-trainer-'));
  const stream = new AuthorTagGenerator(scaledOptions(30_000, 3)).generate();
  let store: InteractionStore;
  let modelRegistry: ModelRegistry<ModelMetadata>;
  const config = (overrides: Record<string, string> = {}): TrainerConfig =>
    loadConfig('trainer', trainerConfigSchema, {
      MODEL_DIR: path.join(root, 'models'),
      TRAIN_TOWER_EPOCHS: '3',
      TRAIN_W2V_EPOCHS: '2',
      TRAIN_REFIT_ALL: 'false',
      GATE_TOLERANCE: '0.02',
      ...overrides,
    });

  beforeAll(() => {
    store = InteractionStore.open({ path: path.join(root, 'store') });
    modelRegistry = new ModelRegistry(path.join(root, 'models'));
  });
  afterAll(async () => {
    await store.close();
    fs.rmSync(root, { recursive: true, force: true });
  });

  it('publishes v1 on the first half, then v2 with the new users and items', { timeout: 240_000 }, async () => {
    ingest(store, stream, 0, 12_000);
    const steps: string[] = [];
    const first = await trainOnce({ store, modelRegistry, config: config(), onStep: (step) => steps.push(step) });
    expect(first.outcome).toBe('published');
    if (first.outcome !== 'published') return;
    expect(first.version.version).toBe('v000001');
    expect(steps).toEqual(['snapshot', 'prepare', 'bags', 'pretrain', 'tower', 'evaluate', 'gate', 'publish']);
    const recall10 = first.metadata.holdout.metrics.recall?.[first.metadata.holdout.ks.indexOf(10)];
    expect(recall10).toBeGreaterThan(0.02);
    expect(first.metadata.gate.current).toBeNull();
    // The first model has nothing to compare with: a per-user random holdout, no window.
    expect(first.metadata.evaluation).toBe('random-holdout');
    expect(first.metadata.gate).toMatchObject({
      evaluation: 'random-holdout',
      decision: 'publish',
      rule: 'no-incumbent',
    });
    expect(first.metadata.gate.window).toBeUndefined();

    // Four write transactions (sequences 2..5) after v1's snapshot (sequence 1).
    ingest(store, stream, 12_000, 24_000, 3000);
    const second = await trainOnce({ store, modelRegistry, config: config({ TRAIN_REFIT_ALL: 'true' }) });
    expect(second.outcome).toBe('published');
    if (second.outcome !== 'published') return;
    expect(second.version.version).toBe('v000002');
    expect(modelRegistry.currentVersion()).toBe('v000002');
    expect(second.metadata.data.users).toBeGreaterThan(first.metadata.data.users);
    expect(second.metadata.data.items).toBeGreaterThan(first.metadata.data.items);
    expect(second.metadata.gate.current).not.toBeNull();
    expect(first.metadata.warmStart).toEqual({ embeddings: false, tower: false, history: false });
    expect(second.metadata.warmStart).toEqual({ embeddings: true, tower: true, history: false });
    // Continued from v1: the warm recipe (TRAIN_WARM_* epochs, no early stopping), then a one-epoch catch-up refit.
    expect(first.metadata.recipe).toBe('full');
    expect(second.metadata.recipe).toBe('warm');
    expect([second.metadata.config.userWord2Vec.epochs, second.metadata.config.tower.epochs]).toEqual([1, 1]);
    const published = loadArtifact(modelRegistry.current()!.dir);
    expect([published.config.itemWord2Vec.epochs, published.config.tower.epochs]).toEqual([1, 1]);
    expect(second.metadata.snapshotSequence).toBeGreaterThan(first.metadata.snapshotSequence);

    // v2 was judged on a window of pairs first seen after v1's snapshot, at most about GATE_WINDOW_MAX_SHARE of
    // all pairs in whole transactions: the newest ones, which neither model trained on.
    const { gate } = second.metadata;
    expect(second.metadata.evaluation).toBe('window');
    expect(gate).toMatchObject({ evaluation: 'window', decision: 'publish', baseline: 'v000001' });
    const window = gate.window!;
    expect(window.incumbentSequence).toBe(first.metadata.snapshotSequence);
    expect(window.fromSequence).toBeGreaterThan(window.incumbentSequence);
    expect(window.toSequence).toBe(second.metadata.snapshotSequence);
    expect(window.pairs).toBeGreaterThanOrEqual(Math.ceil(0.2 * second.metadata.data.pairs));
    expect(window.pairs).toBe(
      window.dropped.newUsers + window.dropped.unknownToIncumbent + window.dropped.newItems + window.evaluable.pairs,
    );
    expect(window.evaluable.users).toBeGreaterThanOrEqual(100);
    expect(window.evaluated.users).toBe(Math.min(1000, window.evaluable.users));
    expect(second.metadata.holdout.users).toBe(window.evaluated.users);
    // Both values with their intervals, and the difference's, over the same users.
    const comparison = gate.comparison!;
    expect(comparison.users).toBe(window.evaluated.users);
    expect(comparison.candidate.mean).toBeCloseTo(gate.candidate!, 12);
    expect(comparison.incumbent.mean).toBeCloseTo(gate.current!, 12);
    for (const estimate of [comparison.candidate, comparison.incumbent, comparison.difference]) {
      expect(estimate.low).toBeLessThanOrEqual(estimate.mean);
      expect(estimate.high).toBeGreaterThanOrEqual(estimate.mean);
    }
    expect(comparison.difference.mean).toBeCloseTo(gate.candidate! - gate.current!, 12);
    expect(comparison.difference.high).toBeGreaterThanOrEqual(-gate.tolerance);
    // The candidate's figures are the window's: recall@10 is the gate's value.
    expect(second.metadata.holdout.metrics.recall?.[second.metadata.holdout.ks.indexOf(10)]).toBeCloseTo(
      gate.candidate!,
      12,
    );
    // What version.json holds is what the run returned.
    expect(modelRegistry.open('v000002').manifest.metadata.gate).toEqual(JSON.parse(JSON.stringify(gate)));
  });

  it('rejects a clearly worse model and keeps the current one', { timeout: 240_000 }, async () => {
    // New pairs after v2's snapshot for the window.
    ingest(store, stream, 24_000, 30_000, 2000);
    const before = modelRegistry.currentVersion();
    // NPNCF with a single epoch: random embeddings barely trained.
    const outcome = await trainOnce({
      store,
      modelRegistry,
      config: config({ TRAIN_PRESET: 'npncf', TRAIN_TOWER_EPOCHS: '1', GATE_TOLERANCE: '0' }),
    });
    expect(outcome.outcome).toBe('rejected');
    if (outcome.outcome !== 'rejected') return;
    expect(outcome.metadata.gate).toMatchObject({ decision: 'reject', rule: 'worse-beyond-tolerance' });
    expect(outcome.metadata.gate.comparison!.difference.high).toBeLessThan(0);
    expect(modelRegistry.currentVersion()).toBe(before);
    expect(modelRegistry.list()).toHaveLength(2);
  });

  it('rolls a corrupted current model back to the newest intact version, builds on that and replaces it', {
    timeout: 240_000,
  }, async () => {
    const broken = modelRegistry.current()!;
    const payload = path.join(broken.dir, 'tensors.bin');
    const corrupted = fs.readFileSync(payload);
    corrupted[corrupted.length >> 1]! ^= 0xff;
    fs.writeFileSync(payload, corrupted);
    const recoveries: unknown[] = [];
    const steps: Record<string, unknown>[] = [];
    const outcome = await trainOnce({
      store,
      modelRegistry,
      config: config({ GATE_TOLERANCE: '1' }),
      onRecovery: (recovery) => recoveries.push(recovery),
      onStep: (step, _s, detail) => steps.push({ step, ...detail }),
    });
    const recovery = {
      from: broken.version,
      to: 'v000001',
      reason: expect.stringMatching(`model ${broken.version}: checksum mismatch for tensors.bin`),
    };
    expect(recoveries).toEqual([recovery]);
    expect(steps.find((s) => s.step === 'prepare')).toMatchObject({ baseline: 'v000001' });
    expect(outcome.outcome).toBe('published');
    if (outcome.outcome !== 'published') return;
    expect(outcome.metadata.recovery).toEqual(recovery);
    expect(outcome.metadata.warmStart.embeddings).toBe(true);
    expect(modelRegistry.currentVersion()).toBe('v000003');
  });

  it('with no intact version left, starts cold and publishes over the broken pointer', {
    timeout: 240_000,
  }, async () => {
    for (const version of modelRegistry.list()) {
      const payload = path.join(modelRegistry.versionsDir, version, 'tensors.bin');
      fs.appendFileSync(payload, Buffer.from([0]));
    }
    const recoveries: { to: string | null }[] = [];
    const outcome = await trainOnce({
      store,
      modelRegistry,
      config: config(),
      onRecovery: (recovery) => recoveries.push(recovery),
    });
    expect(recoveries).toEqual([expect.objectContaining({ from: 'v000003', to: null })]);
    expect(outcome.outcome).toBe('published');
    if (outcome.outcome !== 'published') return;
    expect(outcome.metadata.gate.current).toBeNull();
    expect(outcome.metadata.warmStart).toEqual({ embeddings: false, tower: false, history: false });
    expect(modelRegistry.current()!.version).toBe('v000004');
  });

  it('publishes without a decision when the window is below the minimum, and says so', {
    timeout: 240_000,
  }, async () => {
    // v4 (cold start above) saw everything; 30 events after it are far from GATE_MIN_WINDOW_USERS/PAIRS.
    const served = modelRegistry.current()!;
    const events = [];
    for (let i = 0; i < 30; i++) {
      // Known authors with known tags, mostly pairs they do not have yet.
      events.push({
        offset: BigInt(30_000 + i),
        user: stream.authorIds[stream.authors[i]!]!,
        item: stream.tagIds[stream.tags[10_000 + i]!]!,
        count: 1,
      });
    }
    store.applyBatch({ topic: 'interactions', partition: 0, events, nextOffset: 30_030n });
    const outcome = await trainOnce({ store, modelRegistry, config: config() });
    expect(outcome.outcome).toBe('published');
    if (outcome.outcome !== 'published') return;
    const { gate } = outcome.metadata;
    expect(outcome.metadata.evaluation).toBe('window');
    expect(gate).toMatchObject({ decision: 'publish', rule: 'window-too-small', baseline: served.version });
    expect(gate.reason).toMatch(/^window too small for a decision \(\d+ users < GATE_MIN_WINDOW_USERS 100/);
    expect(gate.window).toMatchObject({
      incumbentSequence: served.manifest.metadata.snapshotSequence,
      fromSequence: served.manifest.metadata.snapshotSequence,
      toSequence: outcome.metadata.snapshotSequence,
    });
    expect(gate.window!.pairs).toBeLessThanOrEqual(30);
    expect(modelRegistry.open(outcome.version.version).manifest.metadata.gate.rule).toBe('window-too-small');
  });

  it('stops between steps when aborted and leaves the registry untouched', async () => {
    const before = modelRegistry.list();
    const abort = new AbortController();
    const run = trainOnce({
      store,
      modelRegistry,
      config: config(),
      signal: abort.signal,
      onStep: (step) => {
        if (step === 'prepare') abort.abort(new Error('stop requested'));
      },
    });
    await expect(run).rejects.toThrow('stop requested');
    expect(modelRegistry.list()).toEqual(before);
  });
});
