import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadArtifact, type ModelArtifact, saveArtifact } from '../src/artifact.js';
import {
  defaultPreset,
  InvalidPncfConfigError,
  PNCF_DEFAULTS,
  PRESET_NAMES,
  parsePncfConfig,
  presets,
  referencePreset,
  resolvePncfConfig,
} from '../src/config.js';
import { initTower } from '../src/tower-weights.js';

describe('PNCF config: one precedence order, defaults → preset → overrides', () => {
  it('builds every preset through the schema', () => {
    expect(PRESET_NAMES).toEqual(['default', 'reference', 'npncf', 'paper', 'plus']);
    for (const name of PRESET_NAMES) expect(parsePncfConfig(presets[name], name)).toEqual(presets[name]);
    expect(resolvePncfConfig()).toEqual(PNCF_DEFAULTS);
    expect(defaultPreset).toEqual(PNCF_DEFAULTS);
    expect(presets.npncf).toEqual({ ...PNCF_DEFAULTS, pretrain: false });
  });

  it('lays the preset over the defaults, then each override in turn, field by field', () => {
    const config = resolvePncfConfig(
      'reference',
      { word2vec: { epochs: 7, threads: 2 }, tower: { epochs: 4, validationUsers: 50 } },
      { userWord2Vec: { epochs: 9 }, tower: { epochs: 5, patience: undefined } },
    );
    // The last override wins; `word2vec` sets both tables before the per-table overrides of the same layer.
    expect(config.userWord2Vec.epochs).toBe(9);
    expect(config.itemWord2Vec.epochs).toBe(7);
    expect(config.itemWord2Vec.threads).toBe(2);
    expect(config.tower.epochs).toBe(5);
    expect(config.tower.validationUsers).toBe(50);
    // The preset's values where no override says otherwise (undefined keeps the value below).
    expect(config.itemWord2Vec.mode).toBe('cbow');
    expect(config.tower.patience).toBe(0);
    expect(config.tower.hidden).toEqual([256, 128, 64]);
    expect(config.bags).toEqual({ ...PNCF_DEFAULTS.bags, weightExponent: 1, minMembers: 1 });
    // The defaults' values where the preset says nothing.
    expect(config.tower.validationK).toBe(PNCF_DEFAULTS.tower.validationK);
    expect(config.randomInitRange).toBe(PNCF_DEFAULTS.randomInitRange);
    // Nothing below is changed by resolving.
    expect(referencePreset.userWord2Vec.epochs).toBe(5);
    expect(PNCF_DEFAULTS.tower.epochs).toBe(20);
  });

  it('rejects an invalid result, naming its source and every bad field', () => {
    const attempt = () =>
      resolvePncfConfig('default', { tower: { dropout: 1.5, epochs: 0 }, userWord2Vec: { dim: 16 } });
    expect(attempt).toThrow(InvalidPncfConfigError);
    expect(attempt).toThrow(/^preset "default" with overrides: invalid PNCF config: /);
    expect(attempt).toThrow(/tower\.dropout: /);
    expect(attempt).toThrow(/tower\.epochs: /);
    expect(attempt).toThrow(/itemWord2Vec\.dim: must equal userWord2Vec\.dim/);
    expect(() => resolvePncfConfig('fancy' as 'default')).toThrow('unknown PNCF preset "fancy"');
  });
});

describe('PNCF config of a model artifact', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pncf-config-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const dim = 4;
  const artifact: ModelArtifact = {
    model: {
      numUsers: 2,
      numItems: 3,
      userVectors: new Float32Array(2 * dim).fill(0.5),
      itemVectors: new Float32Array(3 * dim).fill(0.25),
      tower: initTower(dim, [5], true, 1),
    },
    userIds: ['a', 'b'],
    itemIds: ['p', 'q', 'r'],
    config: defaultPreset,
    metrics: {},
  };

  it('is validated on load: a bad config is refused with the artifact and the field named', () => {
    const path = join(dir, 'bad');
    saveArtifact(path, artifact);
    const manifestPath = join(path, 'manifest.json');
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
    manifest.config.tower.loss = 'hinge';
    delete manifest.config.bags.bagSize;
    writeFileSync(manifestPath, JSON.stringify(manifest));
    expect(() => loadArtifact(path)).toThrow(InvalidPncfConfigError);
    expect(() => loadArtifact(path)).toThrow(`${path}: manifest.json config: invalid PNCF config: `);
    expect(() => loadArtifact(path)).toThrow(/tower\.loss: .*"mse"\|"bce"/);
    expect(() => loadArtifact(path)).toThrow(/bags\.bagSize: /);
  });

  it('is validated on save, so an artifact that could not be loaded is never written', () => {
    const bad = { ...defaultPreset, tower: { ...defaultPreset.tower, batchSize: 1 } };
    expect(() => saveArtifact(join(dir, 'never'), { ...artifact, config: bad })).toThrow(/tower\.batchSize: /);
    saveArtifact(join(dir, 'good'), artifact);
    expect(loadArtifact(join(dir, 'good')).config).toEqual(defaultPreset);
  });
});
