import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Random } from '@pncf/data';
import { tfRuntime } from '@pncf/evaluation';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadArtifact, type ModelArtifact, readManifest, saveArtifact } from '../src/artifact.js';
import { defaultPreset } from '../src/config.js';
import { TowerInference } from '../src/inference.js';
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
    expect(readManifest(path).hidden).toEqual([6, 3]);
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
    const inference = TowerInference.fromModel(artifact.model);
    const here = new Float32Array(3 * 5);
    inference.scoreUsers(Uint32Array.of(0, 1, 2), here);
    inference.dispose();
    const script = fileURLToPath(new URL('./support/score-artifact.ts', import.meta.url));
    const root = fileURLToPath(new URL('../../..', import.meta.url));
    const out = execFileSync(process.execPath, ['--import', 'tsx', script, path], { cwd: root, encoding: 'utf8' });
    const there = JSON.parse(out.trim().split('\n').at(-1)!) as number[];
    expect(there).toHaveLength(15);
    for (const [k, s] of there.entries()) expect(s).toBeCloseTo(here[k]!, 6);
  });
});
