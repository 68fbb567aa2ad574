import { describe, expect, it } from 'vitest';
import { controlAccess } from '../src/control-access.js';

// The decision only; test/trainer-control.test.ts checks it on the trainer process over HTTP.
describe('controlAccess', () => {
  it('requires the token whenever one is configured, on any address', () => {
    expect(controlAccess('t'.repeat(32), '127.0.0.1')).toEqual({ kind: 'token', token: 't'.repeat(32) });
    expect(controlAccess('t'.repeat(32), '0.0.0.0')).toEqual({ kind: 'token', token: 't'.repeat(32) });
  });

  it('without a token, is open on loopback and refused elsewhere, saying how to fix it', () => {
    expect(controlAccess(undefined, '::1')).toEqual({ kind: 'open-on-loopback' });
    const refused = controlAccess(undefined, '0.0.0.0');
    expect(refused.kind).toBe('refused');
    expect(refused.kind === 'refused' && refused.reason).toMatch(/CONTROL_TOKEN.*HTTP_HOST/);
  });
});
