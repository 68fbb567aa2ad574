import fs from 'node:fs';
import path from 'node:path';
import type { Message, Sender } from 'kafkajs';
import { MANIFEST_FILE, sha256File } from '../checksums.js';
import type { ModelRegistry } from '../registry.js';
import {
  chunkKey,
  DEFAULT_CHUNK_BYTES,
  MAX_CHUNK_BYTES,
  manifestKey,
  OFFSET_HEADER,
  type TransferManifest,
  transferManifest,
  versionKeys,
} from './records.js';

/**
 * Bytes of chunk values per send: kafkajs writes one send's messages for a partition as one record batch, and the
 * broker refuses a batch above message.max.bytes (1 MB by default), whatever the size of each record.
 */
export const DEFAULT_SEND_BYTES = 768 * 1024;

export interface PublishedVersion {
  manifest: TransferManifest;
  /** sha256 of the version's version.json (which lists every other file's sha256): what model-updated carries. */
  manifestSha256: string;
  records: number;
  bytes: number;
}

/** The transfer manifest of a local version, after verifying its checksums (a corrupt version is never sent). */
export function describeVersion(
  registry: ModelRegistry<unknown>,
  version: string,
  chunkBytes = DEFAULT_CHUNK_BYTES,
): TransferManifest {
  if (!Number.isInteger(chunkBytes) || chunkBytes <= 0 || chunkBytes > MAX_CHUNK_BYTES) {
    throw new RangeError(`chunkBytes must be an integer in 1..${MAX_CHUNK_BYTES}, not ${chunkBytes}`);
  }
  const { dir, manifest } = registry.open(version);
  const files = [...Object.keys(manifest.files), MANIFEST_FILE].map((file) => ({
    path: file,
    size: fs.statSync(path.join(dir, file)).size,
    sha256: file === MANIFEST_FILE ? sha256File(path.join(dir, file)) : (manifest.files[file] as string),
  }));
  return transferManifest(version, files, chunkBytes);
}

/** The version's records in sending order: every chunk of every file, then the manifest. */
export function* versionRecords(dir: string, manifest: TransferManifest): Generator<Message> {
  for (const file of manifest.files) {
    const fd = fs.openSync(path.join(dir, file.path), 'r');
    try {
      for (let index = 0; index < file.chunks; index++) {
        const offset = index * manifest.chunkBytes;
        const buffer = Buffer.allocUnsafe(Math.min(manifest.chunkBytes, file.size - offset));
        const read = buffer.length === 0 ? 0 : fs.readSync(fd, buffer, 0, buffer.length, offset);
        if (read !== buffer.length)
          throw new Error(`${file.path}: read ${read} of ${buffer.length} bytes at ${offset}`);
        yield {
          key: chunkKey(manifest.version, index, file.path),
          value: buffer,
          headers: { [OFFSET_HEADER]: String(offset) },
        };
      }
    } finally {
      fs.closeSync(fd);
    }
  }
  yield { key: manifestKey(manifest.version), value: JSON.stringify(manifest) };
}

/**
 * Send records in order, several per send while their values stay under sendBytes, each acknowledged by all replicas.
 * The sender may be a producer or one of its transactions (a fenced publisher sends inside one).
 */
export async function sendRecords(
  producer: Sender,
  topic: string,
  records: Iterable<Message>,
  sendBytes = DEFAULT_SEND_BYTES,
): Promise<{ records: number; bytes: number }> {
  let group: Message[] = [];
  let groupBytes = 0;
  let count = 0;
  let bytes = 0;
  const flush = async () => {
    if (group.length === 0) return;
    await producer.send({ topic, acks: -1, messages: group });
    group = [];
    groupBytes = 0;
  };
  for (const record of records) {
    const size = record.value === null ? 0 : Buffer.byteLength(record.value as Buffer | string);
    if (group.length > 0 && groupBytes + size > sendBytes) await flush();
    group.push(record);
    groupBytes += size;
    count++;
    bytes += size;
  }
  await flush();
  return { records: count, bytes };
}

/**
 * Publish a version of the local registry to the artifact topic: its chunks, then its manifest (so a receiver that
 * sees the manifest has been sent every chunk). Sending the same version again writes the same keys and values.
 */
export async function publishVersion(options: {
  producer: Sender;
  topic: string;
  registry: ModelRegistry<unknown>;
  version: string;
  chunkBytes?: number;
  sendBytes?: number;
}): Promise<PublishedVersion> {
  const manifest = describeVersion(options.registry, options.version, options.chunkBytes);
  const dir = path.join(options.registry.versionsDir, options.version);
  const sent = await sendRecords(options.producer, options.topic, versionRecords(dir, manifest), options.sendBytes);
  const manifestSha256 = manifest.files.find((file) => file.path === MANIFEST_FILE)?.sha256 ?? '';
  return { manifest, manifestSha256, ...sent };
}

/**
 * Tombstones for every record of a version, the manifest's first: compaction then drops the version from the topic,
 * and a log compacted up to any point never holds a manifest whose chunks are gone.
 */
export async function publishTombstones(producer: Sender, topic: string, manifest: TransferManifest): Promise<number> {
  const records = versionKeys(manifest).map((key) => ({ key, value: null }));
  await producer.send({ topic, acks: -1, messages: records });
  return records.length;
}
