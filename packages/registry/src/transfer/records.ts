import { z } from 'zod';

/**
 * The records a model version travels as on the artifact topic (pure: keys, the manifest, chunk arithmetic).
 *
 *   key `<version>/chunk/<index>/<file>`  value: bytes [index·chunkBytes, +chunkBytes) of the file, header pncf-offset
 *   key `<version>/manifest`              value: TransferManifest (JSON), sent after every chunk of the version
 *
 * Every key names its version, so compaction (which keeps the newest record per key) keeps every version's
 * records until a tombstone (null value) for each key removes them.
 */

/** Default chunk: a quarter of the broker's default 1 MB message.max.bytes, so one record never nears it. */
export const DEFAULT_CHUNK_BYTES = 256 * 1024;
/**
 * Largest chunk accepted: the broker refuses a record batch above message.max.bytes (1,048,588 by default), and
 * kafkajs puts all the messages of one send for one partition into one batch, so a chunk plus its key and headers
 * must stay well below it.
 */
export const MAX_CHUNK_BYTES = 900 * 1024;
export const OFFSET_HEADER = 'pncf-offset';

export interface TransferFile {
  /** Relative POSIX path inside the version directory (version.json included). */
  path: string;
  size: number;
  sha256: string;
  chunks: number;
}

export interface TransferManifest {
  format: 1;
  version: string;
  chunkBytes: number;
  files: TransferFile[];
}

const VERSION = /^v\d{6,}$/;
const SHA256 = /^[0-9a-f]{64}$/;

const manifestSchema = z.strictObject({
  format: z.literal(1),
  version: z.string().regex(VERSION),
  chunkBytes: z.number().int().positive().max(MAX_CHUNK_BYTES),
  files: z
    .array(
      z.strictObject({
        path: z
          .string()
          .min(1)
          .refine((p) => !p.startsWith('/') && !p.split('/').includes('..'), 'must stay inside the version'),
        size: z.number().int().min(0),
        sha256: z.string().regex(SHA256),
        chunks: z.number().int().positive(),
      }),
    )
    .min(1),
});

/** A file needs at least one record, so an empty file still arrives (as one empty chunk). */
export function chunkCount(size: number, chunkBytes: number): number {
  return Math.max(1, Math.ceil(size / chunkBytes));
}

export function transferManifest(
  version: string,
  files: Omit<TransferFile, 'chunks'>[],
  chunkBytes: number,
): TransferManifest {
  return {
    format: 1,
    version,
    chunkBytes,
    files: files.map((file) => ({ ...file, chunks: chunkCount(file.size, chunkBytes) })),
  };
}

/** Parse and validate a manifest record; throws with the first complaint. */
export function parseTransferManifest(value: Buffer): TransferManifest {
  const result = manifestSchema.safeParse(JSON.parse(value.toString('utf8')));
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new Error(`invalid model artifact manifest: ${issue?.path.join('.') || '/'} ${issue?.message ?? ''}`);
  }
  for (const file of result.data.files) {
    if (file.chunks !== chunkCount(file.size, result.data.chunkBytes)) {
      throw new Error(`invalid model artifact manifest: ${file.path} has ${file.chunks} chunks for ${file.size} bytes`);
    }
  }
  return result.data;
}

export const manifestKey = (version: string) => `${version}/manifest`;
export const chunkKey = (version: string, index: number, file: string) => `${version}/chunk/${index}/${file}`;

export type ArtifactKey =
  | { kind: 'manifest'; version: string }
  | { kind: 'chunk'; version: string; index: number; path: string };

/** The meaning of a record key, or undefined for a key this format does not produce. */
export function parseArtifactKey(key: string): ArtifactKey | undefined {
  const manifest = /^(v\d{6,})\/manifest$/.exec(key);
  if (manifest) return { kind: 'manifest', version: manifest[1]! };
  const chunk = /^(v\d{6,})\/chunk\/(\d+)\/(.+)$/.exec(key);
  if (chunk) return { kind: 'chunk', version: chunk[1]!, index: Number(chunk[2]), path: chunk[3]! };
  return undefined;
}

/** Every key a version's records use: what its tombstones must cover (the manifest's first, see tombstones()). */
export function versionKeys(manifest: TransferManifest): string[] {
  const keys = [manifestKey(manifest.version)];
  for (const file of manifest.files) {
    for (let index = 0; index < file.chunks; index++) keys.push(chunkKey(manifest.version, index, file.path));
  }
  return keys;
}

/** The chunk indices of a file not in `received`, for the log of an incomplete version. */
export function missingChunks(file: TransferFile, received: ReadonlySet<number> | undefined): number[] {
  const missing: number[] = [];
  for (let index = 0; index < file.chunks; index++) if (!received?.has(index)) missing.push(index);
  return missing;
}

/**
 * The artifact topic: one partition, so a version's records and its tombstones keep their order for every reader;
 * compacted, so it holds the retained versions and not every version ever published.
 */
export function artifactTopicSpec(topic: string, config: Record<string, string> = {}) {
  return { topic, partitions: 1, config: { 'cleanup.policy': 'compact', ...config } };
}
