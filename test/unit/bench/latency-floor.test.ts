import { describe, expect, it } from 'vitest';
import { cheapestValid, type GridEntry } from '../../../bench/latency-floor.ts';

const entry = (quality: number, bytes: number, ssim: number, ms: number): GridEntry => ({
  candidate: { format: 'jpeg', quality, scale: 1, width: 1280, height: 720 },
  bytes,
  ssim,
  encodeMs: ms,
  measureMs: 1,
});

describe('the latency floor', () => {
  it('is the quickest encode that fits the budget and meets the quality floor', () => {
    const grid = [
      entry(20, 900, 0.8, 1), // below the quality floor
      entry(30, 2000, 0.9, 2), // over the budget
      entry(40, 950, 0.86, 6),
      entry(50, 990, 0.88, 4),
    ];
    expect(cheapestValid(grid, 1000, 0.85)?.candidate.quality).toBe(50);
  });

  it('counts the measurement with the encode', () => {
    const grid = [
      { ...entry(40, 500, 0.9, 3), measureMs: 5 },
      { ...entry(50, 600, 0.9, 4), measureMs: 1 },
    ];
    expect(cheapestValid(grid, 1000, 0.85)?.candidate.quality).toBe(50);
  });

  it('is undefined when no encode can meet the budget', () => {
    expect(cheapestValid([entry(20, 2000, 0.9, 1)], 1000, 0.85)).toBeUndefined();
  });
});
