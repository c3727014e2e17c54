import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { backoffDelays, DEFAULT_CONNECT_RETRY } from '../../../functions/core/backoff.ts';

const policies = fc.record({
  tries: fc.integer({ min: 1, max: 200 }),
  baseDelayMs: fc.integer({ min: 0, max: 60_000 }),
  maxDelayMs: fc.integer({ min: 0, max: 120_000 }),
});

describe('backoffDelays', () => {
  it('gives 1, 2, 4 and 8 seconds for the default connect policy', () => {
    expect(DEFAULT_CONNECT_RETRY).toEqual({ tries: 5, baseDelayMs: 1000, maxDelayMs: 30_000 });
    expect(backoffDelays(DEFAULT_CONNECT_RETRY)).toEqual([1000, 2000, 4000, 8000]);
  });

  it('caps long schedules at the maximum delay', () => {
    expect(backoffDelays({ tries: 8, baseDelayMs: 1000, maxDelayMs: 30_000 })).toEqual([
      1000, 2000, 4000, 8000, 16_000, 30_000, 30_000,
    ]);
  });

  it('has no delay for a single try', () => {
    expect(backoffDelays({ tries: 1, baseDelayMs: 1000, maxDelayMs: 30_000 })).toEqual([]);
  });

  it('returns one delay fewer than there are tries', () => {
    fc.assert(
      fc.property(policies, (policy) => {
        expect(backoffDelays(policy)).toHaveLength(policy.tries - 1);
      }),
    );
  });

  it('never decreases from one delay to the next', () => {
    fc.assert(
      fc.property(policies, (policy) => {
        const delays = backoffDelays(policy);
        for (let i = 1; i < delays.length; i++) {
          expect(delays[i]).toBeGreaterThanOrEqual(delays[i - 1] as number);
        }
      }),
    );
  });

  it('never waits longer than the cap and never a negative or non-finite time', () => {
    fc.assert(
      fc.property(policies, (policy) => {
        for (const delay of backoffDelays(policy)) {
          expect(Number.isFinite(delay)).toBe(true);
          expect(delay).toBeGreaterThanOrEqual(0);
          expect(delay).toBeLessThanOrEqual(policy.maxDelayMs);
        }
      }),
    );
  });

  it('starts at the base delay when the base is within the cap', () => {
    fc.assert(
      fc.property(
        policies.filter((p) => p.tries >= 2 && p.baseDelayMs <= p.maxDelayMs),
        (policy) => {
          expect(backoffDelays(policy)[0]).toBe(policy.baseDelayMs);
        },
      ),
    );
  });

  it('doubles each delay until it reaches the cap', () => {
    fc.assert(
      fc.property(policies, (policy) => {
        const delays = backoffDelays(policy);
        for (let i = 1; i < delays.length; i++) {
          const previous = delays[i - 1] as number;
          expect(delays[i]).toBe(Math.min(policy.maxDelayMs, previous * 2));
        }
      }),
    );
  });

  it('rejects a policy without a positive whole number of tries or with a bad delay', () => {
    expect(() => backoffDelays({ tries: 0, baseDelayMs: 1, maxDelayMs: 1 })).toThrow(RangeError);
    expect(() => backoffDelays({ tries: 2.5, baseDelayMs: 1, maxDelayMs: 1 })).toThrow(RangeError);
    expect(() => backoffDelays({ tries: 3, baseDelayMs: -1, maxDelayMs: 1 })).toThrow(RangeError);
    expect(() => backoffDelays({ tries: 3, baseDelayMs: 1, maxDelayMs: Number.NaN })).toThrow(
      RangeError,
    );
  });
});
