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
    return { version, dir, manifest: verifyVersionDir<M>(dir, version) };
  }

  /** Whether a version directory exists (complete: versions only appear by rename), without verifying it. */
  has(version: string): boolean {
    return fs.existsSync(path.join(this.versionsDir, version));
  }

  /**
   * Move a complete artifact that arrived from elsewhere (staged with its own version.json, e.g. by the receiver)
   * into versions/ under the version it names: verified first, so a version appears only whole and intact. Does not
   * move CURRENT. Throws ArtifactIntegrityError when the files do not match the manifest or it names another
   * version, RegistryError when the version exists already.
   */
  install(staged: string, version: string): ModelVersion<M> {
    if (!VERSION_PATTERN.test(version)) throw new RegistryError(`not a version name: ${version}`);
    const manifest = verifyVersionDir<M>(staged, version);
    if (manifest.version !== version) {
      throw new ArtifactIntegrityError(`the manifest staged as ${version} names version ${manifest.version}`);
    }
    for (const file of [...Object.keys(manifest.files), MANIFEST_FILE]) fsyncPath(path.join(staged, file));
    fsyncPath(staged);
    const dir = path.join(this.versionsDir, version);
    try {
      fs.mkdirSync(dir);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') throw new RegistryError(`${version} exists already`);
      throw error;
    }
    fs.renameSync(staged, dir);
    fsyncPath(this.versionsDir);
    return { version, dir, manifest };
  }

  /** Point CURRENT at a version after verifying it. */
  setCurrent(version: string): void {
    this.open(version);
    writeFileAtomic(this.pointerFile, `${JSON.stringify({ version, updatedAt: new Date().toISOString() })}\n`);
  }

  /** Remove the CURRENT pointer: no version is current (a reader serves nothing new until one is set). */
  clearCurrent(): void {
    fs.rmSync(this.pointerFile, { force: true });
    fsyncPath(this.root);
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

  /** The versions prune(keep) would delete: all but the newest `keep`, never the current one. */
  prunable(keep: number): string[] {
    const current = this.currentVersion();
    const versions = this.list();
    return versions.slice(0, Math.max(0, versions.length - keep)).filter((version) => version !== current);
  }

  /** Delete one version (never the current one). */
  remove(version: string): void {
    if (version === this.currentVersion()) throw new RegistryError(`${version} is current; it cannot be removed`);
    fs.rmSync(path.join(this.versionsDir, version), { recursive: true, force: true });
  }

  /**
   * Keep the newest `keep` versions and always the current one; delete the rest and any staging directory
   * left by a crashed publish older than staleStagingMs.
   */
  prune(keep: number, staleStagingMs = 60 * 60_000): string[] {
    const doomed = this.prunable(keep);
    for (const version of doomed) this.remove(version);
    this.clearStaleStaging(staleStagingMs);
    return doomed;
  }

  /** Delete staging directories older than staleMs (left by a publish or a transfer that crashed). */
  clearStaleStaging(staleMs = 60 * 60_000): void {
    const now = Date.now();
    for (const entry of fs.readdirSync(this.stagingDir)) {
      const dir = path.join(this.stagingDir, entry);
      if (now - fs.statSync(dir).mtimeMs > staleMs) fs.rmSync(dir, { recursive: true, force: true });
    }
  }
}

/** Check every file of a version directory against its version.json; returns the manifest. */
function verifyVersionDir<M>(dir: string, version: string): Manifest<M> {
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
  return manifest;
}
