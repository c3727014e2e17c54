import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../../functions/core/errors.ts';
import {
  answerKey,
  MAX_IDEMPOTENCY_KEY_LENGTH,
  parseIdempotencyKey,
  type RequestIdentity,
  requestIdentity,
} from '../../../functions/platform/idempotency/identity.ts';

const identity: fc.Arbitrary<RequestIdentity> = fc.record({
  operation: fc.constantFrom('compress' as const, 'network' as const),
  owner: fc.string({ minLength: 1, maxLength: 12 }),
  sessionId: fc.oneof(fc.uuid(), fc.string({ maxLength: 8 })),
  name: fc.oneof(
    fc.record({ frameNumber: fc.nat() }),
    fc.record({ key: fc.string({ minLength: 1, maxLength: 12 }) }),
  ),
});

describe('the identity of a request', () => {
  it('gives two distinct identities two distinct Redis keys, whatever their parts contain', () => {
    fc.assert(
      fc.property(identity, identity, (a, b) => {
        const same = JSON.stringify(a) === JSON.stringify(b);
        expect(answerKey(a) === answerKey(b)).toBe(same);
      }),
      { numRuns: 2000 },
    );
  });

  it('keeps a number and a key that read alike apart', () => {
    const base = { operation: 'compress', owner: 'alice', sessionId: 's' } as const;
    expect(answerKey({ ...base, name: { frameNumber: 7 } })).not.toBe(
      answerKey({ ...base, name: { key: '7' } }),
    );
    expect(answerKey({ ...base, owner: 'a:b', name: { key: 'c' } })).not.toBe(
      answerKey({ ...base, owner: 'a', name: { key: 'b:c' } }),
    );
  });

  it('names a frame by its number when it has one, else by its key, else not at all', () => {
    expect(requestIdentity('compress', 'u', 's', 3, 'k')?.name).toEqual({ frameNumber: 3 });
    expect(requestIdentity('compress', 'u', 's', 0, undefined)?.name).toEqual({ frameNumber: 0 });
    expect(requestIdentity('network', 'u', 's', undefined, 'k')?.name).toEqual({ key: 'k' });
    expect(requestIdentity('compress', 'u', 's', undefined, undefined)).toBeUndefined();
  });

  it('accepts an Idempotency-Key of visible ASCII up to its cap and refuses anything else', () => {
    const field = 'header.idempotency-key';
    expect(parseIdempotencyKey(undefined, field)).toBeUndefined();
    expect(parseIdempotencyKey('f47ac10b-58cc-4372-a567-0e02b2c3d479', field)).toBe(
      'f47ac10b-58cc-4372-a567-0e02b2c3d479',
    );
    const longest = 'k'.repeat(MAX_IDEMPOTENCY_KEY_LENGTH);
    expect(parseIdempotencyKey(longest, field)).toBe(longest);
    for (const bad of ['', ' ', 'a b', 'é', `${longest}k`, 'tab\t']) {
      const error = (() => {
        try {
          parseIdempotencyKey(bad, field);
        } catch (caught) {
          return caught;
        }
      })();
      expect(error, JSON.stringify(bad)).toBeInstanceOf(ValidationError);
      expect((error as ValidationError).details?.[0]?.field).toBe(field);
    }
  });
});
