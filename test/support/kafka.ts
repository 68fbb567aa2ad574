import { randomBytes } from 'node:crypto';
import { createKafka } from '@pncf/runtime';
import type { Kafka } from 'kafkajs';
import { inject } from 'vitest';

/** Bootstrap brokers of the run's real Kafka (see test/setup/kafka.ts). */
export function testBrokers(): string[] {
  return inject('kafkaBrokers');
}

export function testKafka(clientId = 'pncf-test'): Kafka {
  return createKafka({ brokers: testBrokers(), clientId });
}

/** A topic or group name no other test uses, so tests never see each other's data. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
}

/**
 * The names that make a set of trainers one deployment: their counts changelog, leadership group and topic, the
 * transactional id they publish with and the artifact topic. Trainers of different tests share the run's broker, so
 * each test gets its own (with the defaults, every trainer of the run would elect one leader among them all and
 * read every other test's counts).
 */
export function trainerDeployment(prefix: string): {
  CHANGELOG_TOPIC: string;
  MODEL_ARTIFACTS_TOPIC: string;
  LEADERSHIP_TOPIC: string;
  LEADERSHIP_GROUP: string;
  PUBLISH_TRANSACTIONAL_ID: string;
} {
  return {
    CHANGELOG_TOPIC: uniqueName(`${prefix}-counts`),
    MODEL_ARTIFACTS_TOPIC: uniqueName(`${prefix}-artifacts`),
    LEADERSHIP_TOPIC: uniqueName(`${prefix}-leadership`),
    LEADERSHIP_GROUP: uniqueName(`${prefix}-leaders`),
    PUBLISH_TRANSACTIONAL_ID: uniqueName(`${prefix}-publisher`),
  };
}
