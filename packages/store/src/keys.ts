/**
 * Binary keys of the pair database (user-items): two big-endian u32 so LMDB's byte order is (user, item)
 * order, which makes one user's items a contiguous, sorted key range.
 */
export function writePairKey(target: Buffer, first: number, second: number): Buffer {
  target.writeUInt32BE(first, 0);
  target.writeUInt32BE(second, 4);
  return target;
}

export const pairKeyFirst = (key: Buffer): number => key.readUInt32BE(0);
export const pairKeySecond = (key: Buffer): number => key.readUInt32BE(4);

/** Range bounds covering every pair whose first half is `first`. */
export function pairRange(first: number): { start: Buffer; end: Buffer } {
  const start = Buffer.alloc(8);
  start.writeUInt32BE(first, 0);
  const end = Buffer.alloc(8);
  if (first === 0xffffffff) end.fill(0xff);
  else end.writeUInt32BE(first + 1, 0);
  return { start, end };
}

/** Write a count into `target` (reused across puts: a put in a write transaction copies it at once). */
export function writeU32Value(target: Buffer, value: number): Buffer {
  target.writeUInt32LE(value, 0);
  return target;
}

export const readU32Value = (value: Buffer | undefined): number => (value === undefined ? 0 : value.readUInt32LE(0));
