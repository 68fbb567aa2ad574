import fs from 'node:fs';
import path from 'node:path';
import { ModelRegistry } from '@pncf/registry';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scratchDir, syntheticStore } from './scorer-support.js';
import { testBrokers, trainerDeployment, uniqueName } from './support/kafka.js';
import { spawnService, waitForOutput } from './support/services.js';

/**
 * SIGTERM to a trainer process in the middle of a long step: the run is aborted inside the step's loop (the word2vec
 * workers are terminated, the tower stops at its next batch) and the process exits 0 within a few seconds, instead
 * of finishing the step or being killed by the 30 s stop timeout. Nothing reaches the registry.
 */
describe('trainer service: SIGTERM in the middle of a long step', () => {
  const root = scratchDir('trainer-sigterm');
  const storePath = path.join(root, 'store');

  beforeAll(async () => {
    await syntheticStore(storePath, 20_000);
  }, 60_000);
  afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

  it.each([
    // Default preset: skip-gram on two threads, i.e. the wasm kernel in pooled workers; far more epochs than 2 s.
    {
      step: 'word2vec',
      env: { TRAIN_PRESET: 'default', TRAIN_W2V_EPOCHS: '100000', TRAIN_TOWER_EPOCHS: '1' },
      done: 'step pretrain done',
    },
    // Reference preset: no early stopping, so the 100,000 tower epochs would all run.
    {
      step: 'tower',
      env: { TRAIN_PRESET: 'reference', TRAIN_W2V_EPOCHS: '1', TRAIN_TOWER_EPOCHS: '100000' },
      done: 'step tower done',
    },
  ])(
    'stops during $step within 5 s and exits 0',
    async ({ step, env, done }) => {
      const modelDir = path.join(root, `models-${step}`);
      const trainer = await spawnService('trainer', {
        KAFKA_BROKERS: testBrokers().join(','),
        MODEL_UPDATES_TOPIC: uniqueName('sigterm-models'),
        ...trainerDeployment('sigterm'),
        STORE_PATH: storePath,
        MODEL_DIR: modelDir,
        TRAIN_AT_STARTUP: 'true',
        TRAIN_INTERVAL_S: '0',
        TRAIN_MIN_NEW_INTERACTIONS: '0',
        TRAIN_REFIT_ALL: 'false',
        ...env,
      });
      await waitForOutput(trainer, /training run started/, 90_000);
      // Into the step: word2vec starts right after the split; the one word2vec epoch of the tower case takes well
      // under this on 20,000 events.
      await new Promise((resolve) => setTimeout(resolve, 4000));
      expect(trainer.output()).not.toContain(done);
      const signalled = Date.now();
      trainer.child.kill('SIGTERM');
      const code = await trainer.exited;
      const stopSeconds = (Date.now() - signalled) / 1000;
      expect(code, trainer.output()).toBe(0);
      expect(stopSeconds, trainer.output()).toBeLessThan(5);
      expect(trainer.output()).not.toContain(done);
      expect(trainer.output()).not.toContain('stop took longer than 30 s');
      expect(new ModelRegistry(modelDir).currentVersion()).toBeUndefined();
    },
    120_000,
  );
});
