import { describe, expect, it } from 'vitest';
import { latencyBucket } from '../../../../functions/core/dashboard/latency-histogram.ts';
import {
  bandwidthSavings,
  performanceSummary,
  qualityDistribution,
  type WindowTotals,
} from '../../../../functions/core/dashboard/statistics.ts';

const empty: WindowTotals = {
  from: new Date('2025-06-01T10:00:00Z'),
  to: new Date('2025-06-02T10:00:00Z'),
  frames: 0,
  fallbacks: 0,
  dropped: 0,
  unchanged: 0,
  withinBudget: 0,
  bytesIn: 0,
  bytesOut: 0,
  ssimFrames: 0,
  ssimSum: 0,
  latencyMsSum: 0,
  bands: {
    excellent: { frames: 0, ssimSum: 0 },
    good: { frames: 0, ssimSum: 0 },
    fair: { frames: 0, ssimSum: 0 },
    poor: { frames: 0, ssimSum: 0 },
  },
};

const totals: WindowTotals = {
  ...empty,
  frames: 4,
  fallbacks: 1,
  withinBudget: 3,
  bytesIn: 4_000_000_000,
  bytesOut: 1_000_000_000,
  ssimFrames: 4,
  ssimSum: 3.72,
  latencyMsSum: 40,
  bands: {
    ...empty.bands,
    excellent: { frames: 1, ssimSum: 0.96 },
    good: { frames: 3, ssimSum: 2.76 },
  },
};

describe('the dashboard figures', () => {
  it('derive ratio and savings from byte sums', () => {
    const summary = performanceSummary(24, totals, [{ bucket: latencyBucket(10), frames: 4 }]);
    expect(summary).toMatchObject({
      frames: 4,
      bytes_saved: 3_000_000_000,
      avg_compression_ratio: 0.75,
      avg_savings_percent: 75,
      fallback_rate: 0.25,
      within_budget_rate: 0.75,
      avg_ssim: 0.93,
      avg_latency_ms: 10,
    });
    expect(summary.latency_p95_ms).toBeCloseTo(10, 0);
  });

  it('count dropped frames among the frames, with no SSIM and no bytes out', () => {
    // One more frame, dropped: its input counts, nothing went out, and it has no SSIM.
    const withDrop: WindowTotals = {
      ...totals,
      frames: 5,
      dropped: 1,
      withinBudget: 4,
      bytesIn: 5_000_000_000,
      latencyMsSum: 50,
    };
    const summary = performanceSummary(24, withDrop, [{ bucket: latencyBucket(10), frames: 5 }]);
    expect(summary).toMatchObject({
      frames: 5,
      fallbacks: 1,
      fallback_rate: 0.2,
      dropped: 1,
      dropped_rate: 0.2,
      within_budget_rate: 0.8,
      bytes_out: 1_000_000_000,
      avg_ssim: 0.93,
      avg_latency_ms: 10,
    });
    expect(performanceSummary(24, totals, [])).toMatchObject({ dropped: 0, dropped_rate: 0 });
    expect(performanceSummary(24, empty, [])).toMatchObject({ dropped: 0, dropped_rate: null });
  });

  it('count unchanged frames among the frames: within budget, the whole original saved', () => {
    // Four more frames of 1 GB each, unchanged: nothing went out, each is within its budget, and
    // each has the SSIM of the viewer's image against it (0.99, excellent).
    const withUnchanged: WindowTotals = {
      ...totals,
      frames: 8,
      unchanged: 4,
      withinBudget: 7,
      bytesIn: 8_000_000_000,
      ssimFrames: 8,
      ssimSum: 3.72 + 4 * 0.99,
      latencyMsSum: 80,
      bands: { ...totals.bands, excellent: { frames: 5, ssimSum: 0.96 + 4 * 0.99 } },
    };
    const summary = performanceSummary(24, withUnchanged, [
      { bucket: latencyBucket(10), frames: 8 },
    ]);
    expect(summary).toMatchObject({
      frames: 8,
      fallbacks: 1,
      fallback_rate: 0.125,
      dropped: 0,
      dropped_rate: 0,
      unchanged: 4,
      unchanged_rate: 0.5,
      within_budget_rate: 0.875,
      bytes_out: 1_000_000_000,
      bytes_saved: 7_000_000_000,
      avg_compression_ratio: 0.875,
      avg_ssim: 0.96,
      avg_latency_ms: 10,
    });
    expect(bandwidthSavings(7, null, withUnchanged, 0.09)).toMatchObject({
      frames: 8,
      bytes_saved: 7_000_000_000,
      avg_savings_percent: 87.5,
    });
    expect(performanceSummary(24, totals, [])).toMatchObject({ unchanged: 0, unchanged_rate: 0 });
    expect(performanceSummary(24, empty, [])).toMatchObject({
      unchanged: 0,
      unchanged_rate: null,
    });
  });

  it('price the saved gigabytes at the configured rate', () => {
    expect(bandwidthSavings(7, null, totals, 0.09)).toMatchObject({
      bytes_saved: 3_000_000_000,
      saved_mb: 3000,
      saved_gb: 3,
      avg_savings_percent: 75,
      estimated_cost_saved_usd: 0.27,
    });
  });

  it('give null averages, not zero or NaN, without frames', () => {
    const summary = performanceSummary(24, empty, []);
    expect(summary).toMatchObject({
      frames: 0,
      fallback_rate: null,
      avg_compression_ratio: null,
      avg_ssim: null,
      latency_p50_ms: null,
      latency_p95_ms: null,
    });
    const quality = qualityDistribution(7, empty);
    expect(quality.bands.every((band) => band.percent === null && band.avg_ssim === null)).toBe(
      true,
    );
  });

  it('list the bands best first with their share of measured frames', () => {
    expect(qualityDistribution(7, totals).bands).toEqual([
      { band: 'excellent', min_ssim: 0.95, frames: 1, percent: 25, avg_ssim: 0.96 },
      { band: 'good', min_ssim: 0.9, frames: 3, percent: 75, avg_ssim: 0.92 },
      { band: 'fair', min_ssim: 0.8, frames: 0, percent: 0, avg_ssim: null },
      { band: 'poor', min_ssim: null, frames: 0, percent: 0, avg_ssim: null },
    ]);
  });
});
