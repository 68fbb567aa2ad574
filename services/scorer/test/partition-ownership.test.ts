import { describe, expect, it } from 'vitest';
import { PartitionOwnership, partitionOfUser } from '../src/partition-ownership.js';

describe('PartitionOwnership', () => {
  const users = Array.from({ length: 200 }, (_, u) => `author-${u}`);

  it('puts every user in exactly one partition, the same one every time', () => {
    for (const user of users) {
      const partition = partitionOfUser(user, 4);
      expect(partition).toBeGreaterThanOrEqual(0);
      expect(partition).toBeLessThan(4);
      expect(partitionOfUser(user, 4)).toBe(partition);
    }
    // murmur2 spreads them: every partition gets some of 200 users.
    expect(new Set(users.map((user) => partitionOfUser(user, 4))).size).toBe(4);
  });

  it('owns nothing before an assignment, and exactly the users of the held partitions after one', () => {
    const ownership = new PartitionOwnership();
    expect(users.some((user) => ownership.owns(user))).toBe(false);
    expect(ownership.assign([1, 3], 4)).toEqual([1, 3]);
    for (const user of users) expect(ownership.owns(user)).toBe([1, 3].includes(partitionOfUser(user, 4)));
  });

  it('reports the partitions a rebalance adds, and splits the users of two replicas without overlap', () => {
    const a = new PartitionOwnership();
    const b = new PartitionOwnership();
    a.assign([0, 1], 4);
    b.assign([2, 3], 4);
    for (const user of users) expect(Number(a.owns(user)) + Number(b.owns(user))).toBe(1);
    // b died: a holds everything and refreshes only what it did not hold.
    const added = a.assign([0, 1, 2, 3], 4);
    expect(added).toEqual([2, 3]);
    const refresh = a.ownsAmong(added);
    for (const user of users) expect(refresh(user)).toBe(b.owns(user));
    // More partitions move users between partitions: every held partition is new.
    expect(a.assign([0, 1, 2, 3], 8)).toEqual([0, 1, 2, 3]);
  });
});
