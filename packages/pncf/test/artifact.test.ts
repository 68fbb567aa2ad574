import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Random } from '@pncf/data';
import { tfRuntime } from '@pncf/evaluation';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadArtifact, type ModelArtifact, readManifest, saveArtifact } from '../src/artifact.js';
import { defaultPreset, presets } from '../src/config.js';
import { isHistoryModel } from '../src/fit.js';
import { HistoryInference } from '../src/history-inference.js';
import type { HistoryModel } from '../src/history-model.js';
import { type PncfModel, TowerInference } from '../src/inference.js';
import { initTower } from '../src/tower-weights.js';

const dir = mkdtempSync(join(tmpdir(), 'pncf-artifact-'));
const rng = new Random(2);
const dim = 4;
const artifact: ModelArtifact = {
  model: {
    numUsers: 3,
    numItems: 5,
    userVectors: new Float32Array(3 * dim).map(() => rng.next()),
    itemVectors: new Float32Array(5 * dim).map(() => rng.next()),
    tower: initTower(dim, [6, 3], true, 1, 0.3),
  },
  userIds: ['a', 'b', 'c'],
  itemIds: ['p', 'q', 'r', 's', 't'],
  config: defaultPreset,
  metrics: { validationRecall: 0.25 },
  pretrained: {
    users: { vocabSize: 3, dim, vectors: new Float32Array(12).fill(1), context: new Float32Array(12).fill(2) },
    items: { vocabSize: 5, dim, vectors: new Float32Array(20).fill(3), context: new Float32Array(20).fill(4) },
  },
};

const table = (n: number) => new Float32Array(n).map(() => rng.next() * 2 - 1);
const historyModel: HistoryModel = {
  kind: 'history',
  numUsers: 3,
  numItems: 5,
  dim,
  itemInput: table(5 * dim),
  historyKernel: table(dim * dim),
  userVectors: table(3 * dim),
  userKernel: table(dim * dim),
  itemOutput: table(5 * dim),
  itemBias: table(5),
};
const history: ModelArtifact = { ...artifact, model: historyModel, config: presets.plus };

/** Rewrite an artifact's manifest.json through `edit`. */
function editManifest(path: string, edit: (manifest: Record<string, unknown>) => Record<string, unknown>): void {
  const manifest = JSON.parse(readFileSync(join(path, 'manifest.json'), 'utf8')) as Record<string, unknown>;
  writeFileSync(join(path, 'manifest.json'), JSON.stringify(edit(manifest)));
}

beforeAll(async () => {
  await tfRuntime();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('model artifacts', () => {
  it('round-trips every table, the id maps, hyper-parameters and metrics', () => {
    const path = join(dir, 'model');
    const manifest = saveArtifact(path, artifact);
    expect(manifest.payload.sha256).toMatch(/^[0-9a-f]{64}$/);
    const loaded = loadArtifact(path);
    expect(loaded.model).toEqual(artifact.model);
    expect(loaded.userIds).toEqual(artifact.userIds);
    expect(loaded.itemIds).toEqual(artifact.itemIds);
    expect(loaded.config).toEqual(defaultPreset);
    expect(loaded.metrics).toEqual({ validationRecall: 0.25 });
    expect(loaded.pretrained).toEqual(artifact.pretrained);
    const read = readManifest(path);
    expect(read.kind).toBe('tower');
    expect(read.kind === 'tower' && read.hidden).toEqual([6, 3]);
  });

  it('reads an artifact written before PNCF+ (no kind in the manifest) as a tower', () => {
    const path = join(dir, 'old');
    saveArtifact(path, artifact);
    editManifest(path, ({ kind: _kind, ...rest }) => rest);
    expect(readManifest(path).kind).toBe('tower');
    expect(loadArtifact(path).model).toEqual(artifact.model);
  });

  it('round-trips a history model (PNCF+): its six arrays, kind "history", no tower shape', () => {
    const path = join(dir, 'history');
    const manifest = saveArtifact(path, history);
    expect(manifest).toMatchObject({ kind: 'history', dim, numUsers: 3, numItems: 5 });
    expect(manifest).not.toHaveProperty('hidden');
    expect(manifest.tensors.map((t) => t.name).slice(0, 6)).toEqual([
      'itemInput',
      'historyKernel',
      'userVectors',
      'userKernel',
      'itemOutput',
      'itemBias',
    ]);
    const loaded = loadArtifact(path);
    expect(isHistoryModel(loaded.model)).toBe(true);
    expect(loaded.model).toEqual(historyModel);
    expect(loaded.config).toEqual(presets.plus);
    expect(loaded.pretrained).toEqual(history.pretrained);
    expect(readManifest(path).kind).toBe('history');
  });

  it('keeps how a history model pools the history (count weights, norm exponent)', () => {
    const path = join(dir, 'history-pool');
    const pooled: HistoryModel = { ...historyModel, poolCountExponent: 0.75, poolNormExponent: 0.5 };
    const manifest = saveArtifact(path, { ...history, model: pooled });
    expect(manifest).toMatchObject({ pool: { countExponent: 0.75, normExponent: 0.5 } });
    expect(loadArtifact(path).model).toEqual(pooled);
    // Without them the manifest says nothing and the model keeps its defaults.
    expect(saveArtifact(path, history)).not.toHaveProperty('pool');
    expect(loadArtifact(path).model).not.toHaveProperty('poolCountExponent');
  });

  it('refuses a corrupt or mismatched history artifact, naming what is wrong', () => {
    const path = join(dir, 'history-bad');
    saveArtifact(path, history);
    // A manifest whose dim disagrees with the tables.
    editManifest(path, (m) => ({ ...m, dim: dim + 1 }));
    expect(() => loadArtifact(path)).toThrow(`${path}: tensor itemInput has shape 5,4, expected 5,5`);
    // A table missing from the tensor table.
    saveArtifact(path, history);
    editManifest(path, (m) => ({
      ...m,
      tensors: (m.tensors as { name: string }[]).filter((t) => t.name !== 'userKernel'),
    }));
    expect(() => loadArtifact(path)).toThrow(`${path}: tensor userKernel missing`);
    // A history payload claimed to be a tower: the tower's shape is required.
    saveArtifact(path, history);
    editManifest(path, (m) => ({ ...m, kind: 'tower' }));
    expect(() => loadArtifact(path)).toThrow(/not a pncf-model manifest: .*hidden/s);
    // An unknown kind.
    editManifest(path, (m) => ({ ...m, kind: 'forest' }));
    expect(() => loadArtifact(path)).toThrow(/not a pncf-model manifest/);
    // The model's kind and its config's scorer disagree.
    saveArtifact(path, history);
    editManifest(path, (m) => ({ ...m, config: defaultPreset }));
    expect(() => loadArtifact(path)).toThrow(`${path}: a history model with a config whose scorer is "tower"`);
    // A flipped byte in the payload.
    saveArtifact(path, history);
    const bin = readFileSync(join(path, 'tensors.bin'));
    bin[3] = bin[3]! ^ 0xff;
    writeFileSync(join(path, 'tensors.bin'), bin);
    expect(() => loadArtifact(path)).toThrow(/checksum/);
  });

  it('never writes a model whose kind its config contradicts, or whose id maps do not fit', () => {
    expect(() => saveArtifact(join(dir, 'never'), { ...history, config: defaultPreset })).toThrow(
      /a history model with a config whose scorer is "tower"/,
    );
    expect(() => saveArtifact(join(dir, 'never'), { ...artifact, config: presets.plus })).toThrow(
      /a tower model with a config whose scorer is "history"/,
    );
    expect(() => saveArtifact(join(dir, 'never'), { ...history, userIds: ['a'] })).toThrow(/id maps/);
  });

  it('refuses a corrupted payload, a truncated one and an unknown version', () => {
    const path = join(dir, 'corrupt');
    saveArtifact(path, artifact);
    const bin = readFileSync(join(path, 'tensors.bin'));
    bin[10] = bin[10]! ^ 0xff;
    writeFileSync(join(path, 'tensors.bin'), bin);
    expect(() => loadArtifact(path)).toThrow(/checksum/);
    writeFileSync(join(path, 'tensors.bin'), bin.subarray(0, 20));
    expect(() => loadArtifact(path)).toThrow(/bytes/);
    const manifest = JSON.parse(readFileSync(join(path, 'manifest.json'), 'utf8'));
    writeFileSync(join(path, 'manifest.json'), JSON.stringify({ ...manifest, version: 99 }));
    expect(() => loadArtifact(path)).toThrow(/version 99/);
  });

  it('is loaded and scored by another process with the same results', () => {
    const path = join(dir, 'shared');
    saveArtifact(path, artifact);
    const inference = TowerInference.fromModel(artifact.model as PncfModel);
    const here = new Float32Array(3 * 5);
    inference.scoreUsers(Uint32Array.of(0, 1, 2), here);
    inference.dispose();
    expectSameScoresElsewhere(path, here);
  });

  it('is loaded and scored by another process with the same results: a history model', () => {
    const path = join(dir, 'shared-history');
    saveArtifact(path, history);
    const inference = new HistoryInference(historyModel);
    // Each user's history: items 0..u (as score-artifact.ts builds it).
    const histories = { indptr: Uint32Array.of(0, 1, 3, 6), indices: Uint32Array.of(0, 0, 1, 0, 1, 2) };
    const here = new Float32Array(3 * 5);
    inference.scoreVectors(inference.userVectors(Int32Array.of(0, 1, 2), histories), here);
    inference.dispose();
    expectSameScoresElsewhere(path, here);
  });
});

/** Scores of every item for every user of the artifact at `path`, computed by support/score-artifact.ts in another process. */
function expectSameScoresElsewhere(path: string, here: Float32Array): void {
  const script = fileURLToPath(new URL('./support/score-artifact.ts', import.meta.url));
  const root = fileURLToPath(new URL('../../..', import.meta.url));
  const out = execFileSync(process.execPath, ['--import', 'tsx', script, path], { cwd: root, encoding: 'utf8' });
  const there = JSON.parse(out.trim().split('\n').at(-1)!) as number[];
  expect(there).toHaveLength(here.length);
  for (const [k, s] of there.entries()) expect(s).toBeCloseTo(here[k]!, 6);
}
