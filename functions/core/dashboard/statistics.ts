import {
  type BandwidthSavings,
  BYTES_PER_GB,
  BYTES_PER_MB,
  type PerformanceSummary,
  type QualityDistribution,
  SSIM_BANDS,
  type SsimBand,
} from '../contracts/dashboard.ts';
import { type HistogramBin, histogramPercentile } from './latency-histogram.ts';

/**
 * The dashboard's figures from a window's stored totals. Ratios and savings come from byte sums
 * (saved = sum of original - compressed), never from per-frame rates, so they add up exactly. A
 * dropped or unchanged frame sent 0 bytes: the whole of its original counts as saved.
 */

/** Additive totals of one user's frames over a window, as the repository reads them. */
export interface WindowTotals {
  from: Date;
  to: Date;
  /** Every answered frame, dropped and unchanged ones included. */
  frames: number;
  fallbacks: number;
  /** Frames dropped: nothing was sent for them. */
  dropped: number;
  /** Frames answered `unchanged`: the viewer's image was kept, nothing was sent. */
  unchanged: number;
  withinBudget: number;
  bytesIn: number;
  bytesOut: number;
  /** Frames with an SSIM, and the sum of those SSIMs. */
  ssimFrames: number;
  ssimSum: number;
  latencyMsSum: number;
  bands: Readonly<Record<SsimBand, { frames: number; ssimSum: number }>>;
}

const round = (value: number, digits: number) => Math.round(value * 10 ** digits) / 10 ** digits;

/** `part / whole`, or null when there is no whole. */
const share = (part: number, whole: number, digits = 6) =>
  whole > 0 ? round(part / whole, digits) : null;

const window = (totals: WindowTotals) => ({
  from: totals.from.toISOString(),
  to: totals.to.toISOString(),
});

/** `GET /performance/summary` from the totals and the latency histogram of the last `hours`. */
export function performanceSummary(
  hours: number,
  totals: WindowTotals,
  latency: readonly HistogramBin[],
): PerformanceSummary {
  const ratio = share(totals.bytesIn - totals.bytesOut, totals.bytesIn);
  const percentile = (p: number) => {
    const value = histogramPercentile(latency, p);
    return value === null ? null : round(value, 2);
  };
  return {
    hours,
    ...window(totals),
    frames: totals.frames,
    fallbacks: totals.fallbacks,
    fallback_rate: share(totals.fallbacks, totals.frames),
    dropped: totals.dropped,
    dropped_rate: share(totals.dropped, totals.frames),
    unchanged: totals.unchanged,
    unchanged_rate: share(totals.unchanged, totals.frames),
    within_budget_rate: share(totals.withinBudget, totals.frames),
    bytes_in: totals.bytesIn,
    bytes_out: totals.bytesOut,
    bytes_saved: totals.bytesIn - totals.bytesOut,
    avg_compression_ratio: ratio,
    avg_savings_percent: ratio === null ? null : round(ratio * 100, 4),
    avg_ssim: share(totals.ssimSum, totals.ssimFrames),
    avg_latency_ms: share(totals.latencyMsSum, totals.frames, 3),
    latency_p50_ms: percentile(50),
    latency_p95_ms: percentile(95),
  };
}

/** `GET /stats/bandwidth-savings` over the last `days`, at `costPerGbUsd`. */
export function bandwidthSavings(
  days: number,
  sessionId: string | null,
  totals: WindowTotals,
  costPerGbUsd: number,
): BandwidthSavings {
  const saved = totals.bytesIn - totals.bytesOut;
  const savedGb = saved / BYTES_PER_GB;
  const percent = share(saved, totals.bytesIn, 8);
  return {
    days,
    ...window(totals),
    session_id: sessionId,
    frames: totals.frames,
    bytes_in: totals.bytesIn,
    bytes_out: totals.bytesOut,
    bytes_saved: saved,
    saved_mb: round(saved / BYTES_PER_MB, 6),
    saved_gb: round(savedGb, 9),
    avg_savings_percent: percent === null ? null : round(percent * 100, 4),
    cost_per_gb_usd: costPerGbUsd,
    estimated_cost_saved_usd: round(savedGb * costPerGbUsd, 6),
  };
}

/** `GET /stats/quality-distribution` over the last `days`. */
export function qualityDistribution(days: number, totals: WindowTotals): QualityDistribution {
  return {
    days,
    ...window(totals),
    frames: totals.frames,
    measured_frames: totals.ssimFrames,
    bands: SSIM_BANDS.map(({ band, min_ssim }) => {
      const { frames, ssimSum } = totals.bands[band];
      const percent = share(frames, totals.ssimFrames, 8);
      return {
        band,
        min_ssim,
        frames,
        percent: percent === null ? null : round(percent * 100, 4),
        avg_ssim: share(ssimSum, frames),
      };
    }),
  };
}
