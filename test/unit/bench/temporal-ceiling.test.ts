import { describe, expect, it } from 'vitest';
import {
  CEILING_QUALITIES,
  type CeilingFrame,
  ceilingCandidates,
  ceilingOf,
  dualValue,
  evenSplitOf,
  leftOutBytes,
  pickAt,
  staleBound,
} from '../../../bench/temporal-ceiling.ts';

const send = (bytes: number, ssim: number) => ({ candidate: `${bytes}`, bytes, ssim });

/** The best total SSIM within `budget` by trying every choice: a send or nothing on each frame. */
function bruteForce(frames: readonly CeilingFrame[], budget: number): number {
  let best = Number.NEGATIVE_INFINITY;
  const visit = (i: number, bytes: number, ssim: number) => {
    if (bytes > budget) return;
    const frame = frames[i];
    if (frame === undefined) {
      best = Math.max(best, ssim);
      return;
    }
    visit(i + 1, bytes, ssim + frame.staleBound);
    for (const option of frame.sends) visit(i + 1, bytes + option.bytes, ssim + option.ssim);
  };
  visit(0, 0, 0);
  return best;
}

/** A deterministic pseudo-random generator in [0, 1). */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1_103_515_245 + 12_345) % 2_147_483_648;
    return state / 2_147_483_648;
  };
}

function randomFrames(next: () => number, count: number): CeilingFrame[] {
  return Array.from({ length: count }, () => ({
    staleBound: next() * 0.8,
    sends: Array.from({ length: 3 }, () => send(1 + Math.floor(next() * 20), 0.5 + next() / 2)),
  }));
}

describe('the stale bound', () => {
  it('is the best SSIM of the older images', () => {
    expect(staleBound([0.4, 0.85, 0.6])).toBe(0.85);
  });

  it('is never below 0, what nothing shown scores', () => {
    expect(staleBound([-0.2, -0.1])).toBe(0);
    expect(staleBound([])).toBe(0);
  });
});

describe('the picks at one lambda', () => {
  const frames: CeilingFrame[] = [
    { staleBound: 0, sends: [send(10, 0.9), send(2, 0.8)] },
    { staleBound: 0.7, sends: [send(10, 0.9), send(2, 0.8)] },
  ];

  it('take the best SSIM of every frame at lambda 0', () => {
    expect(pickAt(frames, 0)).toEqual({ lambda: 0, ssimSum: 1.8, bytes: 20, sent: 2 });
  });

  it('give up bytes as lambda grows, down to nothing where the stale image is worth more', () => {
    const picks = pickAt(frames, 0.06);
    expect(picks.bytes).toBe(2);
    expect(picks.sent).toBe(1);
    expect(picks.ssimSum).toBeCloseTo(1.5, 12);
  });
});

describe('the ceiling', () => {
  it('is never below the best schedule within the bytes', () => {
    const next = random(7);
    for (let trial = 0; trial < 40; trial++) {
      const frames = randomFrames(next, 5);
      const budget = Math.floor(next() * 60);
      const ceiling = ceilingOf(frames, budget);
      expect(ceiling.meanSsim * frames.length).toBeGreaterThanOrEqual(
        bruteForce(frames, budget) - 1e-9,
      );
    }
  });

  it('is the LP relaxation: a fractional mix of two sends where the budget falls between them', () => {
    const frames: CeilingFrame[] = [{ staleBound: 0, sends: [send(10, 0.6), send(20, 1)] }];
    // Half of the 20-byte send on top of the 10-byte one: 0.6 + 0.5 x 0.4.
    expect(ceilingOf(frames, 15).meanSsim).toBeCloseTo(0.8, 6);
  });

  it('is every frame at its best where the budget is no constraint', () => {
    const frames: CeilingFrame[] = [
      { staleBound: 0, sends: [send(10, 0.9)] },
      { staleBound: 0.95, sends: [send(10, 0.9)] },
    ];
    const ceiling = ceilingOf(frames, 100);
    expect(ceiling.meanSsim).toBeCloseTo(0.925, 12);
    expect(ceiling.within.bytes).toBe(10);
  });

  it('keeps picks within the budget beside the bound', () => {
    const next = random(11);
    const frames = randomFrames(next, 30);
    const ceiling = ceilingOf(frames, 150);
    expect(ceiling.within.bytes).toBeLessThanOrEqual(150);
    expect(ceiling.meanSsim * frames.length).toBeGreaterThanOrEqual(ceiling.within.ssimSum - 1e-9);
    expect(dualValue(ceiling.within, 150)).toBeGreaterThanOrEqual(
      ceiling.meanSsim * frames.length - 1e-9,
    );
  });

  it('refuses a sequence without frames', () => {
    expect(() => ceilingOf([], 10)).toThrow(RangeError);
  });
});

describe('the even split', () => {
  it('gives each frame the best send within its even share, and 0 where none fits', () => {
    const frames: CeilingFrame[] = [
      { staleBound: 0.9, sends: [send(5, 0.7), send(10, 0.8), send(11, 0.95)] },
      { staleBound: 0.9, sends: [send(12, 0.9)] },
    ];
    expect(evenSplitOf(frames, 20)).toBeCloseTo((0.8 + 0) / 2, 12);
  });

  it('is never above the ceiling of the same frames and bytes', () => {
    const next = random(13);
    for (let trial = 0; trial < 40; trial++) {
      const frames = randomFrames(next, 6);
      const budget = Math.floor(next() * 80);
      const ceiling = ceilingOf(frames, budget);
      expect(ceiling.evenSplitSsim).toBe(evenSplitOf(frames, budget));
      expect(ceiling.evenSplitSsim).toBeLessThanOrEqual(ceiling.meanSsim + 1e-9);
    }
  });

  it('refuses a sequence without frames', () => {
    expect(() => evenSplitOf([], 10)).toThrow(RangeError);
  });
});

describe('the encodings left out of the grid', () => {
  it('could change a pick only below the bytes where SSIM 1 beats the best term', () => {
    const frames: CeilingFrame[] = [{ staleBound: 0, sends: [send(100, 0.8)] }];
    // At lambda 0.001 the best term is 0.8 - 0.1 = 0.7: SSIM 1 must cost under 300 bytes to beat it.
    expect(leftOutBytes(frames, 0.001)).toBeCloseTo(300, 9);
  });

  it('cannot change anything where every frame already scores 1', () => {
    const frames: CeilingFrame[] = [{ staleBound: 1, sends: [send(100, 0.8)] }];
    expect(leftOutBytes(frames, 0)).toBe(Number.POSITIVE_INFINITY);
  });
});

describe("the ceiling's grid", () => {
  it('is the lossy candidates below full scale at qualities 20 to 80', () => {
    const grid = ceilingCandidates({ width: 1280, height: 720 }, ['jpeg', 'webp']);
    expect(new Set(grid.map((c) => c.scale))).toEqual(new Set([0.75, 0.5, 0.375, 0.25]));
    expect(new Set(grid.map((c) => c.quality))).toEqual(new Set(CEILING_QUALITIES));
    expect(grid).toHaveLength(2 * 4 * CEILING_QUALITIES.length);
    expect(grid.find((c) => c.scale === 0.375)).toMatchObject({ width: 480, height: 270 });
  });
});
