import { type ICustomPartitioner, Partitioners } from 'kafkajs';

const SEED = 0x9747b28c;
const M = 0x5bd1e995;

/**
 * Kafka's murmur2 of a key's bytes (the Java client's Utils.murmur2), as a signed 32-bit integer. kafkajs computes
 * the same with an emulated 64-bit Long, allocating several objects per byte quartet: at one changelog record per
 * changed pair that was a tenth of the ingester's CPU time. Every step of the hash only keeps the low 32 bits, so
 * Math.imul gives identical results.
 */
export function murmur2(data: Uint8Array): number {
  const length = data.length;
  let h = SEED ^ length;
  const whole = length & ~3;
  for (let i = 0; i < whole; i += 4) {
    let k = data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24);
    k = Math.imul(k, M);
    k ^= k >>> 24;
    k = Math.imul(k, M);
    h = Math.imul(h, M) ^ k;
  }
  const tail = length & 3;
  if (tail > 0) {
    if (tail === 3) h ^= data[whole + 2]! << 16;
    if (tail >= 2) h ^= data[whole + 1]! << 8;
    h ^= data[whole]!;
    h = Math.imul(h, M);
  }
  h ^= h >>> 13;
  h = Math.imul(h, M);
  h ^= h >>> 15;
  return h;
}

/** The partition of a keyed message on a topic of `partitions` partitions, as Kafka's default partitioner puts it. */
export function partitionOfKey(key: string | Uint8Array, partitions: number): number {
  if (!Number.isInteger(partitions) || partitions < 1) throw new RangeError('partitions must be an integer ≥ 1');
  return (murmur2(typeof key === 'string' ? Buffer.from(key) : key) & 0x7fffffff) % partitions;
}

/**
 * kafkajs's default partitioner (Java-compatible: a keyed message goes to murmur2(key) mod partitions, so a key keeps
 * its partition, which compaction and the order of a pair's totals rely on) with the hash above; messages with an
 * explicit partition or no key are left to kafkajs's own.
 */
export const keyHashPartitioner: ICustomPartitioner = () => {
  const fallback = Partitioners.DefaultPartitioner();
  return (args) => {
    const { message, partitionMetadata } = args;
    if (message.partition != null || message.key == null) return fallback(args);
    return partitionOfKey(message.key, partitionMetadata.length);
  };
};
