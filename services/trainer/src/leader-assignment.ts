import { AssignerProtocol, type PartitionAssigner } from 'kafkajs';

/** The partition of the leadership topic whose holder is the leader. */
export const LEADER_PARTITION = 0;
export const LEADER_ASSIGNER_NAME = 'PncfTrainerLeader';

/** What a member tells the group when it joins: the member id under which it held leadership, if it does. */
export interface LeaderClaim {
  ledAs?: string;
}

export interface ClaimingMember {
  memberId: string;
  claim: LeaderClaim;
}

/**
 * The member that gets the leader partition: the one still leading under its own member id (a rebalance because a
 * standby joined must not move leadership, which would abort a run), else the lowest member id. A claim made under
 * another member id is void: that member was expelled from the group (its session expired) and someone else may
 * have led since.
 */
export function chooseLeader(members: readonly ClaimingMember[]): string | undefined {
  const ids = members.map((member) => member.memberId).sort();
  const incumbent = ids.find((id) => members.find((member) => member.memberId === id)?.claim.ledAs === id);
  return incumbent ?? ids[0];
}

export function encodeClaim(claim: LeaderClaim): Buffer {
  return Buffer.from(JSON.stringify(claim));
}

/** A claim from a member's metadata; anything unreadable claims nothing. */
export function decodeClaim(userData: Buffer | null | undefined): LeaderClaim {
  try {
    const parsed: unknown = JSON.parse(userData?.toString('utf8') || '{}');
    const ledAs = (parsed as { ledAs?: unknown }).ledAs;
    return typeof ledAs === 'string' ? { ledAs } : {};
  } catch {
    return {};
  }
}

/** Whether an encoded member assignment gives the leader partition of `topic`. */
export function assignsLeadership(memberAssignment: Buffer, topic: string): boolean {
  const decoded = AssignerProtocol.MemberAssignment.decode(memberAssignment);
  return decoded?.assignment[topic]?.includes(LEADER_PARTITION) ?? false;
}

/**
 * A kafkajs partition assigner that gives the leader partition to one member (chooseLeader) and nothing to the
 * others. `claim` is read each time this member joins.
 */
export function leaderAssigner(topic: string, claim: () => LeaderClaim): PartitionAssigner {
  return () => ({
    name: LEADER_ASSIGNER_NAME,
    version: 1,
    protocol: ({ topics }) => ({
      name: LEADER_ASSIGNER_NAME,
      metadata: AssignerProtocol.MemberMetadata.encode({ version: 1, topics, userData: encodeClaim(claim()) }),
    }),
    async assign({ members }) {
      const leader = chooseLeader(
        members.map((member) => ({
          memberId: member.memberId,
          claim: decodeClaim(AssignerProtocol.MemberMetadata.decode(member.memberMetadata)?.userData),
        })),
      );
      return members.map((member) => ({
        memberId: member.memberId,
        memberAssignment: AssignerProtocol.MemberAssignment.encode({
          version: 1,
          assignment: member.memberId === leader ? { [topic]: [LEADER_PARTITION] } : {},
          userData: Buffer.alloc(0),
        }),
      }));
    },
  });
}
