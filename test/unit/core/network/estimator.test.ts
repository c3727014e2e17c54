import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { NetworkConditions } from '../../../../functions/core/contracts/compress.ts';
import { networkBytesPerFrame } from '../../../../functions/core/network/budget.ts';
import { bandwidthToCondition } from '../../../../functions/core/network/condition.ts';
import {
  describeEstimate,
  HISTORY_SIZE,
  MIN_ESTIMATE_KBPS,
  type NetworkEstimatorState,
  qualityClass,
  replayEstimator,
  restoreEstimator,
  stabilityOf,
  transportFactor,
  updateEstimator,
} from '../../../../functions/core/network/estimator.ts';

const update = (kbps: number, lossPercent = 0, extra: Partial<NetworkConditions> = {}) =>
  ({
    available_bandwidth_kbps: kbps,
    rtt_ms: 40,
    packet_loss_percent: lossPercent,
    jitter_ms: 5,
    fps: 30,
    ...extra,
  }) satisfies NetworkConditions;

const updates = fc.record({
  available_bandwidth_kbps: fc.double({ min: 64, max: 100_000, noNaN: true }),
  rtt_ms: fc.double({ min: 0, max: 5000, noNaN: true }),
  packet_loss_percent: fc.double({ min: 0, max: 100, noNaN: true }),
  jitter_ms: fc.double({ min: 0, max: 1000, noNaN: true }),
  fps: fc.integer({ min: 1, max: 120 }),
});
const sequences = fc.array(updates, { minLength: 1, maxLength: 40 });
const states = sequences.map((sequence) => replayEstimator(sequence) as NetworkEstimatorState);

// Relative slack for binary rounding in the bounds below.
const EPSILON = 1e-12;

describe('network estimator rules', () => {
  it('never puts the estimate above the bandwidth just reported', () => {
    fc.assert(
      fc.property(states, updates, (state, next) => {
        const after = updateEstimator(state, next);
        expect(after.estimateKbps).toBeLessThanOrEqual(next.available_bandwidth_kbps);
        expect(describeEstimate(after).smoothedKbps).toBeLessThanOrEqual(
          next.available_bandwidth_kbps,
        );
        expect(describeEstimate(after).predictedKbps).toBeLessThanOrEqual(
          next.available_bandwidth_kbps,
        );
      }),
    );
  });

  it('grows the estimate by at most 5 % per update when loss is under 2 %', () => {
    fc.assert(
      fc.property(
        states,
        updates,
        fc.double({ min: 0, max: 1.999, noNaN: true }),
        (state, next, loss) => {
          const after = updateEstimator(state, { ...next, packet_loss_percent: loss });
          expect(after.estimateKbps).toBeLessThanOrEqual(state.estimateKbps * 1.05 * (1 + EPSILON));
        },
      ),
    );
  });

  it('reaches 5 % growth per update on a clean link with room above the estimate', () => {
    let state = updateEstimator(undefined, update(1000));
    state = updateEstimator(state, update(20_000));
    expect(state.estimateKbps).toBeCloseTo(1050, 9);
    state = updateEstimator(state, update(20_000));
    expect(state.estimateKbps).toBeCloseTo(1102.5, 9);
  });

  it('holds the estimate when loss is between 2 and 10 %', () => {
    fc.assert(
      fc.property(states, fc.double({ min: 2, max: 10, noNaN: true }), (state, loss) => {
        const after = updateEstimator(state, update(100_000, loss, { fps: state.last.fps }));
        expect(after.estimateKbps).toBe(
          Math.max(MIN_ESTIMATE_KBPS, Math.min(after.ceilingKbps, state.estimateKbps)),
        );
      }),
    );
  });

  it('cuts the estimate by half the loss fraction under heavy loss, update after update', () => {
    fc.assert(
      fc.property(
        states,
        fc.array(fc.double({ min: 10.001, max: 100, noNaN: true }), {
          minLength: 1,
          maxLength: 20,
        }),
        (start, losses) => {
          let state = start;
          for (const loss of losses) {
            const after = updateEstimator(state, update(100_000, loss));
            expect(after.estimateKbps).toBeLessThanOrEqual(state.estimateKbps);
            expect(after.estimateKbps).toBeLessThanOrEqual(
              Math.max(MIN_ESTIMATE_KBPS, state.estimateKbps * (1 - 0.5 * (loss / 100))) *
                (1 + EPSILON),
            );
            state = after;
          }
        },
      ),
    );
  });

  it('cuts more for more loss', () => {
    fc.assert(
      fc.property(
        states,
        fc.double({ min: 10.001, max: 100, noNaN: true }),
        fc.double({ min: 0, max: 90, noNaN: true }),
        (state, loss, more) => {
          const less = updateEstimator(state, update(50_000, loss)).estimateKbps;
          const most = updateEstimator(state, update(50_000, Math.min(100, loss + more)));
          expect(most.estimateKbps).toBeLessThanOrEqual(less);
        },
      ),
    );
  });

  it('applies heavy loss to the first update too', () => {
    expect(updateEstimator(undefined, update(2000, 40)).estimateKbps).toBeCloseTo(1600, 9);
    expect(updateEstimator(undefined, update(2000, 1)).estimateKbps).toBe(2000);
  });

  it('believes a lower report at once but lifts the ceiling only part of the way up', () => {
    let state = updateEstimator(undefined, update(5000));
    state = updateEstimator(state, update(1000));
    expect(state.estimateKbps).toBe(1000);
    state = updateEstimator(state, update(10_000));
    expect(state.ceilingKbps).toBeCloseTo(0.3 * 10_000 + 0.7 * 1000, 9);
    expect(state.estimateKbps).toBeCloseTo(1050, 9);
  });

  it('never drops the estimate under its floor', () => {
    let state = updateEstimator(undefined, update(64, 100));
    for (let i = 0; i < 2000; i++) state = updateEstimator(state, update(64, 100));
    expect(state.estimateKbps).toBe(MIN_ESTIMATE_KBPS);
  });
});

describe('network estimate', () => {
  it('keeps stability within 0..1', () => {
    fc.assert(
      fc.property(states, (state) => {
        const { stability } = describeEstimate(state);
        expect(stability).toBeGreaterThanOrEqual(0);
        expect(stability).toBeLessThanOrEqual(1);
      }),
    );
    fc.assert(
      fc.property(fc.array(fc.double({ min: 0, max: 1e6, noNaN: true })), (values) => {
        const stability = stabilityOf(values);
        expect(stability).toBeGreaterThanOrEqual(0);
        expect(stability).toBeLessThanOrEqual(1);
      }),
    );
  });

  it('scores a steady link 1 and a swinging one lower', () => {
    const steady = replayEstimator(Array.from({ length: 5 }, () => update(3000)));
    const swinging = replayEstimator([1000, 5000, 1000, 5000, 1000].map((k) => update(k)));
    expect(describeEstimate(steady as NetworkEstimatorState).stability).toBe(1);
    const stability = describeEstimate(swinging as NetworkEstimatorState).stability;
    // Reports 1000/5000: mean 2600, population deviation 1959.6, CV 0.754.
    expect(stability).toBeCloseTo(1 - Math.sqrt(0.24 * 16e6) / 2600, 9);
  });

  it('keeps only the last updates in its history', () => {
    const state = replayEstimator(
      Array.from({ length: 25 }, (_, i) => update(1000 + i)),
    ) as NetworkEstimatorState;
    expect(state.history).toHaveLength(HISTORY_SIZE);
    expect(state.history.at(-1)?.reportedKbps).toBe(1024);
    expect(state.sampleCount).toBe(25);
  });

  it('classes the smoothed estimate at the contract boundaries', () => {
    expect(qualityClass(10_000.001)).toBe('excellent');
    expect(qualityClass(10_000)).toBe('good');
    expect(qualityClass(5000)).toBe('good');
    expect(qualityClass(4999.999)).toBe('fair');
    expect(qualityClass(1000)).toBe('fair');
    expect(qualityClass(999.999)).toBe('poor');
    fc.assert(
      fc.property(fc.double({ min: 0, max: 200_000, noNaN: true }), (kbps) => {
        const expected =
          kbps > 10_000 ? 'excellent' : kbps >= 5000 ? 'good' : kbps >= 1000 ? 'fair' : 'poor';
        expect(qualityClass(kbps)).toBe(expected);
      }),
    );
  });

  it('predicts along the trend, no faster than the rules allow', () => {
    let state = updateEstimator(undefined, update(1000));
    for (let i = 0; i < 5; i++) state = updateEstimator(state, update(50_000));
    const estimate = describeEstimate(state);
    expect(estimate.predictedKbps).toBeGreaterThan(estimate.smoothedKbps);
    expect(estimate.predictedKbps).toBeLessThanOrEqual(
      estimate.smoothedKbps * 1.05 ** 3 * (1 + EPSILON),
    );
    const falling = describeEstimate(
      replayEstimator([8000, 6000, 4000, 2000].map((k) => update(k))) as NetworkEstimatorState,
    );
    expect(falling.predictedKbps).toBeLessThan(falling.smoothedKbps);
    expect(falling.predictedKbps).toBeGreaterThanOrEqual(falling.smoothedKbps / 8);
  });

  it('budgets frames from the estimate, the last loss and the last frame rate', () => {
    fc.assert(
      fc.property(states, (state) => {
        const estimate = describeEstimate(state);
        expect(estimate.sample).toEqual({
          bandwidthKbps: state.estimateKbps,
          packetLossPercent: state.last.packet_loss_percent,
          fps: state.last.fps,
        });
        expect(estimate.budgetBytesPerFrame).toBe(networkBytesPerFrame(estimate.sample));
      }),
    );
  });

  it('folds loss, RTT and jitter into the bandwidth score of the network condition', () => {
    const clean = describeEstimate(
      updateEstimator(undefined, update(3000, 0, { rtt_ms: 0, jitter_ms: 0 })),
    );
    expect(clean.condition).toBeCloseTo((bandwidthToCondition(3000) * (93.2 - 0.25)) / 93.2, 9);
    expect(transportFactor(0, 0, 40)).toBe(0);
    expect(transportFactor(1000, 0, 0)).toBeCloseTo((93.2 - 39) / 93.2, 9);
    fc.assert(
      fc.property(states, (state) => {
        const { condition } = describeEstimate(state);
        expect(condition).toBeGreaterThanOrEqual(0);
        expect(condition).toBeLessThanOrEqual(bandwidthToCondition(state.estimateKbps));
      }),
    );
    fc.assert(
      fc.property(
        fc.double({ min: 0, max: 5000, noNaN: true }),
        fc.double({ min: 0, max: 1000, noNaN: true }),
        fc.double({ min: 0, max: 100, noNaN: true }),
        fc.double({ min: 0, max: 100, noNaN: true }),
        (rtt, jitter, loss, more) => {
          expect(transportFactor(rtt, jitter, Math.min(100, loss + more))).toBeLessThanOrEqual(
            transportFactor(rtt, jitter, loss),
          );
          expect(transportFactor(rtt + more, jitter, loss)).toBeLessThanOrEqual(
            transportFactor(rtt, jitter, loss),
          );
        },
      ),
    );
  });
});

describe('network estimator state', () => {
  it('round-trips through JSON', () => {
    fc.assert(
      fc.property(states, (state) => {
        expect(restoreEstimator(JSON.parse(JSON.stringify(state)))).toEqual(state);
      }),
    );
  });

  it('rejects a corrupt, truncated or foreign state', () => {
    const state = replayEstimator([update(2000), update(2500)]) as NetworkEstimatorState;
    expect(restoreEstimator(undefined)).toBeUndefined();
    expect(restoreEstimator('{"version":1')).toBeUndefined();
    expect(restoreEstimator({ ...state, version: 2 })).toBeUndefined();
    expect(restoreEstimator({ ...state, estimateKbps: -1 })).toBeUndefined();
    expect(restoreEstimator({ ...state, estimateKbps: state.ceilingKbps * 2 })).toBeUndefined();
    expect(restoreEstimator({ ...state, ceilingKbps: 1e9, estimateKbps: 1e9 })).toBeUndefined();
    expect(restoreEstimator({ ...state, history: [] })).toBeUndefined();
    expect(restoreEstimator({ ...state, last: { ...state.last, fps: 0 } })).toBeUndefined();
    expect(restoreEstimator({ ...state, extra: true })).toBeUndefined();
  });
});
