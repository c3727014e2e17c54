import { describe, expect, it } from 'vitest';
import type { NetworkProfile } from '../../../bench/compress-support.ts';
import type { ProfileCeiling } from '../../../bench/temporal-ceiling.ts';
import type { QualityFloor } from '../../../bench/temporal-floor.ts';
import {
  belowCeiling,
  nothingFits,
  type RunResult,
  reallocationBound,
  type SessionMeasures,
  screenGoal,
  videoGoal,
} from '../../../bench/temporal-goals.ts';
import { NOT_STILL, nextScale, scaledProfile } from '../../../bench/temporal-session.ts';

const FAST: NetworkProfile = { name: 'fast', bandwidthKbps: 5000, packetLossPercent: 1, fps: 30 };
const MID: NetworkProfile = { name: 'mid', bandwidthKbps: 1500, packetLossPercent: 1, fps: 20 };

/** A session's measures; only its mean viewer SSIM and its bytes matter here. */
function session(meanSsim: number, totalBytes: number): SessionMeasures {
  return {
    frames: 10,
    meanSsim,
    totalBytes,
    peakRateShare: 1,
    imagesSent: totalBytes > 0 ? 10 : 0,
    statuses: { success: 10, fallback: 0, dropped: 0, unchanged: 0 },
    ...NOT_STILL,
  };
}

/** A scrolling-page run: the per-frame engine, the temporal server at full rate and at `scale`. */
function screenRun(
  profile: NetworkProfile,
  perFrame: SessionMeasures,
  temporal: SessionMeasures,
  equalBytes?: { scale: number; measures: SessionMeasures },
): RunResult {
  const scaled = equalBytes && {
    ...equalBytes,
    bandwidthKbps: profile.bandwidthKbps * equalBytes.scale,
  };
  return { sequence: 'scrolling-page', profile, perFrame, temporal, equalBytes: scaled };
}

/** The ceiling of the scrolling page under the profile named `profile`. */
function ceilingAt(
  profile: string,
  meanSsim: number,
  budgetBytes: number,
  evenSplitSsim = meanSsim - 0.01,
): ProfileCeiling {
  const within = { lambda: 1e-6, ssimSum: meanSsim * 10, bytes: budgetBytes, sent: 10 };
  const ceiling = {
    frames: 10,
    budgetBytes,
    meanSsim,
    within,
    leftOutBytes: 30_000,
    evenSplitSsim,
  };
  return { sequence: 'scrolling-page', profile, ceiling, windowFrames: 30, olderMargin: 0.1 };
}

/** A 1280x720 page whose smallest encoding at SSIM 0.85 is 9.8 kB. */
const QUALITY: QualityFloor = {
  sequence: 'scrolling-page',
  quality: 0.85,
  originalBytes: 400_000,
  smallest: {
    candidate: 'jpeg q20 x0.5',
    kind: 'jpeg',
    ladder: false,
    scale: 0.5,
    bytes: 9_800,
    ssim: 0.86,
  },
  smallestFullScale: undefined,
};

describe('the equal-bytes run of the temporal server', () => {
  it('is not run again when the full-rate run sent no more than the per-frame engine', () => {
    expect(nextScale(1, 900, 1000)).toBeUndefined();
    expect(nextScale(1, 1000, 1000)).toBeUndefined();
  });

  it('scales the bandwidth by the byte ratio, aiming a little below the limit', () => {
    expect(nextScale(1, 2000, 1000)).toBeCloseTo(0.49, 10);
    expect(nextScale(0.5, 1100, 1000)).toBeCloseTo((0.5 * 0.98) / 1.1, 10);
  });

  it("keeps the profile's name, loss and frame rate at the scaled bandwidth", () => {
    expect(scaledProfile(FAST, 0.5)).toEqual({ ...FAST, bandwidthKbps: 2500 });
  });
});

describe('the screen goal at no more bytes', () => {
  it('is judged on the equal-bytes run, not the full-rate one', () => {
    const runs = [
      screenRun(FAST, session(0.79, 1_000_000), session(0.85, 1_700_000), {
        scale: 0.58,
        measures: session(0.83, 990_000),
      }),
    ];
    const goal = screenGoal('scrolling-page', runs, QUALITY);
    expect(goal.met).toBe(true);
    expect(goal.measured).toMatch(
      /^\+0\.0400 \(fast, the temporal server at x0\.58 the bandwidth\)/,
    );
    expect(goal.measured).toContain('there at the full rate: +0.0600 at 1.70x the bytes');
  });

  it('fails when the equal-bytes run still sends more, or gains too little', () => {
    const over = screenRun(FAST, session(0.79, 1_000_000), session(0.85, 1_700_000), {
      scale: 0.5,
      measures: session(0.83, 1_010_000),
    });
    const flat = screenRun(MID, session(0.79, 1_000_000), session(0.8, 900_000), {
      scale: 1,
      measures: session(0.8, 900_000),
    });
    expect(screenGoal('scrolling-page', [over], QUALITY).met).toBe(false);
    expect(screenGoal('scrolling-page', [flat], QUALITY).met).toBe(false);
  });

  it('leaves out a profile where the per-frame engine sent nothing, and names its floor', () => {
    const sent = screenRun(FAST, session(0.79, 1_000_000), session(0.85, 900_000), {
      scale: 1,
      measures: session(0.85, 900_000),
    });
    const nothing = screenRun(MID, session(0, 0), session(0.69, 700_000));
    const goal = screenGoal('scrolling-page', [sent, nothing], QUALITY);
    expect(goal.met).toBe(true);
    expect(goal.measured).toContain(
      "mid excluded: the per-frame engine sent nothing (smallest encoding at SSIM >= 0.85 9.8 kB (jpeg q20 x0.5) > 7.89 kB a frame's budget)",
    );
  });

  it("leaves out a profile where the per-frame engine's bytes as a rate give a bucket too small for any frame", () => {
    // 15.6 kB in 6 s at 20 fps: 1.3 kB a second's half, below the 9.8 kB of the smallest encoding.
    const perFrame = { ...session(0.44, 15_600), frames: 120 };
    const starved = screenRun(MID, perFrame, session(0.72, 777_000), {
      scale: 0.02,
      measures: session(0, 0),
    });
    const goal = screenGoal('scrolling-page', [starved], QUALITY);
    expect(goal.met).toBeUndefined();
    expect(goal.measured).toContain(
      'mid excluded: the per-frame engine sent 15.6 kB in 6.0 s, a rate whose bucket lets a frame carry 1.3 kB, less than the smallest encoding at SSIM >= 0.85 (9.8 kB, jpeg q20 x0.5)',
    );
  });

  it('has no verdict when the per-frame engine sent nothing under every profile', () => {
    const goal = screenGoal(
      'scrolling-page',
      [screenRun(MID, session(0, 0), session(0, 0))],
      QUALITY,
    );
    expect(goal.met).toBeUndefined();
    expect(goal.measured).toMatch(/^every profile excluded: mid excluded/);
  });

  it('leaves out a profile where the ceiling of an intra-only server lies below the gain, and names it', () => {
    const capped = screenRun(FAST, session(0.79, 1_000_000), session(0.8, 900_000), {
      scale: 1,
      measures: session(0.8, 900_000),
    });
    const open = screenRun(MID, session(0.5, 100_000), session(0.6, 90_000), {
      scale: 1,
      measures: session(0.6, 90_000),
    });
    const goal = screenGoal('scrolling-page', [capped, open], QUALITY, [
      ceilingAt('fast', 0.805, 1_000_000),
      ceilingAt('mid', 0.7, 100_000),
    ]);
    expect(goal.met).toBe(true);
    expect(goal.measured).toContain(
      "fast excluded: ceiling +0.0150 at the per-frame engine's bytes (intra-only, engine grid)",
    );
    expect(goal.measured).toMatch(/^\+0\.1000 \(mid,/);
  });

  it('still counts a profile where the ceiling allows the gain', () => {
    const run = screenRun(FAST, session(0.79, 1_000_000), session(0.8, 900_000), {
      scale: 1,
      measures: session(0.8, 900_000),
    });
    const ceiling = ceilingAt('fast', 0.81, 1_000_000);
    expect(belowCeiling(run, [ceiling])).toBeUndefined();
    expect(screenGoal('scrolling-page', [run], QUALITY, [ceiling]).met).toBe(false);
  });

  it("says when the smallest encoding at the quality floor fits a frame's budget", () => {
    expect(nothingFits(QUALITY, FAST)).toMatch(/<= 17\.5 kB a frame's budget$/);
    expect(nothingFits(undefined, FAST)).toBe('not measured');
  });
});

/** A camera-pan run with both servers under the production and an unbound latency budget. */
function videoRun(
  production: { perFrame: number; again: number; temporal: number },
  unbound: { perFrame: number; again: number; temporal: number },
): RunResult {
  return {
    sequence: 'camera-pan',
    profile: MID,
    perFrame: session(production.perFrame, 1000),
    temporal: session(production.temporal, 1000),
    perFrameAgain: production.again,
    unbound: {
      latencyMs: 100,
      perFrame: session(unbound.perFrame, 1000),
      temporal: session(unbound.temporal, 1000),
      perFrameAgain: unbound.again,
    },
  };
}

describe('the bound on moving bytes between frames', () => {
  it("gives the ceiling's lead over an even split under every profile where the ceiling was measured", () => {
    const fast = screenRun(FAST, session(0.79, 1_000_000), session(0.8, 900_000));
    const mid = screenRun(MID, session(0.5, 100_000), session(0.6, 90_000));
    const bound = reallocationBound(
      'scrolling-page',
      [fast, mid],
      [ceilingAt('fast', 0.82, 1_000_000, 0.81), ceilingAt('mid', 0.7, 100_000, 0.6)],
    );
    expect(bound?.measured).toBe('fast: +0.0100; mid: +0.1000');
    expect(bound?.met).toBeUndefined();
  });

  it('is left out where no ceiling was measured', () => {
    const fast = screenRun(FAST, session(0.79, 1_000_000), session(0.8, 900_000));
    expect(reallocationBound('scrolling-page', [fast], [])).toBeUndefined();
  });
});

describe('the video goal', () => {
  it('is judged under the latency budget that never binds', () => {
    const run = videoRun(
      { perFrame: 0.961, again: 0.9586, temporal: 0.9576 },
      { perFrame: 0.9611, again: 0.9611, temporal: 0.9613 },
    );
    const goal = videoGoal('camera-pan', [run]);
    expect(goal.met).toBe(true);
    expect(goal.measured).toMatch(/^\+0\.0002; the per-frame engine against itself: \+0\.0000/);
    expect(goal.measured).toContain('under the production latency budget: -0.0034');
  });

  it('fails when the temporal server is below by more than the tolerance and the noise', () => {
    const run = videoRun(
      { perFrame: 0.96, again: 0.96, temporal: 0.96 },
      { perFrame: 0.961, again: 0.9605, temporal: 0.958 },
    );
    expect(videoGoal('camera-pan', [run]).met).toBe(false);
  });

  it("allows the per-frame engine's own run-to-run difference where larger than the tolerance", () => {
    const run = videoRun(
      { perFrame: 0.96, again: 0.96, temporal: 0.96 },
      { perFrame: 0.961, again: 0.957, temporal: 0.958 },
    );
    expect(videoGoal('camera-pan', [run]).met).toBe(true);
  });
});
