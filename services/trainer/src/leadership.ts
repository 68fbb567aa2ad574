import type { Logger } from '@pncf/runtime';
import type { Admin, Consumer, Kafka } from 'kafkajs';
import { BehaviorSubject, distinctUntilChanged, type Observable } from 'rxjs';
import { assignsLeadership, LEADER_PARTITION, leaderAssigner } from './leader-assignment.js';

export type TrainerRole = 'leader' | 'standby';

/** One stretch of leadership under one group membership; a new one starts whenever leadership is (re)gained. */
export interface LeaderTerm {
  memberId: string;
  startedAt: Date;
}

export interface LeadershipOptions {
  kafka: Kafka;
  admin: Admin;
  topic: string;
  groupId: string;
  sessionTimeoutMs: number;
  heartbeatIntervalMs: number;
  logger: Logger;
}

/**
 * Leader election through a Kafka consumer group on a single-partition topic: the member assigned the partition
 * leads (leaderAssigner keeps it with the incumbent), the others stand by. A leader that stops heartbeating (dead,
 * hung) is expelled after the session timeout and the partition goes to a standby; a clean stop leaves the group at
 * once. `terms$` emits a LeaderTerm when this process becomes leader (or renews a term) and undefined when it stands
 * by. The group only tells a member about a change at its next heartbeat, so whoever acts as leader confirms with
 * the broker first (confirm) and publishes through a fenced producer.
 */
export class Leadership {
  private readonly term = new BehaviorSubject<LeaderTerm | undefined>(undefined);
  private consumer: Consumer | undefined;
  private memberId: string | undefined;
  /** Whether the role has been logged once (a first join as standby changes nothing but is worth a line). */
  private logged = false;
  private markJoined: () => void = () => undefined;
  /** Resolves at the first join of the group, when this process's first role is known. */
  readonly joined = new Promise<void>((resolve) => {
    this.markJoined = resolve;
  });

  constructor(private readonly options: LeadershipOptions) {}

  get terms$(): Observable<LeaderTerm | undefined> {
    return this.term.pipe(distinctUntilChanged());
  }

  get role(): TrainerRole {
    return this.term.value ? 'leader' : 'standby';
  }

  async start(): Promise<void> {
    const { kafka, topic, groupId, sessionTimeoutMs, heartbeatIntervalMs } = this.options;
    const consumer = kafka.consumer({
      groupId,
      sessionTimeout: sessionTimeoutMs,
      heartbeatInterval: heartbeatIntervalMs,
      // Nothing is ever written to the topic: each empty fetch waits this long, and heartbeats go out between fetches.
      maxWaitTimeInMs: heartbeatIntervalMs,
      partitionAssigners: [leaderAssigner(topic, () => ({ ledAs: this.term.value?.memberId }))],
    });
    this.consumer = consumer;
    consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
      const leading = payload.memberAssignment[topic]?.includes(LEADER_PARTITION) ?? false;
      this.memberId = payload.memberId;
      this.update(leading ? payload.memberId : undefined, 'group joined');
      this.markJoined();
    });
    // kafkajs restarts a consumer that crashed on a retriable error; until it rejoins, this member leads nothing.
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      this.options.logger.warn({ err: payload.error }, 'leadership group consumer crashed');
      this.update(undefined, 'leadership consumer crashed');
    });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: false });
    await consumer.run({ eachMessage: async () => undefined });
  }

  /**
   * Whether the broker still has this process as the member holding the leader partition of a stable group: asked,
   * not remembered, so a leader that was expelled while it was busy learns it before it publishes.
   */
  async confirm(): Promise<boolean> {
    const { admin, groupId, topic } = this.options;
    if (!this.memberId || !this.term.value) return false;
    const {
      groups: [group],
    } = await admin.describeGroups([groupId]);
    if (group?.state !== 'Stable') return false;
    const member = group.members.find((candidate) => candidate.memberId === this.memberId);
    return member !== undefined && assignsLeadership(member.memberAssignment, topic);
  }

  /**
   * After this leader's publisher was fenced (another trainer's producer took over): a new term when the broker
   * still names this process leader, so it catches up again and its producer fences the other; standby otherwise.
   */
  async renew(reason: string): Promise<void> {
    const confirmed = await this.confirm().catch(() => false);
    this.update(undefined, reason);
    if (confirmed && this.memberId) this.update(this.memberId, `${reason}; still the group's leader`);
  }

  async stop(): Promise<void> {
    this.update(undefined, 'stopping');
    // Leaving the group hands the partition to a standby at once instead of after the session timeout.
    await this.consumer?.disconnect();
    this.term.complete();
  }

  private update(leadingAs: string | undefined, reason: string): void {
    const current = this.term.value;
    if (leadingAs !== undefined && current?.memberId === leadingAs) return;
    if (leadingAs === undefined && current === undefined && this.logged) return;
    this.logged = true;
    const { logger, groupId } = this.options;
    if (leadingAs === undefined) {
      logger.info(
        { role: 'standby', groupId, memberId: this.memberId, reason },
        current ? 'trainer leadership lost: standing by' : 'trainer standing by',
      );
      this.term.next(undefined);
    } else {
      logger.info({ role: 'leader', groupId, memberId: leadingAs, reason }, 'trainer leadership acquired');
      this.term.next({ memberId: leadingAs, startedAt: new Date() });
    }
  }
}
