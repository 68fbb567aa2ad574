import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isHistoryModel, loadArtifact, readManifest } from '@pncf/pncf';
import { ModelRegistry } from '@pncf/registry';
import { loadConfig } from '@pncf/runtime';
import { InteractionStore } from '@pncf/store';
import { AuthorTagGenerator, type SyntheticStream, scaledOptions } from '@pncf/synthetic';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TrainerConfig, trainerConfigSchema } from '../src/config.js';
import { type ModelMetadata, type RunOutcome, trainOnce } from '../src/pipeline.js';

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

/** The published outcome, or a failure that says why the run did not publish. */
function published(outcome: RunOutcome): Extract<RunOutcome, { outcome: 'published' }> {
  if (outcome.outcome !== 'published') throw new Error(`not published: ${outcome.outcome}: ${outcome.reason}`);
  return outcome;
}

// TRAIN_PRESET=plus end to end on a real LMDB store and registry: PNCF+'s history model is fitted, gated against
// the serving model (of either kind) by ArtifactRecommender, published, and continued from by the next run.
describe('trainOnce with TRAIN_PRESET=plus (the history model)', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'pncf-trainer-plus-'));
  const stream = new AuthorTagGenerator(scaledOptions(24_000, 5)).generate();
  let store: InteractionStore;
  let modelRegistry: ModelRegistry<ModelMetadata>;
  const config = (overrides: Record<string, string> = {}): TrainerConfig =>
    loadConfig('trainer', trainerConfigSchema, {
      MODEL_DIR: path.join(root, 'models'),
      TRAIN_PRESET: 'plus',
      TRAIN_TOWER_EPOCHS: '2',
      TRAIN_W2V_EPOCHS: '1',
      TRAIN_REFIT_ALL: 'false',
      // The runs are judged on the mechanics, not on whether a 2-epoch model beats another.
      GATE_TOLERANCE: '1',
      GATE_MIN_WINDOW_USERS: '20',
      GATE_MIN_WINDOW_PAIRS: '40',
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

  it('publishes a history model, then one warm-started from it and gated against it', {
    timeout: 300_000,
  }, async () => {
    ingest(store, stream, 0, 10_000);
    const steps: Record<string, unknown>[] = [];
    const first = published(
      await trainOnce({
        store,
        modelRegistry,
        config: config(),
        onStep: (step, _s, detail) => steps.push({ step, ...detail }),
      }),
    );
    expect(first.version.version).toBe('v000001');
    expect(steps.find((s) => s.step === 'tower')).toMatchObject({ scorer: 'history', warmStart: false });
    expect(first.metadata.config.scorer).toBe('history');
    expect(first.metadata.config.history.epochs).toBe(2);
    expect(first.metadata.warmStart).toEqual({ embeddings: false, tower: false, history: false });
    const recall10 = first.metadata.holdout.metrics.recall?.[first.metadata.holdout.ks.indexOf(10)];
    expect(recall10).toBeGreaterThan(0);
    // What the scorer loads: a history artifact whose config says so.
    const dir = modelRegistry.open('v000001').dir;
    expect(readManifest(dir).kind).toBe('history');
    const artifact = loadArtifact(dir);
    expect(isHistoryModel(artifact.model)).toBe(true);
    expect(artifact.model.numUsers).toBe(first.metadata.data.users);
    expect(artifact.pretrained?.users.dim).toBe(64);

    // New pairs after v1's snapshot: v2 is judged on them against v1 (a history model scored by
    // ArtifactRecommender), warm-started from v1's tables and history model, and refitted on all data.
    ingest(store, stream, 10_000, 16_000, 2000);
    const second = published(await trainOnce({ store, modelRegistry, config: config({ TRAIN_REFIT_ALL: 'true' }) }));
    expect(second.version.version).toBe('v000002');
    expect(second.metadata.warmStart).toEqual({ embeddings: true, tower: false, history: true });
    expect(second.metadata.seconds.refit).toBeGreaterThan(0);
    expect(second.metadata.gate).toMatchObject({ evaluation: 'window', baseline: 'v000001', rule: 'within-tolerance' });
    expect(second.metadata.gate.current).toBeGreaterThan(0);
    expect(second.metadata.gate.comparison!.users).toBeGreaterThan(0);
    // Continued from v1: the warm recipe (TRAIN_WARM_SCORER_EPOCHS history epochs), then a one-epoch catch-up refit.
    expect(second.metadata.recipe).toBe('warm');
    expect(second.metadata.config.history.epochs).toBe(1);
    expect([
      second.metadata.config.userWord2Vec.epochs,
      loadArtifact(modelRegistry.open('v000002').dir).config.history.epochs,
    ]).toEqual([1, 1]);
    expect(modelRegistry.open('v000002').manifest.metadata.warmStart).toEqual(second.metadata.warmStart);
    expect(readManifest(modelRegistry.open('v000002').dir).kind).toBe('history');
  });

  it('switches the preset both ways: a tower gated against a history model, then a history model against a tower', {
    timeout: 300_000,
  }, async () => {
    ingest(store, stream, 16_000, 20_000, 2000);
    const tower = published(
      await trainOnce({ store, modelRegistry, config: config({ TRAIN_PRESET: 'default', TRAIN_TOWER_EPOCHS: '2' }) }),
    );
    // The serving history model's 64-d tables do not fit the default's 32-d word2vec: a cold fit, judged against it.
    expect(tower.metadata.warmStart).toEqual({ embeddings: false, tower: false, history: false });
    expect(tower.metadata.gate).toMatchObject({ evaluation: 'window', baseline: 'v000002' });
    expect(tower.metadata.gate.current).toBeGreaterThan(0);
    expect(readManifest(modelRegistry.open(tower.version.version).dir).kind).toBe('tower');

    ingest(store, stream, 20_000, 24_000, 2000);
    const back = published(await trainOnce({ store, modelRegistry, config: config() }));
    expect(back.metadata.warmStart).toEqual({ embeddings: false, tower: false, history: false });
    expect(back.metadata.gate).toMatchObject({ evaluation: 'window', baseline: tower.version.version });
    expect(back.metadata.gate.current).toBeGreaterThan(0);
    expect(readManifest(modelRegistry.open(back.version.version).dir).kind).toBe('history');
  });
});
