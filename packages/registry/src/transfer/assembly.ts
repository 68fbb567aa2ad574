import fs from 'node:fs';
import path from 'node:path';
import { PncfError } from '@pncf/runtime';
import { sha256File } from '../checksums.js';
import type { ModelRegistry } from '../registry.js';
import { missingChunks, type TransferManifest } from './records.js';

export type RejectReason = 'corrupt' | 'incomplete';

export type AssemblyOutcome =
  | { outcome: 'installed'; version: string; files: number; bytes: number }
  | { outcome: 'rejected'; version: string; reason: RejectReason; detail: string };

interface Pending {
  dir: string;
  manifest?: TransferManifest;
  /** Chunk indices written, by file path. */
  received: Map<string, Set<number>>;
}

const safePath = (file: string) => file.length > 0 && !path.isAbsolute(file) && !file.split('/').includes('..');

/**
 * Rebuilds versions from their artifact records into a registry: each version is written into a staging directory
 * of its own as its chunks arrive (in any order), and installed by the registry's one rename once its manifest is
 * there and every file has all its chunks, its size and its sha256. A version whose files do not match is rejected
 * as corrupt; one whose manifest arrived without all its chunks is rejected as incomplete when settle() is called
 * (the publisher sends every chunk before the manifest, so once the reader has caught up nothing more will come).
 * Rejected and tombstoned versions leave nothing behind.
 */
export class VersionAssembly {
  private readonly pending = new Map<string, Pending>();

  constructor(private readonly registry: ModelRegistry<unknown>) {}

  /** Versions being assembled (chunks seen, not installed or rejected yet). */
  get pendingVersions(): string[] {
    return [...this.pending.keys()].sort();
  }

  chunk(version: string, index: number, file: string, offset: number, bytes: Buffer): void {
    if (this.registry.has(version)) return;
    if (!safePath(file) || !Number.isSafeInteger(offset) || offset < 0) {
      throw new PncfError(
        'MODEL_ARTIFACT_RECORD',
        `chunk ${index} of ${version}/${file}: bad path or offset ${offset}`,
      );
    }
    const pending = this.pendingOf(version);
    const target = path.join(pending.dir, file);
    fs.mkdirSync(path.dirname(target), { recursive: true });
    const fd = fs.openSync(target, fs.constants.O_WRONLY | fs.constants.O_CREAT);
    try {
      if (bytes.length > 0) fs.writeSync(fd, bytes, 0, bytes.length, offset);
    } finally {
      fs.closeSync(fd);
    }
    const received = pending.received.get(file) ?? new Set<number>();
    received.add(index);
    pending.received.set(file, received);
  }

  /** Record the manifest; installs or rejects the version when all its chunks are there. */
  manifest(manifest: TransferManifest): AssemblyOutcome | undefined {
    if (this.registry.has(manifest.version)) {
      this.drop(manifest.version);
      return undefined;
    }
    const pending = this.pendingOf(manifest.version);
    pending.manifest = manifest;
    const complete = manifest.files.every((file) => missingChunks(file, pending.received.get(file.path)).length === 0);
    return complete ? this.finish(manifest.version, pending, manifest) : undefined;
  }

  /** A version's records were tombstoned: forget whatever arrived of it. */
  tombstone(version: string): void {
    this.drop(version);
  }

  /** Reject every version whose manifest arrived but not all its chunks (call once the reader has caught up). */
  settle(): AssemblyOutcome[] {
    const outcomes: AssemblyOutcome[] = [];
    for (const [version, pending] of this.pending) {
      const { manifest } = pending;
      if (!manifest) continue;
      const missing = manifest.files
        .map((file) => ({
          file: file.path,
          of: file.chunks,
          missing: missingChunks(file, pending.received.get(file.path)),
        }))
        .filter((entry) => entry.missing.length > 0)
        .map((entry) => `${entry.file}: chunks ${entry.missing.slice(0, 10).join(', ')} of ${entry.of} missing`);
      this.drop(version);
      outcomes.push({ outcome: 'rejected', version, reason: 'incomplete', detail: missing.join('; ') });
    }
    return outcomes;
  }

  /** Remove every staging directory of this assembly (at stop). */
  clear(): void {
    for (const version of [...this.pending.keys()]) this.drop(version);
  }

  private finish(version: string, pending: Pending, manifest: TransferManifest): AssemblyOutcome {
    const problems: string[] = [];
    let bytes = 0;
    for (const file of manifest.files) {
      const target = path.join(pending.dir, file.path);
      // A chunk larger than this manifest's (an older publish with another chunk size) may have written past the end.
      if (fs.statSync(target).size > file.size) fs.truncateSync(target, file.size);
      const size = fs.statSync(target).size;
      if (size !== file.size) problems.push(`${file.path}: ${size} bytes, manifest ${file.size}`);
      else if (sha256File(target) !== file.sha256) problems.push(`${file.path}: sha256 differs from the manifest's`);
      bytes += size;
    }
    const extra = [...pending.received.keys()].filter((file) => !manifest.files.some((f) => f.path === file));
    if (extra.length > 0) problems.push(`files not in the manifest: ${extra.join(', ')}`);
    if (problems.length === 0) {
      try {
        this.registry.install(pending.dir, version);
        this.pending.delete(version);
        return { outcome: 'installed', version, files: manifest.files.length, bytes };
      } catch (error) {
        problems.push((error as Error).message);
      }
    }
    this.drop(version);
    return { outcome: 'rejected', version, reason: 'corrupt', detail: problems.join('; ') };
  }

  private pendingOf(version: string): Pending {
    let pending = this.pending.get(version);
    if (!pending) {
      pending = { dir: this.registry.createStaging(`receive-${version}`), received: new Map() };
      this.pending.set(version, pending);
    }
    return pending;
  }

  private drop(version: string): void {
    const pending = this.pending.get(version);
    if (!pending) return;
    this.pending.delete(version);
    fs.rmSync(pending.dir, { recursive: true, force: true });
  }
}
