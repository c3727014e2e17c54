import { describe, expect, it } from 'vitest';
import { tenantFromClaims } from '../../../functions/core/subject.ts';

describe('tenantFromClaims', () => {
  it('names the tenant by the configured claim', () => {
    const claims = { sub: 'end-user', client_id: 'media-app' };
    expect(tenantFromClaims(claims, 'sub')).toBe('end-user');
    expect(tenantFromClaims(claims, 'client_id')).toBe('media-app');
  });

  it('names none when the claim is missing, not a string, or not usable as an id', () => {
    for (const value of [
      undefined,
      null,
      42,
      ['a'],
      { id: 'a' },
      '',
      'a\u0000b',
      '\ud800',
      'x'.repeat(129),
    ]) {
      expect(tenantFromClaims({ sub: 'end-user', client_id: value }, 'client_id')).toBeUndefined();
    }
    expect(tenantFromClaims(undefined, 'sub')).toBeUndefined();
  });

  it('never reads a claim from the prototype chain', () => {
    expect(tenantFromClaims({ sub: 'end-user' }, 'constructor')).toBeUndefined();
    expect(tenantFromClaims({ sub: 'end-user' }, 'toString')).toBeUndefined();
  });
});
