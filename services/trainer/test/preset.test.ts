import { PRESET_NAMES, presets } from '@pncf/pncf';
import { loadConfig } from '@pncf/runtime';
import { describe, expect, it } from 'vitest';
import { TRAIN_PRESETS, trainerConfigSchema } from '../src/config.js';
import { presetFor, warmRunConfig } from '../src/pipeline.js';

const configFrom = (env: Record<string, string>) => presetFor(loadConfig('trainer', trainerConfigSchema, env));

describe('the trainer’s PNCF config: defaults → TRAIN_PRESET → TRAIN_W2V_EPOCHS / TRAIN_TOWER_EPOCHS', () => {
  it('is the preset when no override is set (0 keeps the preset’s epochs)', () => {
    const reference = configFrom({ TRAIN_PRESET: 'reference', TRAIN_W2V_EPOCHS: '0', TRAIN_TOWER_EPOCHS: '0' });
    expect(reference.tower.epochs).toBe(10);
    expect(reference.userWord2Vec.mode).toBe('cbow');
    expect(configFrom({}).tower.epochs).toBe(20);
  });

  it('lays the epoch variables over the preset, both word2vec tables alike', () => {
    const config = configFrom({ TRAIN_PRESET: 'reference', TRAIN_W2V_EPOCHS: '3', TRAIN_TOWER_EPOCHS: '4' });
    expect([config.userWord2Vec.epochs, config.itemWord2Vec.epochs, config.tower.epochs]).toEqual([3, 3, 4]);
    expect(config.tower.hidden).toEqual([256, 128, 64]);
    expect(config.tower.patience).toBe(0);
  });
});

describe('TRAIN_PRESET', () => {
  it('accepts every preset of @pncf/pncf, paper and plus included', () => {
    expect([...TRAIN_PRESETS].sort()).toEqual([...PRESET_NAMES].sort());
    expect(configFrom({ TRAIN_PRESET: 'paper' }).tower.hidden).toEqual([256, 128, 64]);
    expect(configFrom({ TRAIN_PRESET: 'plus' }).scorer).toBe('history');
    expect(() => configFrom({ TRAIN_PRESET: 'best' })).toThrow(/TRAIN_PRESET/);
  });

  it('TRAIN_TOWER_EPOCHS sets the epochs of the preset’s learned scorer: the history model’s for plus', () => {
    const plus = configFrom({ TRAIN_PRESET: 'plus', TRAIN_TOWER_EPOCHS: '2', TRAIN_W2V_EPOCHS: '1' });
    expect(plus.history.epochs).toBe(2);
    expect(plus.tower.epochs).toBe(presets.plus.tower.epochs);
    expect(plus.userWord2Vec.epochs).toBe(1);
    expect(configFrom({ TRAIN_PRESET: 'plus' }).history.epochs).toBe(presets.plus.history.epochs);
    const tower = configFrom({ TRAIN_TOWER_EPOCHS: '2' });
    expect([tower.tower.epochs, tower.history.epochs]).toEqual([2, presets.default.history.epochs]);
  });
});

describe('the warm recipe of a run continued from the serving model (TRAIN_WARM_*)', () => {
  const trainer = (env: Record<string, string> = {}) => loadConfig('trainer', trainerConfigSchema, env);
  const tables = { users: new Float32Array(0), items: new Float32Array(0), userIds: [], itemIds: [] } as never;
  const history = { model: {}, userIds: [], itemIds: [] } as never;

  it('trains the tables and the tower briefly, without early stopping, when both continue', () => {
    const config = warmRunConfig(presets.default, { embeddings: tables, tower: {} as never }, trainer());
    expect([config.userWord2Vec.epochs, config.itemWord2Vec.epochs, config.tower.epochs]).toEqual([1, 1, 1]);
    expect(config.tower.patience).toBe(0);
    expect(config.tower.hidden).toEqual(presets.default.tower.hidden);
  });

  it('is the full recipe for a first run, a serving model that does not fit, or TRAIN_WARM_*=0', () => {
    expect(warmRunConfig(presets.default, undefined, trainer())).toBe(presets.default);
    expect(warmRunConfig(presets.default, { embeddings: tables }, trainer())).toBe(presets.default);
    expect(warmRunConfig(presets.default, { tower: {} as never }, trainer())).toBe(presets.default);
    const off = warmRunConfig(
      presets.default,
      { embeddings: tables, tower: {} as never },
      trainer({ TRAIN_WARM_W2V_EPOCHS: '0', TRAIN_WARM_SCORER_EPOCHS: '0' }),
    );
    expect(off).toBe(presets.default);
  });

  it('sets the history model’s epochs for PNCF+', () => {
    const config = warmRunConfig(
      presets.plus,
      { embeddings: tables, history },
      trainer({ TRAIN_WARM_SCORER_EPOCHS: '3' }),
    );
    expect([config.userWord2Vec.epochs, config.history.epochs]).toEqual([1, 3]);
    expect(warmRunConfig(presets.plus, { embeddings: tables, tower: {} as never }, trainer())).toBe(presets.plus);
  });
});
