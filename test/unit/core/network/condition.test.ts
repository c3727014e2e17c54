import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  bandwidthToCondition,
  CONDITION_MAX_KBPS,
  CONDITION_MIN_KBPS,
  conditionToBandwidthKbps,
} from '../../../../functions/core/network/condition.ts';

describe('network condition score', () => {
  it('maps 0 to 64 kbps and 1 to 20 Mbps', () => {
    expect(conditionToBandwidthKbps(0)).toBeCloseTo(CONDITION_MIN_KBPS, 9);
    expect(conditionToBandwidthKbps(1)).toBeCloseTo(CONDITION_MAX_KBPS, 6);
    expect(bandwidthToCondition(64)).toBe(0);
    expect(bandwidthToCondition(20_000)).toBe(1);
  });

  it('is logarithmic: the midpoint is the geometric mean of the ends', () => {
    expect(conditionToBandwidthKbps(0.5)).toBeCloseTo(Math.sqrt(64 * 20_000), 6);
  });

  it('clamps scores and bandwidths outside the range', () => {
    expect(conditionToBandwidthKbps(-1)).toBeCloseTo(64, 9);
    expect(conditionToBandwidthKbps(2)).toBeCloseTo(20_000, 6);
    expect(bandwidthToCondition(10)).toBe(0);
    expect(bandwidthToCondition(1_000_000)).toBe(1);
  });

  it('round-trips a score through its bandwidth', () => {
    fc.assert(
      fc.property(fc.double({ min: 0, max: 1, noNaN: true }), (score) => {
        expect(bandwidthToCondition(conditionToBandwidthKbps(score))).toBeCloseTo(score, 9);
      }),
    );
  });

  it('round-trips a bandwidth in range through its score', () => {
    fc.assert(
      fc.property(fc.double({ min: 64, max: 20_000, noNaN: true }), (kbps) => {
        const back = conditionToBandwidthKbps(bandwidthToCondition(kbps));
        expect(Math.abs(back - kbps) / kbps).toBeLessThan(1e-9);
      }),
    );
  });

  it('grows with bandwidth', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 1, max: 100_000, noNaN: true }),
        fc.double({ min: 0, max: 100_000, noNaN: true }),
        (kbps, more) => {
          expect(bandwidthToCondition(kbps + more)).toBeGreaterThanOrEqual(
            bandwidthToCondition(kbps),
          );
        },
      ),
    );
  });

  it('rejects NaN', () => {
    expect(() => conditionToBandwidthKbps(Number.NaN)).toThrow(RangeError);
    expect(() => bandwidthToCondition(Number.NaN)).toThrow(RangeError);
  });
});
