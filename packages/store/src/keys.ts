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

/**
 * Values of the pair database: u32le count · u64le sequence of the write transaction that first wrote the pair
 * (12 bytes). Stores written before first-seen sequences were recorded hold the 4-byte count alone: such a pair
 * reads as first seen at sequence 0 and gets its 12-byte value, still with 0, the next time it is counted.
 */
export const PAIR_VALUE_BYTES = 12;
const U32_SPAN = 2 ** 32;

/** Write a pair value into `target` (reused across puts: a put in a write transaction copies it at once). */
export function writePairValue(target: Buffer, count: number, firstSeen: number): Buffer {
  target.writeUInt32LE(count, 0);
  // Sequence numbers are JS numbers (exact to 2^53): low and high halves of the u64.
  target.writeUInt32LE(firstSeen % U32_SPAN, 4);
  target.writeUInt32LE(Math.floor(firstSeen / U32_SPAN), 8);
  return target;
}

/** The count of a pair value (0 for a missing pair). */
export const readPairCount = (value: Buffer | undefined): number => (value === undefined ? 0 : value.readUInt32LE(0));

/** The first-seen sequence of a pair value; 0 for a pair written before sequences were recorded (4-byte value). */
export const readPairFirstSeen = (value: Buffer): number =>
  value.length >= PAIR_VALUE_BYTES ? value.readUInt32LE(4) + value.readUInt32LE(8) * U32_SPAN : 0;

/**
 * Values of the changelog outbox: the pair's total as the write that recorded the entry left it (u32le; 0: the pair is
 * gone, which a total never is, as counts start at 1) · u64le stamp, the sequence of that write (the pair value's
 * layout, with the stamp where first-seen is). With the total in the entry, the relay reads the outbox alone.
 */
export const OUTBOX_VALUE_BYTES = 12;

export function writeOutboxValue(target: Buffer, total: number | null, stamp: number): Buffer {
  return writePairValue(target, total ?? 0, stamp);
}

export const readOutboxTotal = (value: Buffer): number | null => value.readUInt32LE(0) || null;
export const readOutboxStamp = (value: Buffer): number => value.readUInt32LE(4) + value.readUInt32LE(8) * U32_SPAN;
