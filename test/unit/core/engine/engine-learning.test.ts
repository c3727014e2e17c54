import { describe, expect, it } from 'vitest';
import { networkBytesPerFrame } from '../../../../functions/core/network/budget.ts';
import type { FakeContent } from './fake-port.ts';
import { drifting, type FrameOutcome, mean, runSession } from './session.ts';

const PROFILES = [
  { name: '5 Mbps at 30 fps', bandwidthKbps: 5000, fps: 30 },
  { name: '1.5 Mbps at 20 fps', bandwidthKbps: 1500, fps: 20 },
  { name: '400 kbps at 10 fps', bandwidthKbps: 400, fps: 10 },
] as const;

const CONTENTS: Record<string, FakeContent> = {
  plain: { complexity: -0.8, detail: -0.5, scaleLoss: 0.8, seed: 11 },
  typical: { complexity: 0, detail: 0, scaleLoss: 1, seed: 42 },
  busy: { complexity: 0.8, detail: 0.5, scaleLoss: 1.3, seed: 7 },
};

function encodesPerFrame(frames: readonly FrameOutcome[]): number {
  return mean(frames.map((f) => f.decision.encodeAttempts));
}

/** Mean of chosen SSIM over the oracle's, on frames where the oracle has a choice. */
function oracleRatio(frames: readonly FrameOutcome[]): number {
  return mean(
    frames
      .filter((f) => f.oracle !== undefined)
      .map((f) => (f.decision.chosen?.ssim ?? 0) / (f.oracle?.chosen.ssim ?? 1)),
  );
}

/** Share of frames within budget among those where the oracle found an in-budget encoding. */
function withinBudgetWhereFeasible(frames: readonly FrameOutcome[]): number {
  const feasible = frames.filter((f) => f.oracle?.withinBudget);
  return feasible.filter((f) => f.decision.withinBudget).length / feasible.length;
}

describe('predictive compression over a session', () => {
  for (const profile of PROFILES) {
    it(`needs at most 1.5 encodes per frame after ten frames at ${profile.name}`, async () => {
      const budgetBytes = networkBytesPerFrame({ ...profile, packetLossPercent: 1 });
      const all: FrameOutcome[] = [];
      for (const [width, height] of [
        [640, 360],
        [1280, 720],
      ] as const) {
        for (const content of Object.values(CONTENTS)) {
          const frames = await runSession({
            width,
            height,
            frames: 50,
            budgetBytes,
            content: drifting(content),
          });
          all.push(...frames.slice(10));
        }
      }
      expect(encodesPerFrame(all)).toBeLessThanOrEqual(1.5);
      expect(oracleRatio(all)).toBeGreaterThanOrEqual(0.97);
      expect(withinBudgetWhereFeasible(all)).toBeGreaterThanOrEqual(0.98);
    });
  }

  it('takes one encode for most frames of a steady session, close to the oracle', async () => {
    const frames = await runSession({
      width: 1280,
      height: 720,
      frames: 50,
      budgetBytes: 20_000,
      content: drifting(CONTENTS.typical as FakeContent),
    });
    const later = frames.slice(10);
    expect(encodesPerFrame(later)).toBeLessThanOrEqual(1.5);
    expect(later.filter((f) => f.decision.encodeAttempts === 1).length).toBeGreaterThan(30);
    expect(oracleRatio(later)).toBeGreaterThanOrEqual(0.97);
    expect(later.every((f) => f.decision.withinBudget)).toBe(true);
    // The first frames cost more: that is the learning.
    expect(encodesPerFrame(frames.slice(0, 2))).toBeGreaterThan(encodesPerFrame(later));
  });

  it('recovers within a few frames after a scene cut', async () => {
    const calm = drifting({ complexity: -0.6, detail: -0.4, scaleLoss: 0.9, seed: 3 });
    const busy = drifting({ complexity: 0.5, detail: 0.2, scaleLoss: 1.2, seed: 4 });
    const frames = await runSession({
      width: 1280,
      height: 720,
      frames: 50,
      budgetBytes: 20_000,
      content: (i) => (i < 25 ? calm(i) : busy(i)),
    });
    const afterCut = frames.slice(25);
    // The cut frame pays for the surprise; from the next frame on the session is settled again.
    expect(afterCut[0]?.decision.encodeAttempts).toBeLessThanOrEqual(3);
    const settled = afterCut.slice(1);
    expect(encodesPerFrame(settled)).toBeLessThanOrEqual(1.5);
    expect(oracleRatio(settled)).toBeGreaterThanOrEqual(0.97);
    expect(withinBudgetWhereFeasible(settled)).toBeGreaterThanOrEqual(0.98);
    expect(afterCut.every((f) => f.decision.status === 'success')).toBe(true);
  });

  it('keeps screen content legible at scale 1 over a session when the budget allows it', async () => {
    const frames = await runSession({
      width: 1280,
      height: 720,
      frameType: 'screen',
      frames: 30,
      budgetBytes: 120_000,
      content: drifting({ complexity: -1, detail: -0.5, scaleLoss: 1.6, seed: 5 }),
    });
    for (const f of frames) {
      if (f.oracle?.withinBudget && f.oracle.chosen.candidate.scale === 1) {
        expect(f.decision.chosen?.candidate.scale).toBe(1);
      }
    }
    expect(encodesPerFrame(frames.slice(10))).toBeLessThanOrEqual(1.5);
  });

  it('encodes each screen ladder step once, not on every frame, when a busy screen codes far over the budget with it', async () => {
    const frames = await runSession({
      width: 1280,
      height: 720,
      frameType: 'screen',
      frames: 12,
      budgetBytes: 20_000,
      content: drifting({ complexity: 0.3, detail: 0, scaleLoss: 1.2, seed: 9 }),
    });
    const ladderEncodes = frames.flatMap((f) =>
      f.decision.trials.filter((t) => 'encoding' in t.candidate),
    );
    const steps = ladderEncodes.map((t) => JSON.stringify(t.candidate));
    expect(ladderEncodes.length).toBeGreaterThan(0);
    expect(new Set(steps).size).toBe(steps.length);
    for (const t of ladderEncodes) expect(t.encoded?.bytes).toBeGreaterThan(1.5 * 20_000);
    expect(frames.slice(4).every((f) => f.decision.status === 'success')).toBe(true);
  });
});
