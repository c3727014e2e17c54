import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { KeyedLimit } from '../../../../functions/core/admission/keyed-limit.ts';
import type { Permit } from '../../../../functions/core/admission/permit.ts';

const step = fc.oneof(
  fc.record({ acquire: fc.constantFrom('alice', 'bob', 'carol') }),
  fc.record({ release: fc.nat(), twice: fc.boolean() }),
);

describe('the per-key limit', () => {
  it('never lets a key hold more than its maximum, and admits a key below it', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 5 }), fc.array(step, { maxLength: 80 }), (max, run) => {
        const limit = new KeyedLimit(max);
        const held: { permit: Permit; key: string }[] = [];
        const count = (key: string) => held.filter((h) => h.key === key).length;
        for (const s of run) {
          if ('acquire' in s) {
            const permit = limit.tryAcquire(s.acquire);
            expect(permit !== undefined).toBe(count(s.acquire) < max);
            if (permit) held.push({ permit, key: s.acquire });
          } else if (held.length > 0) {
            const [entry] = held.splice(s.release % held.length, 1);
            entry?.permit.release();
            if (s.twice) entry?.permit.release();
          }
          for (const key of ['alice', 'bob', 'carol']) {
            expect(limit.held(key)).toBe(count(key));
            expect(limit.held(key)).toBeLessThanOrEqual(max);
          }
        }
        for (const { permit } of held) permit.release();
        // Nothing is left behind for keys that hold nothing: the map does not grow with callers.
        expect(limit.keys).toBe(0);
      }),
    );
  });

  it('keeps keys apart', () => {
    const limit = new KeyedLimit(1);
    const alice = limit.tryAcquire('alice') as Permit;
    expect(limit.tryAcquire('alice')).toBeUndefined();
    expect(limit.tryAcquire('bob')).toBeDefined();
    alice.release();
    expect(limit.tryAcquire('alice')).toBeDefined();
  });
});
