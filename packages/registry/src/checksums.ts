import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

// Not manifest.json: the artifact inside a version (e.g. a PNCF model) may have a manifest of its own.
export const MANIFEST_FILE = 'version.json';

/** Every regular file below dir (relative POSIX paths, sorted), except the manifest itself. */
export function listArtifactFiles(dir: string): string[] {
  const files: string[] = [];
  const walk = (relative: string) => {
    for (const entry of fs.readdirSync(path.join(dir, relative), { withFileTypes: true })) {
      const name = relative ? `${relative}/${entry.name}` : entry.name;
      if (entry.isDirectory()) walk(name);
      else if (entry.isFile() && name !== MANIFEST_FILE) files.push(name);
    }
  };
  walk('');
  return files.sort();
}

export function sha256File(file: string): string {
  const hash = createHash('sha256');
  const fd = fs.openSync(file, 'r');
  const buffer = Buffer.allocUnsafe(1 << 20);
  try {
    for (;;) {
      const read = fs.readSync(fd, buffer, 0, buffer.length, null);
      if (read === 0) break;
      hash.update(buffer.subarray(0, read));
    }
  } finally {
    fs.closeSync(fd);
  }
  return hash.digest('hex');
}

export function checksumDir(dir: string): Record<string, string> {
  return Object.fromEntries(listArtifactFiles(dir).map((file) => [file, sha256File(path.join(dir, file))]));
}
