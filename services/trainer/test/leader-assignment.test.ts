import { AssignerProtocol } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import {
  assignsLeadership,
  chooseLeader,
  decodeClaim,
  encodeClaim,
  LEADER_PARTITION,
  leaderAssigner,
} from '../src/leader-assignment.js';

describe('chooseLeader', () => {
  it('keeps leadership with the member still leading under its own id when a standby joins', () => {
    expect(
      chooseLeader([
        { memberId: 'a-1', claim: {} },
        { memberId: 'b-2', claim: { ledAs: 'b-2' } },
      ]),
    ).toBe('b-2');
  });

  it('ignores a claim made under another member id (an expelled leader that rejoined)', () => {
    const members = [
      { memberId: 'b-9', claim: { ledAs: 'b-2' } },
      { memberId: 'c-3', claim: { ledAs: 'c-3' } },
    ];
    expect(chooseLeader(members)).toBe('c-3');
    expect(
      chooseLeader([
        { memberId: 'b-9', claim: { ledAs: 'b-2' } },
        { memberId: 'd-1', claim: {} },
      ]),
    ).toBe('b-9');
  });

  it('without a valid claim takes the lowest member id; nobody for an empty group', () => {
    expect(
      chooseLeader([
        { memberId: 'z', claim: {} },
        { memberId: 'm', claim: {} },
      ]),
    ).toBe('m');
    expect(chooseLeader([])).toBeUndefined();
  });

  it('reads unreadable member data as no claim', () => {
    expect(decodeClaim(Buffer.from('not json'))).toEqual({});
    expect(decodeClaim(Buffer.from('{"ledAs":7}'))).toEqual({});
    expect(decodeClaim(encodeClaim({ ledAs: 'x' }))).toEqual({ ledAs: 'x' });
  });
});

describe('leaderAssigner (the kafkajs assigner protocol)', () => {
  it('gives the leader partition to the incumbent and nothing to the others', async () => {
    const topic = 'leadership';
    const assigner = leaderAssigner(topic, () => ({}))({} as never);
    const member = (memberId: string, ledAs?: string) => ({
      memberId,
      memberMetadata: AssignerProtocol.MemberMetadata.encode({
        version: 1,
        topics: [topic],
        userData: encodeClaim(ledAs ? { ledAs } : {}),
      }),
    });
    const assignments = await assigner.assign({ members: [member('a'), member('b', 'b')], topics: [topic] });
    const leaders = assignments.filter((entry) => assignsLeadership(entry.memberAssignment, topic));
    expect(leaders.map((entry) => entry.memberId)).toEqual(['b']);
    const other = AssignerProtocol.MemberAssignment.decode(
      assignments.find((e) => e.memberId === 'a')!.memberAssignment,
    );
    expect(other?.assignment).toEqual({});
    const own = AssignerProtocol.MemberMetadata.decode(assigner.protocol({ topics: [topic] }).metadata);
    expect(own?.topics).toEqual([topic]);
    expect(LEADER_PARTITION).toBe(0);
  });
});
