import { ConfigError, loadConfig } from '@pncf/runtime';
import { describe, expect, it } from 'vitest';
import { trainerConfigSchema } from '../src/config.js';

describe('trainer leadership configuration', () => {
  it('has documented defaults and refuses a heartbeat interval that is not below the session timeout', () => {
    const defaults = loadConfig('trainer', trainerConfigSchema, {});
    expect(defaults).toMatchObject({
      LEADERSHIP_TOPIC: 'trainer-leadership',
      LEADERSHIP_GROUP: 'pncf-trainer-leadership',
      LEADERSHIP_SESSION_TIMEOUT_MS: 30_000,
      LEADERSHIP_HEARTBEAT_INTERVAL_MS: 3000,
      PUBLISH_TRANSACTIONAL_ID: 'pncf-trainer-publisher',
    });
    const load = () =>
      loadConfig('trainer', trainerConfigSchema, {
        LEADERSHIP_SESSION_TIMEOUT_MS: '6000',
        LEADERSHIP_HEARTBEAT_INTERVAL_MS: '6000',
      });
    expect(load).toThrow(ConfigError);
    expect(load).toThrow('must satisfy LEADERSHIP_HEARTBEAT_INTERVAL_MS < LEADERSHIP_SESSION_TIMEOUT_MS');
  });
});
