import fs from 'node:fs';
import path from 'node:path';
import { fsyncPath, ModelArtifactError, PncfError, writeFileAtomic } from '@pncf/runtime';
import { checksumDir, listArtifactFiles, MANIFEST_FILE, sha256File } from './checksums.js';

/** What the registry records about a version, beside whatever the trainer adds under `metadata`. */
export interface Manifest<M = Record<string, unknown>> {
  version: string;
  createdAt: string;
  /** sha256 of every file of the artifact, by relative path. */
  files: Record<string, string>;
  metadata: M;
}

export interface ModelVersion<M = Record<string, unknown>> {
  version: string;
  dir: string;
  manifest: Manifest<M>;
}

/** A version's files do not match its manifest (missing, changed, extra) or it has none: code MODEL_ARTIFACT_INVALID. */
export class ArtifactIntegrityError extends ModelArtifactError {}

/** The registry itself cannot do what was asked (nothing staged, no pointer, nothing to roll back to). */
export class RegistryError extends PncfError {
  static readonly code = 'MODEL_REGISTRY';
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(RegistryError.code, message, options);
  }
}

const VERSION_PATTERN = /^v(\d{6,})$/;
const formatVersion = (n: number) => `v${String(n).padStart(6, '0')}`;

/**
 * Versioned model artifacts on disk.
 *
 *   <root>/versions/v000001/{version.json, ...artifact files}
 *   <root>/CURRENT            {"version": "v000001", "updatedAt": ...}, replaced atomically
 *   <root>/staging/<name>/    where a publish builds its artifact; never read by loaders
 *
 * A version directory appears by one rename of a complete, fsynced staging directory, and the pointer by one
 * rename of a complete file, so a crash at any moment leaves the previous current version intact. Readers in
 * other processes only ever follow CURRENT to a complete version.
 */
export class ModelRegistry<M = Record<string, unknown>> {
  readonly versionsDir: string;
  readonly stagingDir: string;
  readonly pointerFile: string;

  constructor(readonly root: string) {
    this.versionsDir = path.join(root, 'versions');
    this.stagingDir = path.join(root, 'staging');
    this.pointerFile = path.join(root, 'CURRENT');
    fs.mkdirSync(this.versionsDir, { recursive: true });
    fs.mkdirSync(this.stagingDir, { recursive: true });
  }

  /** A fresh staging directory for the caller to write an artifact into, then hand to publish(). */
  createStaging(label = 'model'): string {
    return fs.mkdtempSync(path.join(this.stagingDir, `${label}-`));
  }

  /** Versions on disk, oldest first. */
  list(): string[] {
    return fs
      .readdirSync(this.versionsDir)
      .filter((name) => VERSION_PATTERN.test(name))
      .sort();
  }

  /**
   * Checksum the staged artifact, write its manifest, move it into versions/ under the next version number
   * and, unless makeCurrent is false, point CURRENT at it.
   */
  publish(staged: string, metadata: M, options: { makeCurrent?: boolean } = {}): ModelVersion<M> {
    if (!fs.existsSync(staged)) throw new RegistryError(`nothing staged at ${staged}`);
    const files = checksumDir(staged);
    if (Object.keys(files).length === 0) throw new RegistryError(`the staged artifact ${staged} has no files`);
    for (const file of Object.keys(files)) fsyncPath(path.join(staged, file));

    for (let attempt = 0; attempt < 100; attempt++) {
      const last = this.list().at(-1);
      const version = formatVersion(last ? Number(VERSION_PATTERN.exec(last)?.[1]) + 1 : 1);
      const manifest: Manifest<M> = { version, createdAt: new Date().toISOString(), files, metadata };
      fs.writeFileSync(path.join(staged, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
      fsyncPath(path.join(staged, MANIFEST_FILE));
      fsyncPath(staged);
      const dir = path.join(this.versionsDir, version);
      try {
        // Fails if another publisher took this number first: then take the next one.
        fs.mkdirSync(dir);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'EEXIST') continue;
        throw error;
      }
      fs.renameSync(staged, dir);
      fsyncPath(this.versionsDir);
      if (options.makeCurrent !== false) this.setCurrent(version);
      return { version, dir, manifest };
    }
    throw new RegistryError('could not allocate a version number');
  }

  /** The version CURRENT points at, or undefined before the first publish. */
  currentVersion(): string | undefined {
    if (!fs.existsSync(this.pointerFile)) return undefined;
    const pointer = JSON.parse(fs.readFileSync(this.pointerFile, 'utf8')) as { version?: unknown };
    if (typeof pointer.version !== 'string' || !VERSION_PATTERN.test(pointer.version)) {
      throw new RegistryError(`${this.pointerFile} does not name a version: ${JSON.stringify(pointer)}`);
    }
    return pointer.version;
  }

  /** The current version, verified. */
  current(): ModelVersion<M> | undefined {
    const version = this.currentVersion();
    return version === undefined ? undefined : this.open(version);
  }

  /** Open a version and check every file against its manifest; throws ArtifactIntegrityError on any mismatch. */
  open(version: string): ModelVersion<M> {
    const dir = path.join(this.versionsDir, version);
    const manifestPath = path.join(dir, MANIFEST_FILE);
    if (!fs.existsSync(manifestPath)) {
      throw new ArtifactIntegrityError(`model ${version} has no manifest at ${manifestPath}`);
    }
    let manifest: Manifest<M>;
    try {
      manifest = JSON.parse(fs.readFileSync(manifestPath, 'utf8')) as Manifest<M>;
    } catch (error) {
      throw new ArtifactIntegrityError(`model ${version}: manifest is not valid JSON (${(error as Error).message})`);
    }
    const expected = manifest.files ?? {};
    const present = new Set(listArtifactFiles(dir));
    for (const [file, digest] of Object.entries(expected)) {
      if (!present.has(file)) throw new ArtifactIntegrityError(`model ${version}: file ${file} is missing`);
      const actual = sha256File(path.join(dir, file));
      if (actual !== digest) {
        throw new ArtifactIntegrityError(
          `model ${version}: checksum mismatch for ${file} (manifest sha256 ${digest.slice(0, 12)}…, file ${actual.slice(0, 12)}…)`,
        );
      }
      present.delete(file);
    }
    if (present.size > 0) {
      throw new ArtifactIntegrityError(`model ${version}: files not in the manifest: ${[...present].join(', ')}`);
    }
    return { version, dir, manifest };
  }

  /** Point CURRENT at a version after verifying it. */
  setCurrent(version: string): void {
    this.open(version);
    writeFileAtomic(this.pointerFile, `${JSON.stringify({ version, updatedAt: new Date().toISOString() })}\n`);
  }

  /** Point CURRENT at the given version, or at the newest intact version older than the current one. */
  rollback(to?: string): string {
    const current = this.currentVersion();
    if (to !== undefined) {
      this.setCurrent(to);
      return to;
    }
    const older = this.list().filter((version) => current === undefined || version < current);
    for (const candidate of older.reverse()) {
      try {
        this.setCurrent(candidate);
        return candidate;
      } catch (error) {
        if (!(error instanceof ArtifactIntegrityError)) throw error;
      }
    }
    throw new RegistryError(`no intact version older than ${current ?? '(none)'} to roll back to`);
  }

  /**
   * Keep the newest `keep` versions and always the current one; delete the rest and any staging directory
   * left by a crashed publish older than staleStagingMs.
   */
  prune(keep: number, staleStagingMs = 60 * 60_000): string[] {
    const current = this.currentVersion();
    const versions = this.list();
    const doomed = versions.slice(0, Math.max(0, versions.length - keep)).filter((version) => version !== current);
    for (const version of doomed) fs.rmSync(path.join(this.versionsDir, version), { recursive: true, force: true });
    const now = Date.now();
    for (const entry of fs.readdirSync(this.stagingDir)) {
      const dir = path.join(this.stagingDir, entry);
      if (now - fs.statSync(dir).mtimeMs > staleStagingMs) fs.rmSync(dir, { recursive: true, force: true });
    }
    return doomed;
  }
}
