import { describe, expect, it } from 'vitest';
import { reconcileVersions } from '../src/catch-up.js';

const digests = (entries: Record<string, string>) => new Map(Object.entries(entries));

describe('reconcileVersions', () => {
  it('finds nothing to do when the local versions are the published ones', () => {
    expect(reconcileVersions(digests({ v000001: 'a', v000002: 'b' }), digests({ v000002: 'b' }))).toEqual({
      conflicting: [],
      unpublished: [],
    });
  });

  it('marks a local version of a published number with other bytes as conflicting', () => {
    const local = digests({ v000001: 'a', v000002: 'mine' });
    expect(reconcileVersions(local, digests({ v000001: 'a', v000002: 'theirs', v000003: 'c' }))).toEqual({
      conflicting: ['v000002'],
      unpublished: [],
    });
  });

  it('sends again what is newer than everything published, in order; an older unknown version is left alone', () => {
    const local = digests({ v000004: 'd', v000001: 'old', v000005: 'e' });
    expect(reconcileVersions(local, digests({ v000003: 'c' }))).toEqual({
      conflicting: [],
      unpublished: ['v000004', 'v000005'],
    });
    expect(reconcileVersions(digests({ v000001: 'a' }), new Map())).toEqual({
      conflicting: [],
      unpublished: ['v000001'],
    });
  });
});
