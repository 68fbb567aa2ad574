import fs from 'node:fs';
import path from 'node:path';

/** fsync a file or directory so a rename that follows cannot expose a half-written state after a crash. */
export function fsyncPath(target: string): void {
  const fd = fs.openSync(target, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** Write a file under a temporary name, fsync it and rename it over the target: readers see old or new, never half. */
export function writeFileAtomic(target: string, contents: string | Uint8Array): void {
  const temp = `${target}.tmp-${process.pid}-${Date.now()}`;
  fs.writeFileSync(temp, contents);
  fsyncPath(temp);
  fs.renameSync(temp, target);
  fsyncPath(path.dirname(target));
}
