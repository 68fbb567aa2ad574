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
