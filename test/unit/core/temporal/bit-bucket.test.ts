import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  advance,
  allowance,
  BURST_SECONDS,
  type BucketState,
  bucketStateSchema,
  frameClockUs,
  frameTarget,
  GUARD_WINDOW_US,
  markMissed,
  newBucket,
  spend,
} from '../../../../functions/core/temporal/bit-bucket.ts';

/** One frame of a generated stream: the time since the previous one and what share it spends. */
const frameArb = fc.record({
  // Mostly regular intervals, some long gaps, some clocks that go back.
  gapUs: fc.oneof(
    fc.integer({ min: 0, max: 100_000 }),
    fc.integer({ min: 100_000, max: 3_000_000 }),
    fc.integer({ min: -2_000_000, max: 0 }),
  ),
  share: fc.double({ min: 0, max: 1, noNaN: true }),
  spendAll: fc.boolean(),
  // Dropped: nothing fitted its target, so it sends nothing and the next may spend it all.
  dropped: fc.boolean(),
});

const streamArb = fc.record({
  rate: fc.integer({ min: 1_000, max: 2_000_000 }),
  fps: fc.integer({ min: 1, max: 60 }),
  frames: fc.array(frameArb, { minLength: 1, maxLength: 200 }),
});

/** Runs a stream through the bucket: every frame sends its share of its target. */
function run(stream: Stream) {
  let state: BucketState | undefined;
  let clock = 0;
  const sent: { atUs: number; bytes: number }[] = [];
  for (const frame of stream.frames) {
    clock += frame.gapUs;
    const at = frameClockUs(state, clock, stream.fps);
    state = state ? advance(state, stream.rate, at) : newBucket(stream.rate, stream.fps, at);
    const target = frameTarget(state, stream.rate, stream.fps, frame.spendAll);
    expect(target).toBeLessThanOrEqual(allowance(state, stream.rate));
    const bytes = frame.dropped ? 0 : Math.floor(target * frame.share);
    sent.push({ atUs: state.atUs, bytes });
    state = frame.dropped ? markMissed(state) : spend(state, stream.rate, bytes);
  }
  return sent;
}

interface Stream {
  rate: number;
  fps: number;
  frames: { gapUs: number; share: number; spendAll: boolean; dropped: boolean }[];
}

describe('the bit bucket', () => {
  it('never sends more than the rate in any one-second window of the frame clock', () => {
    fc.assert(
      fc.property(streamArb, (stream) => {
        const sent = run(stream);
        // Every half-open window of one second ends at or after its last frame: checking the
        // window that ends at each frame covers them all.
        for (const last of sent) {
          const inWindow = sent
            .filter((s) => s.atUs > last.atUs - GUARD_WINDOW_US && s.atUs <= last.atUs)
            .reduce((sum, s) => sum + s.bytes, 0);
          expect(inWindow).toBeLessThanOrEqual(stream.rate + 1e-6);
        }
      }),
    );
  });

  it('sends no more over a whole stream than the burst plus the rate over its duration', () => {
    fc.assert(
      fc.property(streamArb, (stream) => {
        const sent = run(stream);
        const total = sent.reduce((sum, s) => sum + s.bytes, 0);
        const durationUs = (sent.at(-1)?.atUs ?? 0) - (sent[0]?.atUs ?? 0);
        const earned = stream.rate * BURST_SECONDS + (stream.rate * durationUs) / 1_000_000;
        expect(total).toBeLessThanOrEqual(earned + 1e-6);
      }),
    );
  });

  it('carries the bytes a cheap frame leaves to the next, up to the burst', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1_000, max: 1_000_000 }),
        fc.integer({ min: 1, max: 60 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (rate, fps, share) => {
          // A bucket drained by a second of frames at the rate, then one frame that spends little.
          let state = newBucket(rate, fps, 0);
          state = spend(state, rate, Math.floor(state.tokens));
          const interval = 1_000_000 / fps;
          state = advance(state, rate, interval);
          const before = state.tokens;
          state = spend(state, rate, Math.floor(before * share));
          const next = advance(state, rate, 2 * interval);
          const expected = Math.min(
            rate * BURST_SECONDS,
            before - Math.floor(before * share) + rate / fps,
          );
          expect(next.tokens).toBeCloseTo(expected, 6);
        },
      ),
    );
  });

  it('starts with one frame share, and banks what frames leave up to half a second of the rate', () => {
    const state = newBucket(100_000, 10, 5);
    expect(allowance(state, 100_000)).toBe(10_000);
    let quiet = state;
    for (let i = 1; i <= 10; i++) quiet = advance(quiet, 100_000, 5 + i * 100_000);
    expect(allowance(quiet, 100_000)).toBe(50_000);
    expect(frameTarget(quiet, 100_000, 10, true)).toBe(50_000);
    // Any other frame aims at its share and a quarter of the rest.
    expect(frameTarget(quiet, 100_000, 10, false)).toBe(10_000 + 10_000);
  });

  it('earns nothing from a clock that goes back', () => {
    const state = spend(newBucket(100_000, 10, 1_000_000), 100_000, 10_000);
    const rewound = advance(state, 100_000, 0);
    expect(rewound.tokens).toBe(0);
    expect(rewound.atUs).toBe(1_000_000);
    expect(allowance(rewound, 100_000)).toBe(0);
  });

  it('bounds the debt of a frame sent over its allowance at one second of the rate', () => {
    const state = spend(newBucket(10_000, 10, 0), 10_000, 1_000_000);
    expect(state.tokens).toBe(-10_000);
    expect(allowance(advance(state, 10_000, 1_500_000), 10_000)).toBe(5_000);
  });

  it('takes one frame interval per frame as its clock when frames carry no timestamp', () => {
    expect(frameClockUs(undefined, undefined, 25)).toBe(0);
    const state = newBucket(1_000, 25, 80_000);
    expect(frameClockUs(state, undefined, 25)).toBe(120_000);
    expect(frameClockUs(state, 5, 25)).toBe(5);
  });

  it('lets the frame after a dropped one aim at all it holds, until a frame sends again', () => {
    const rate = 100_000;
    const full = advance(newBucket(rate, 20, 0), rate, 1_000_000);
    const share = frameTarget(full, rate, 20, false);
    expect(share).toBeLessThan(allowance(full, rate));
    const missed = advance(markMissed(full), rate, 1_050_000);
    expect(frameTarget(missed, rate, 20, false)).toBe(allowance(missed, rate));
    const sent = advance(spend(missed, rate, 10_000), rate, 1_100_000);
    expect(sent.missed).toBeUndefined();
    expect(frameTarget(sent, rate, 20, false)).toBeLessThan(allowance(sent, rate));
    expect(bucketStateSchema.parse(JSON.parse(JSON.stringify(missed)))).toEqual(missed);
  });

  it('reads back its JSON form and refuses a malformed one', () => {
    const state = spend(newBucket(1_000, 1, 7), 1_000, 300);
    expect(bucketStateSchema.parse(JSON.parse(JSON.stringify(state)))).toEqual(state);
    expect(bucketStateSchema.safeParse({ tokens: 'x', atUs: 0, sent: [] }).success).toBe(false);
    expect(
      bucketStateSchema.safeParse({ tokens: 1, atUs: 0, sent: [{ atUs: 0, bytes: -1 }] }).success,
    ).toBe(false);
  });
});
