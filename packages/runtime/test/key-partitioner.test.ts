import { type PartitionerArgs, Partitioners } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { keyHashPartitioner, murmur2 } from '../src/key-partitioner.js';

const partitionMetadata = (count: number): PartitionerArgs['partitionMetadata'] =>
  Array.from({ length: count }, (_, partitionId) => ({
    partitionId,
    leader: 1,
    partitionErrorCode: 0,
    replicas: [1],
    isr: [1],
  }));

/** Keys of every length 0..40 and of every byte value (UTF-8 ids included), from a fixed-seed generator. */
function sampleKeys(): Buffer[] {
  let state = 12345;
  const next = () => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return state >>> 24;
  };
  const keys: Buffer[] = [];
  for (let length = 0; length <= 40; length++) {
    for (let n = 0; n < 50; n++) keys.push(Buffer.from(Array.from({ length }, next)));
  }
  keys.push(Buffer.from(JSON.stringify(['author-000042', 'tag-00017'])), Buffer.from('["ü","标签 \\"9\\""]'));
  return keys;
}

describe('the key-hash partitioner', () => {
  it('matches the Java client’s murmur2 on its published values', () => {
    // Kafka's UtilsTest.testMurmur2: the hashes of these strings as the Java client computes them.
    const cases: [string, number][] = [
      ['21', -973932308],
      ['foobar', -790332482],
      ['a-little-bit-long-string', -985981536],
      ['a-little-bit-longer-string', -1486304829],
      ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
      ['abc', 479470107],
    ];
    for (const [text, hash] of cases) expect(murmur2(Buffer.from(text))).toBe(hash);
  });

  it('puts every key where kafkajs’s default partitioner puts it, string or bytes, for 1 to 12 partitions', () => {
    const keys = sampleKeys();
    for (const count of [1, 2, 3, 4, 7, 12]) {
      const metadata = partitionMetadata(count);
      const ours = keyHashPartitioner();
      const theirs = Partitioners.DefaultPartitioner();
      for (const key of keys) {
        const expected = theirs({ topic: 't', partitionMetadata: metadata, message: { key, value: null } });
        expect(ours({ topic: 't', partitionMetadata: metadata, message: { key, value: null } })).toBe(expected);
      }
      const text = JSON.stringify(['author-1', 'tag "9"']);
      expect(ours({ topic: 't', partitionMetadata: metadata, message: { key: text, value: null } })).toBe(
        theirs({ topic: 't', partitionMetadata: metadata, message: { key: text, value: null } }),
      );
    }
  });

  it('keeps an explicit partition and spreads keyless messages over the partitions', () => {
    const partitioner = keyHashPartitioner();
    const metadata = partitionMetadata(4);
    expect(
      partitioner({ topic: 't', partitionMetadata: metadata, message: { key: 'k', value: 'v', partition: 3 } }),
    ).toBe(3);
    const seen = new Set<number>();
    for (let n = 0; n < 8; n++)
      seen.add(partitioner({ topic: 't', partitionMetadata: metadata, message: { value: 'v' } }));
    expect(seen).toEqual(new Set([0, 1, 2, 3]));
  });
});
