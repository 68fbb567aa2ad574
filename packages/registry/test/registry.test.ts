import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ArtifactIntegrityError, ModelRegistry, RegistryError } from '../src/registry.js';

const roots: string[] = [];
function registry(): ModelRegistry<{ recall: number }> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'pncf-registry-'));
  roots.push(root);
  return new ModelRegistry(root);
}
afterEach(() => {
  for (const root of roots.splice(0)) fs.rmSync(root, { recursive: true, force: true });
});

function stage(reg: ModelRegistry<{ recall: number }>, payload: string): string {
  const dir = reg.createStaging();
  fs.writeFileSync(path.join(dir, 'weights.bin'), payload);
  fs.mkdirSync(path.join(dir, 'ids'));
  fs.writeFileSync(path.join(dir, 'ids', 'users.json'), '["a","b"]');
  return dir;
}

describe('ModelRegistry', () => {
  it('publishes numbered versions with checksums and moves the pointer', () => {
    const reg = registry();
    expect(reg.current()).toBeUndefined();
    const v1 = reg.publish(stage(reg, 'one'), { recall: 0.1 });
    const v2 = reg.publish(stage(reg, 'two'), { recall: 0.2 });
    expect([v1.version, v2.version]).toEqual(['v000001', 'v000002']);
    expect(reg.list()).toEqual(['v000001', 'v000002']);
    const current = reg.current();
    expect(current?.version).toBe('v000002');
    expect(current?.manifest.metadata).toEqual({ recall: 0.2 });
    expect(Object.keys(current?.manifest.files ?? {})).toEqual(['ids/users.json', 'weights.bin']);
    expect(fs.readFileSync(path.join(current!.dir, 'weights.bin'), 'utf8')).toBe('two');
    expect(fs.readdirSync(reg.stagingDir)).toEqual([]);
  });

  it('can publish without making the version current', () => {
    const reg = registry();
    reg.publish(stage(reg, 'one'), { recall: 0.1 });
    reg.publish(stage(reg, 'two'), { recall: 0.05 }, { makeCurrent: false });
    expect(reg.currentVersion()).toBe('v000001');
  });

  it('refuses a corrupted, truncated, incomplete or padded artifact with a clear error', () => {
    const reg = registry();
    const { dir, version } = reg.publish(stage(reg, 'weights'), { recall: 0.1 });
    fs.writeFileSync(path.join(dir, 'weights.bin'), 'weightz');
    expect(() => reg.open(version)).toThrow(ArtifactIntegrityError);
    expect(() => reg.current()).toThrow(/model v000001: checksum mismatch for weights.bin/);

    fs.writeFileSync(path.join(dir, 'weights.bin'), 'weights');
    expect(reg.open(version).version).toBe(version);
    fs.rmSync(path.join(dir, 'ids', 'users.json'));
    expect(() => reg.open(version)).toThrow(/file ids\/users.json is missing/);
    fs.writeFileSync(path.join(dir, 'ids', 'users.json'), '["a","b"]');
    fs.writeFileSync(path.join(dir, 'extra.bin'), 'x');
    expect(() => reg.open(version)).toThrow(/files not in the manifest: extra.bin/);
    fs.writeFileSync(path.join(dir, 'version.json'), '{');
    expect(() => reg.open(version)).toThrow(/manifest is not valid JSON/);
  });

  it('rolls back to the previous intact version, or to a named one', () => {
    const reg = registry();
    reg.publish(stage(reg, 'one'), { recall: 0.1 });
    const v2 = reg.publish(stage(reg, 'two'), { recall: 0.2 });
    reg.publish(stage(reg, 'three'), { recall: 0.3 });
    fs.writeFileSync(path.join(v2.dir, 'weights.bin'), 'broken');
    expect(reg.rollback()).toBe('v000001');
    expect(reg.currentVersion()).toBe('v000001');
    expect(reg.rollback('v000003')).toBe('v000003');
    expect(() => reg.rollback('v000002')).toThrow(ArtifactIntegrityError);
    expect(reg.currentVersion()).toBe('v000003');
    reg.setCurrent('v000001');
    expect(() => reg.rollback()).toThrow(RegistryError);
  });

  it('keeps the newest N versions and always the current one; clears stale staging', () => {
    const reg = registry();
    for (let i = 1; i <= 5; i++) reg.publish(stage(reg, `w${i}`), { recall: i / 10 });
    reg.setCurrent('v000002');
    const leftover = stage(reg, 'crashed publish');
    expect(reg.prune(2, 0)).toEqual(['v000001', 'v000003']);
    expect(reg.list()).toEqual(['v000002', 'v000004', 'v000005']);
    expect(fs.existsSync(leftover)).toBe(false);
  });

  it('prunable names what prune would delete; remove refuses the current version', () => {
    const reg = registry();
    for (let i = 1; i <= 4; i++) reg.publish(stage(reg, `w${i}`), { recall: i / 10 });
    reg.setCurrent('v000001');
    expect(reg.prunable(2)).toEqual(['v000002']);
    expect(() => reg.remove('v000001')).toThrow(RegistryError);
    reg.remove('v000002');
    expect(reg.list()).toEqual(['v000001', 'v000003', 'v000004']);
  });

  it('installs a version that arrived from elsewhere only when it is intact and under its own name', () => {
    const source = registry();
    const { dir } = source.publish(stage(source, 'payload'), { recall: 0.1 });
    const copy = (into: ModelRegistry<{ recall: number }>) => {
      const staged = into.createStaging('receive');
      fs.cpSync(dir, staged, { recursive: true });
      return staged;
    };
    const target = registry();
    const broken = copy(target);
    fs.writeFileSync(path.join(broken, 'weights.bin'), 'paylaod');
    expect(() => target.install(broken, 'v000001')).toThrow(/checksum mismatch for weights.bin/);
    expect(() => target.install(copy(target), 'v000002')).toThrow(/staged as v000002 names version v000001/);
    expect(target.list()).toEqual([]);
    const installed = target.install(copy(target), 'v000001');
    expect(installed.manifest.metadata).toEqual({ recall: 0.1 });
    expect(target.list()).toEqual(['v000001']);
    expect(target.has('v000001')).toBe(true);
    expect(target.currentVersion()).toBeUndefined();
    expect(() => target.install(copy(target), 'v000001')).toThrow(/exists already/);
  });

  it('a publisher killed mid-publish leaves the current version serving', () => {
    const reg = registry();
    reg.publish(stage(reg, 'good'), { recall: 0.3 });
    // A child process stages a large artifact and is killed by SIGKILL before it can publish.
    const script = `
      import fs from 'node:fs'; import path from 'node:path';
      const dir = fs.mkdtempSync(path.join(${JSON.stringify(reg.stagingDir)}, 'model-'));
      fs.writeFileSync(path.join(dir, 'weights.bin'), Buffer.alloc(1 << 20));
      process.kill(process.pid, 'SIGKILL');`;
    expect(() => execFileSync(process.execPath, ['--input-type=module', '-e', script])).toThrow();
    expect(fs.readdirSync(reg.stagingDir)).toHaveLength(1);
    const current = reg.current();
    expect(current?.version).toBe('v000001');
    expect(fs.readFileSync(path.join(current!.dir, 'weights.bin'), 'utf8')).toBe('good');
    expect(reg.publish(stage(reg, 'next'), { recall: 0.31 }).version).toBe('v000002');
  });
});
