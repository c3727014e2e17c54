import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { OutputFormat } from '../../../../functions/core/contracts/config.ts';
import {
  candidateKey,
  enumerateCandidates,
  MIN_OUTPUT_HEIGHT,
  MIN_OUTPUT_WIDTH,
  QUALITY_GRID,
  SCALE_LADDER,
  usableScales,
} from '../../../../functions/core/engine/candidates.ts';

const frames = fc.record({
  width: fc.integer({ min: 160, max: 3840 }),
  height: fc.integer({ min: 90, max: 2160 }),
});
const formatSets = fc.subarray<OutputFormat>(['jpeg', 'webp', 'avif'], { minLength: 1 });

describe('candidate grid', () => {
  it('spans qualities 20 to 95 and five scales from 1 down to a quarter', () => {
    expect(QUALITY_GRID).toEqual([20, 25, 30, 35, 40, 45, 50, 55, 60, 65, 70, 75, 80, 85, 90, 95]);
    expect(SCALE_LADDER).toEqual([1, 0.75, 0.5, 0.375, 0.25]);
  });

  it('keeps every scale for 720p and only scale 1 for a 160x90 frame', () => {
    expect(usableScales({ width: 1280, height: 720 })).toEqual(SCALE_LADDER);
    expect(usableScales({ width: 640, height: 360 })).toEqual(SCALE_LADDER);
    expect(usableScales({ width: 160, height: 90 })).toEqual([1]);
    expect(usableScales({ width: 320, height: 180 })).toEqual([1, 0.75, 0.5]);
  });

  it('enumerates format x quality x usable scale, allowed formats only, each once', () => {
    fc.assert(
      fc.property(frames, formatSets, (frame, formats) => {
        const grid = enumerateCandidates(frame, formats);
        expect(grid).toHaveLength(
          formats.length * QUALITY_GRID.length * usableScales(frame).length,
        );
        expect(new Set(grid.map(candidateKey)).size).toBe(grid.length);
        for (const c of grid) expect(formats).toContain(c.format);
      }),
    );
  });

  it('never produces a downscaled output under 160x90', () => {
    fc.assert(
      fc.property(frames, formatSets, (frame, formats) => {
        for (const c of enumerateCandidates(frame, formats)) {
          expect(c.width).toBeGreaterThanOrEqual(MIN_OUTPUT_WIDTH);
          expect(c.height).toBeGreaterThanOrEqual(MIN_OUTPUT_HEIGHT);
          expect(c.width).toBe(Math.round(frame.width * c.scale));
          expect(c.height).toBe(Math.round(frame.height * c.scale));
        }
      }),
    );
  });

  it('is empty when the policy allows no format', () => {
    expect(enumerateCandidates({ width: 640, height: 360 }, [])).toEqual([]);
  });
});
