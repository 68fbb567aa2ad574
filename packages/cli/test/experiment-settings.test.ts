import { Ials, ItemKnn } from '@pncf/evaluation';
import { describe, expect, it } from 'vitest';
import { BASELINES, baselineSettings, MODEL_REGISTRY } from '../src/commands/experiment.js';

describe('pncf experiment: baseline settings', () => {
  it('uses the data set’s tuned settings, with every given flag laid over them', () => {
    expect(baselineSettings('author-tag', {})).toEqual(BASELINES['author-tag']);
    const flags = { knnNeighbours: 20, ialsFactors: 128, easeLambda: undefined };
    expect(baselineSettings('author-tag', flags)).toEqual({
      ...BASELINES['author-tag'],
      knnNeighbours: 20,
      ialsFactors: 128,
    });
  });

  it('falls back to ML-100K’s settings for a data set without a tuning run, and ignores other options', () => {
    expect(baselineSettings('given-split', { seeds: [1] } as never)).toEqual(BASELINES['ml-100k']);
  });

  it('builds iALS and ItemKNN from the settings', () => {
    const settings = { dataset: 'ml-100k', ...BASELINES['ml-100k']!, neumfEpochs: 1, log: () => {} };
    expect(MODEL_REGISTRY.ials!.label).toBe('iALS');
    expect(MODEL_REGISTRY.ials!.create(settings)).toBeInstanceOf(Ials);
    expect(MODEL_REGISTRY.itemknn!.create(settings)).toBeInstanceOf(ItemKnn);
  });
});
