import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FallbackLimiter } from '../../../../functions/core/rate-limit/fallback-limiter.ts';
import type { LimitPlan } from '../../../../functions/core/rate-limit/policy.ts';
import { checkAndRecord } from '../../../../functions/core/rate-limit/sliding-window.ts';

const windows = [
  { name: 'minute', seconds: 60, limit: 3 },
  { name: 'hour', seconds: 3600, limit: 5 },
];
const plan = (value: string, scope = '*'): LimitPlan => ({
  identity: { kind: 'user', value },
  scope,
  windows,
});

describe('the per-container fallback limiter', () => {
  it('applies the plan limits per identity', () => {
    const limiter = new FallbackLimiter(10);
    const alice = Array.from({ length: 5 }, () => limiter.check(plan('alice'), 1_000).allowed);
    expect(alice).toEqual([true, true, true, false, false]);
    expect(limiter.check(plan('bob'), 1_000).allowed).toBe(true);
    expect(limiter.check(plan('alice', 'compress'), 1_000).allowed).toBe(true);
  });

  it('decides like the sliding window counter for a single identity', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 40_000 }), { maxLength: 60 }), (gaps) => {
        const limiter = new FallbackLimiter(4);
        const states = windows.map(() => new Map<number, number>());
        let t = 0;
        for (const gap of gaps) {
          t += gap;
          expect(limiter.check(plan('alice'), t)).toEqual(checkAndRecord(states, windows, t));
        }
      }),
    );
  });

  it('never tracks more identities than its cap', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 20 }),
        fc.array(fc.integer({ min: 0, max: 60 }), { maxLength: 300 }),
        (cap, users) => {
          const limiter = new FallbackLimiter(cap);
          for (const user of users) {
            limiter.check(plan(`u${user}`), 0);
            expect(limiter.size).toBeLessThanOrEqual(cap);
          }
        },
      ),
    );
  });

  it('evicts the least recently used identity first', () => {
    const limiter = new FallbackLimiter(2);
    for (let i = 0; i < 3; i++) limiter.check(plan('alice'), 0);
    limiter.check(plan('bob'), 0);
    limiter.check(plan('alice'), 0);
    limiter.check(plan('carol'), 0);
    // bob was evicted, alice (used more recently) kept her count.
    expect(limiter.check(plan('alice'), 0).allowed).toBe(false);
    expect(limiter.size).toBe(2);
  });

  it('refuses a cap that is not a positive integer', () => {
    expect(() => new FallbackLimiter(0)).toThrow(RangeError);
  });
});
