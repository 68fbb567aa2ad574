import { describe, expect, it } from 'vitest';
import {
  chunkCount,
  chunkKey,
  manifestKey,
  missingChunks,
  parseArtifactKey,
  parseTransferManifest,
  transferManifest,
  versionKeys,
} from '../src/transfer/records.js';

const sha = 'a'.repeat(64);

describe('model artifact records', () => {
  it('counts chunks, an empty file as one', () => {
    expect([0, 1, 1024, 1025, 4096].map((size) => chunkCount(size, 1024))).toEqual([1, 1, 1, 2, 4]);
  });

  it('keys name the version, and parse back, file paths with slashes included', () => {
    expect(parseArtifactKey(manifestKey('v000012'))).toEqual({ kind: 'manifest', version: 'v000012' });
    expect(parseArtifactKey(chunkKey('v000012', 7, 'ids/users.json'))).toEqual({
      kind: 'chunk',
      version: 'v000012',
      index: 7,
      path: 'ids/users.json',
    });
    expect(parseArtifactKey('model')).toBeUndefined();
    expect(parseArtifactKey('v12/manifest')).toBeUndefined();
  });

  it('lists every key of a version for its tombstones, the manifest first', () => {
    const manifest = transferManifest(
      'v000003',
      [
        { path: 'a.bin', size: 2500, sha256: sha },
        { path: 'version.json', size: 10, sha256: sha },
      ],
      1000,
    );
    expect(versionKeys(manifest)).toEqual([
      'v000003/manifest',
      'v000003/chunk/0/a.bin',
      'v000003/chunk/1/a.bin',
      'v000003/chunk/2/a.bin',
      'v000003/chunk/0/version.json',
    ]);
    expect(missingChunks(manifest.files[0]!, new Set([0, 2]))).toEqual([1]);
    expect(missingChunks(manifest.files[0]!, undefined)).toEqual([0, 1, 2]);
  });

  it('accepts a manifest it wrote and refuses inconsistent or unsafe ones', () => {
    const manifest = transferManifest('v000001', [{ path: 'a.bin', size: 2500, sha256: sha }], 1000);
    const encode = (value: unknown) => Buffer.from(JSON.stringify(value));
    expect(parseTransferManifest(encode(manifest))).toEqual(manifest);
    const file = manifest.files[0]!;
    expect(() => parseTransferManifest(encode({ ...manifest, files: [{ ...file, chunks: 2 }] }))).toThrow(
      /a.bin has 2 chunks for 2500 bytes/,
    );
    expect(() => parseTransferManifest(encode({ ...manifest, files: [{ ...file, path: '../x' }] }))).toThrow(
      /inside the version/,
    );
    expect(() => parseTransferManifest(encode({ ...manifest, chunkBytes: 2_000_000 }))).toThrow(/chunkBytes/);
    expect(() => parseTransferManifest(encode({ ...manifest, extra: 1 }))).toThrow(/invalid model artifact manifest/);
  });
});
