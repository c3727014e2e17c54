import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  bucketValueMs,
  histogramPercentile,
  LATENCY_HISTOGRAM,
  LATENCY_PERCENTILE_RELATIVE_ERROR,
  latencyBucket,
} from '../../../../functions/core/dashboard/latency-histogram.ts';

/** Exact nearest-rank percentile of raw samples. */
function exactPercentile(samples: number[], p: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)] as number;
}

function histogramOf(samples: number[]) {
  const counts = new Map<number, number>();
  for (const ms of samples) counts.set(latencyBucket(ms), (counts.get(latencyBucket(ms)) ?? 0) + 1);
  return [...counts].map(([bucket, frames]) => ({ bucket, frames }));
}

describe('the latency histogram', () => {
  it('puts sub-floor latencies in bucket 0 and caps the top at the last bucket', () => {
    expect(latencyBucket(0)).toBe(0);
    expect(latencyBucket(0.099)).toBe(0);
    expect(latencyBucket(0.1)).toBe(1);
    expect(latencyBucket(1e9)).toBe(LATENCY_HISTOGRAM.lastBucket);
  });

  it('reports percentiles within the stated relative error of the exact value', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: 0.2, max: 20_000, noNaN: true }), {
          minLength: 1,
          maxLength: 400,
        }),
        fc.constantFrom(50, 95, 99),
        (samples, p) => {
          const exact = exactPercentile(samples, p);
          const approx = histogramPercentile(histogramOf(samples), p) as number;
          expect(Math.abs(approx - exact) / exact).toBeLessThanOrEqual(
            LATENCY_PERCENTILE_RELATIVE_ERROR + 1e-9,
          );
        },
      ),
    );
  });

  it('has a stated error of 2.5 % for growth 1.05', () => {
    expect(LATENCY_PERCENTILE_RELATIVE_ERROR).toBeCloseTo(0.0247, 4);
  });

  it('merges bins of the same bucket and ignores their order', () => {
    const bins = [
      { bucket: 60, frames: 3 },
      { bucket: 10, frames: 5 },
      { bucket: 60, frames: 2 },
    ];
    expect(histogramPercentile(bins, 50)).toBe(bucketValueMs(10));
    expect(histogramPercentile(bins, 95)).toBe(bucketValueMs(60));
  });

  it('has no percentile without frames', () => {
    expect(histogramPercentile([], 95)).toBeNull();
    expect(histogramPercentile([{ bucket: 3, frames: 0 }], 95)).toBeNull();
  });
});
