import { partitionOfKey } from '@pncf/runtime';

/**
 * The partition Kafka's default partitioner gives a user's key on a topic of `partitions` partitions: where a
 * keyed producer (the ingester's replay, kafkajs, the Java client) puts the user's interactions, and so which
 * scorer replica owns the user.
 */
export const partitionOfUser = (user: string, partitions: number): number => partitionOfKey(user, partitions);

/**
 * The partitions of the interactions topic this replica's consumer group member holds now, and with them the
 * users whose refresh it publishes. Starts owning nothing: until the group assigns partitions, a replica
 * publishes no refresh (another replica, or its own first assignment, will).
 */
export class PartitionOwnership {
  private owned = new Set<number>();
  private partitions = 0;

  /**
   * Record the member's assignment after a (re)join, on a topic of `partitions` partitions; returns the partitions
   * it did not hold before (on the first join, all of them), whose users need a refresh from this replica.
   */
  assign(assigned: readonly number[], partitions: number): number[] {
    const added = assigned.filter((partition) => !this.owned.has(partition) || partitions !== this.partitions);
    this.owned = new Set(assigned);
    this.partitions = partitions;
    return added.sort((a, b) => a - b);
  }

  /** Whether the user's partition is one this replica holds. */
  owns(user: string): boolean {
    return this.partitions > 0 && this.owned.has(partitionOfUser(user, this.partitions));
  }

  /** A predicate for the users of some of the held partitions (the ones just assigned). */
  ownsAmong(partitions: readonly number[]): (user: string) => boolean {
    const among = new Set(partitions);
    return (user) => this.owns(user) && among.has(partitionOfUser(user, this.partitions));
  }

  held(): number[] {
    return [...this.owned].sort((a, b) => a - b);
  }
}
