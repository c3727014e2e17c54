import { describe, expect, it } from 'vitest';
import type { NetworkProfile } from '../../../bench/compress-support.ts';
import {
  floorCandidates,
  largestBucketFrame,
  type MeasuredEncoding,
  smallestAtSsim,
  smallestByKind,
  stillFloor,
} from '../../../bench/temporal-floor.ts';
import {
  type RunResult,
  type SessionMeasures,
  splitByFloor,
  stillGoals,
} from '../../../bench/temporal-goals.ts';
import { QUALITY_GRID, usableScales } from '../../../functions/core/engine/candidates.ts';
import { usableBytesPerSecond } from '../../../functions/core/network/budget.ts';
import { BURST_SECONDS } from '../../../functions/core/temporal/bit-bucket.ts';

/** The benchmark's three profiles: their bursts are 263 kB, 78.9 kB and 21 kB. */
const FAST: NetworkProfile = { name: 'fast', bandwidthKbps: 5000, packetLossPercent: 1, fps: 30 };
const MID: NetworkProfile = { name: 'mid', bandwidthKbps: 1500, packetLossPercent: 1, fps: 20 };
const SLOW: NetworkProfile = { name: 'slow', bandwidthKbps: 400, packetLossPercent: 1, fps: 10 };
const PROFILES = [FAST, MID, SLOW];

/** A measured encoding of the lossy grid, e.g. `lossy('jpeg', 20, 1, ...)` for `jpeg q20 x1`. */
const lossy = (format: string, quality: number, scale: number, bytes: number, ssim: number) =>
  ({
    candidate: `${format} q${quality} x${scale}`,
    kind: format,
    ladder: false,
    scale,
    bytes,
    ssim,
  }) satisfies MeasuredEncoding;

/** A measured step of the screen ladder, e.g. `step('png palette 16', ...)`. */
const step = (kind: string, bytes: number, ssim: number) =>
  ({
    candidate: `${kind} x1`,
    kind,
    ladder: true,
    scale: 1,
    bytes,
    ssim,
  }) satisfies MeasuredEncoding;

/** A still page whose smallest encoding at 0.99 is 47.2 kB of JPEG. */
const MEASURED: MeasuredEncoding[] = [
  step('webp lossless', 169_224, 1),
  step('png palette 16', 47_241, 0.9992),
  lossy('jpeg', 20, 1, 47_198, 0.9948),
  lossy('webp', 20, 1, 53_422, 0.9975),
  lossy('webp', 20, 0.75, 31_734, 0.982),
  lossy('jpeg', 95, 1, 186_546, 0.9999),
];

describe('the floor of a sharp still screen', () => {
  it("allows one frame the bucket's burst of the usable rate, in whole bytes", () => {
    expect(largestBucketFrame(SLOW)).toBe(Math.floor(usableBytesPerSecond(SLOW) * BURST_SECONDS));
    expect(largestBucketFrame(SLOW)).toBe(21_037);
  });

  it('takes the smallest encoding at or above the threshold, ignoring smaller ones below it', () => {
    expect(smallestAtSsim(MEASURED, 0.99)?.candidate).toBe('jpeg q20 x1');
    expect(smallestAtSsim(MEASURED, 0.999)?.candidate).toBe('png palette 16 x1');
    expect(smallestAtSsim(MEASURED, 0.98)?.candidate).toBe('webp q20 x0.75');
    expect(smallestAtSsim(MEASURED, 1)?.candidate).toBe('webp lossless x1');
  });

  it('counts an encoding exactly at the threshold as reaching it', () => {
    expect(smallestAtSsim([lossy('jpeg', 50, 1, 10, 0.99)], 0.99)?.bytes).toBe(10);
  });

  it('is reachable where the smallest sharp encoding fits in the largest frame, not elsewhere', () => {
    const floor = stillFloor(MEASURED, PROFILES, 0.99);
    expect(floor.smallest?.bytes).toBe(47_198);
    expect(floor.profiles.map((p) => [p.profile.name, p.reachable])).toEqual([
      ['fast', true],
      ['mid', true],
      ['slow', false],
    ]);
  });

  it('is reachable when the smallest sharp encoding is exactly the largest frame', () => {
    const exact = lossy('jpeg', 20, 1, largestBucketFrame(SLOW), 0.995);
    expect(stillFloor([exact], [SLOW], 0.99).profiles[0]?.reachable).toBe(true);
    const over = { ...exact, bytes: exact.bytes + 1 };
    expect(stillFloor([over], [SLOW], 0.99).profiles[0]?.reachable).toBe(false);
  });

  it('is reachable nowhere when no encoding reaches the threshold', () => {
    const floor = stillFloor([lossy('jpeg', 95, 1, 1000, 0.98)], PROFILES, 0.99);
    expect(floor.smallest).toBeUndefined();
    expect(floor.profiles.every((p) => !p.reachable)).toBe(true);
  });

  it('lists the smallest sharp encoding of each kind, smallest first', () => {
    const kinds = smallestByKind(MEASURED, 0.99).map((e) => e.candidate);
    expect(kinds).toEqual(['jpeg q20 x1', 'png palette 16 x1', 'webp q20 x1', 'webp lossless x1']);
  });

  it('tries the whole screen ladder and the whole lossy grid of the allowed formats', () => {
    const frame = { width: 1280, height: 720 };
    const candidates = floorCandidates(frame, ['jpeg', 'webp']);
    const ladder = candidates.filter((c) => 'encoding' in c);
    expect(ladder).toHaveLength(5);
    const lossy = candidates.length - ladder.length;
    expect(lossy).toBe(2 * QUALITY_GRID.length * usableScales(frame).length);
  });
});

/**
 * One session's measures; only the still screen's settle times and budget shares matter here. The
 * edited region settles as the whole frame does unless `edit` says otherwise.
 */
function measures(
  worstSettleMs: number,
  settledBudgetShare: number,
  edit = { worstSettleMs, settledBudgetShare },
): SessionMeasures {
  return {
    frames: 10,
    meanSsim: 0.99,
    totalBytes: 1000,
    peakRateShare: 1,
    imagesSent: 1,
    statuses: { success: 1, fallback: 0, dropped: 0, unchanged: 9 },
    worstSettleMs,
    worstEditSettleMs: edit.worstSettleMs,
    settledBytesPerFrame: 10,
    settledBudgetShare,
    editSettledBytesPerFrame: 10,
    editSettledBudgetShare: edit.settledBudgetShare,
  };
}

const run = (profile: NetworkProfile, temporal: SessionMeasures): RunResult => ({
  sequence: 'static-screen',
  profile,
  perFrame: measures(Number.POSITIVE_INFINITY, Number.NaN),
  temporal,
});

describe("the still screen's goals against the floor", () => {
  const floor = stillFloor(MEASURED, PROFILES, 0.99);
  const never = measures(Number.POSITIVE_INFINITY, Number.NaN);
  const sharp = measures(300, 0.001);

  it('leave out only the profiles below the floor, and name their floor', () => {
    const { counted, excluded } = splitByFloor(
      [run(FAST, sharp), run(MID, sharp), run(SLOW, never)],
      floor,
    );
    expect(counted.map((r) => r.profile.name)).toEqual(['fast', 'mid']);
    expect(excluded).toEqual([
      'slow excluded: smallest 0.99 encoding 47.2 kB > 21 kB the bucket allows',
    ]);
  });

  it('are met when every reachable profile meets them, whatever happens below the floor', () => {
    const goals = stillGoals([run(FAST, sharp), run(MID, sharp), run(SLOW, never)], floor);
    expect(goals.map((g) => g.met)).toEqual([true, true, undefined]);
    for (const goal of goals) expect(goal.measured).toContain('slow excluded: smallest 0.99');
  });

  it('count a screen as there only once its edits are sharp too, and give the whole frame alone a row without a verdict', () => {
    const editNeverSharp = measures(300, 0.001, {
      worstSettleMs: Number.POSITIVE_INFINITY,
      settledBudgetShare: Number.NaN,
    });
    const goals = stillGoals([run(FAST, sharp), run(MID, editNeverSharp)], floor);
    expect(goals.map((g) => g.met)).toEqual([false, false, undefined]);
    expect(goals[0]?.measured).toMatch(/^not reached \(mid\)/);
    expect(goals[2]?.measured).toMatch(/^300 ms \((fast|mid)\), then 0.10 %/);
  });

  it('charge the refinements that sharpen an edit to the whole-frame row only', () => {
    const refinedAfter = measures(300, 0.2, { worstSettleMs: 450, settledBudgetShare: 0 });
    const goals = stillGoals([run(FAST, sharp), run(MID, refinedAfter)], floor);
    expect(goals.map((g) => g.met)).toEqual([true, true, undefined]);
    expect(goals[0]?.measured).toMatch(/^450 ms \(mid\)/);
    expect(goals[2]?.measured).toMatch(/then 20.00 %/);
  });

  it('still fail where the page is reachable but never becomes sharp', () => {
    const goals = stillGoals([run(FAST, sharp), run(MID, never), run(SLOW, sharp)], floor);
    expect(goals.map((g) => g.met)).toEqual([false, false, undefined]);
    expect(goals[0]?.measured).toMatch(/^not reached \(mid\)/);
  });

  it('have no verdict when every profile is below the floor', () => {
    const nothing = stillFloor([step('webp lossless', 10_000_000, 1)], PROFILES, 0.99);
    const goals = stillGoals([run(FAST, sharp), run(MID, sharp), run(SLOW, sharp)], nothing);
    expect(goals.map((g) => g.met)).toEqual([undefined, undefined]);
    expect(goals[0]?.measured).toMatch(/^every profile excluded: fast excluded/);
  });

  it('count a profile the floor did not measure', () => {
    const other = { ...FAST, name: 'other' };
    const goals = stillGoals([run(other, never), run(SLOW, never)], floor);
    expect(goals.map((g) => g.met)).toEqual([false, false, undefined]);
  });
});
