import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  checkAndRecord,
  type LimitDecision,
  type RateWindow,
  SUB_BUCKETS,
  subBucketMs,
  type WindowCounts,
} from '../../../../functions/core/rate-limit/sliding-window.ts';

const copy = (states: readonly WindowCounts[]) => states.map((state) => new Map(state));
const fresh = (windows: readonly RateWindow[]) => windows.map(() => new Map<number, number>());

/** Feeds arrival times (ms, ascending) to one fresh limiter; returns each decision. */
function run(windows: readonly RateWindow[], times: readonly number[]): LimitDecision[] {
  const states = fresh(windows);
  return times.map((t) => checkAndRecord(states, windows, t));
}

const windowArb = fc.record({
  name: fc.constant('w'),
  seconds: fc.integer({ min: 1, max: 4 }),
  limit: fc.integer({ min: 1, max: 8 }),
});

/** Ascending arrival times with gaps of up to 1.5 windows, so windows both fill and drain. */
const timesArb = (maxGapMs: number) =>
  fc
    .tuple(
      fc.integer({ min: 0, max: 10_000_000 }),
      fc.array(fc.integer({ min: 0, max: maxGapMs }), { minLength: 1, maxLength: 150 }),
    )
    .map(([start, gaps]) => {
      let t = start;
      return gaps.map((gap) => {
        t += gap;
        return t;
      });
    });

const windowAndTimes = windowArb.chain((window) =>
  fc.tuple(fc.constant(window), timesArb(window.seconds * 1500)),
);

describe('the sliding window counter', () => {
  it('admits exactly the limit when many requests arrive at the same instant', () => {
    const window = { name: 'minute', seconds: 60, limit: 5 };
    const decisions = run(
      [window],
      Array.from({ length: 12 }, () => 1_000_000),
    );
    expect(decisions.filter((d) => d.allowed)).toHaveLength(5);
    expect(decisions.map((d) => d.windows[0]?.remaining)).toEqual([
      4, 3, 2, 1, 0, 0, 0, 0, 0, 0, 0, 0,
    ]);
  });

  it('never admits more than the limit in any span of one window length', () => {
    fc.assert(
      fc.property(windowAndTimes, ([window, times]) => {
        const decisions = run([window], times);
        const admitted = times.filter((_, i) => decisions[i]?.allowed);
        const w = window.seconds * 1000;
        for (const t of admitted) {
          const inSpan = admitted.filter((a) => a > t - w && a <= t).length;
          expect(inSpan).toBeLessThanOrEqual(window.limit);
        }
      }),
    );
  });

  it('rejects only when the limit was reached within one window plus one sub-bucket', () => {
    fc.assert(
      fc.property(windowAndTimes, ([window, times]) => {
        const decisions = run([window], times);
        const admitted = times.filter((_, i) => decisions[i]?.allowed);
        const reach = window.seconds * 1000 + subBucketMs(window);
        times.forEach((t, i) => {
          if (decisions[i]?.allowed) return;
          const recent = admitted.filter((a) => a >= t - reach && a <= t).length;
          expect(recent).toBeGreaterThanOrEqual(window.limit);
        });
      }),
    );
  });

  it('gives rejected requests no weight: dropping them changes no other decision', () => {
    fc.assert(
      fc.property(windowAndTimes, ([window, times]) => {
        const decisions = run([window], times);
        const kept = times.filter((_, i) => decisions[i]?.allowed);
        const again = run([window], kept);
        expect(again.every((d) => d.allowed)).toBe(true);
      }),
    );
  });

  it('records a request in every window or in none', () => {
    const windows = [
      { name: 'short', seconds: 1, limit: 3 },
      { name: 'long', seconds: 4, limit: 5 },
    ];
    fc.assert(
      fc.property(timesArb(800), (times) => {
        const states = fresh(windows);
        for (const t of times) {
          const before = copy(states).map((s) => [...s.values()].reduce((a, b) => a + b, 0));
          const decision = checkAndRecord(states, windows, t);
          const after = states.map((s) => [...s.values()].reduce((a, b) => a + b, 0));
          expect(decision.allowed).toBe(decision.windows.every((w) => w.allowed));
          after.forEach((total, i) => {
            // Pruning can only drop sub-buckets; a record adds exactly one to each window.
            if (decision.allowed) expect(total).toBeLessThanOrEqual((before[i] as number) + 1);
            else expect(total).toBeLessThanOrEqual(before[i] as number);
          });
        }
      }),
    );
  });

  it('names in retry-after the first moment the request would be admitted', () => {
    const windows = [
      { name: 'short', seconds: 1, limit: 2 },
      { name: 'long', seconds: 3, limit: 4 },
    ];
    fc.assert(
      fc.property(timesArb(700), (times) => {
        const states = fresh(windows);
        for (const t of times) {
          const probe = copy(states);
          const decision = checkAndRecord(states, windows, t);
          if (decision.allowed) continue;
          const retry = Math.max(...decision.windows.map((w) => w.retryAfterMs));
          expect(retry).toBeGreaterThan(0);
          expect(checkAndRecord(copy(probe), windows, t + retry - 1).allowed).toBe(false);
          expect(checkAndRecord(copy(probe), windows, t + retry).allowed).toBe(true);
        }
      }),
    );
  });

  it('reports remaining quota that matches what the next requests get', () => {
    fc.assert(
      fc.property(windowAndTimes, fc.integer({ min: 0, max: 5 }), ([window, times], extra) => {
        const states = fresh([window]);
        let last: LimitDecision | undefined;
        for (const t of times) last = checkAndRecord(states, [window], t);
        const at = times.at(-1) as number;
        const remaining = last?.windows[0]?.remaining ?? 0;
        const burst = Array.from({ length: remaining + extra }, () =>
          checkAndRecord(states, [window], at),
        );
        expect(burst.filter((d) => d.allowed)).toHaveLength(remaining);
      }),
    );
  });

  it('resets when the oldest counted request leaves the window', () => {
    const window = { name: 'w', seconds: 2, limit: 2 };
    const g = subBucketMs(window);
    expect(g).toBe(100);
    const states = fresh([window]);
    const first = checkAndRecord(states, [window], 10_050);
    // Sub-bucket 100 (10.0-10.1 s) leaves the window when sub-bucket 121 starts.
    expect(first.windows[0]?.resetMs).toBe((100 + SUB_BUCKETS + 1) * g - 10_050);
    checkAndRecord(states, [window], 11_000);
    const rejected = checkAndRecord(states, [window], 11_500);
    expect(rejected.allowed).toBe(false);
    expect(rejected.windows[0]?.retryAfterMs).toBe(12_100 - 11_500);
    expect(checkAndRecord(states, [window], 12_099).allowed).toBe(false);
    expect(checkAndRecord(states, [window], 12_100).allowed).toBe(true);
  });
});
