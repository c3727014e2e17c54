/**
 * The log-bucketed latency histogram the hourly rollup keeps (`frame_latency_hourly`), mirrored
 * from the SQL function `aic_latency_bucket` of migration 0002: bucket 0 holds latencies under
 * {@link LATENCY_HISTOGRAM}.floorMs, bucket k >= 1 holds [floor * growth^(k-1), floor * growth^k),
 * and the last bucket is open-ended. Percentiles read from it are the geometric middle of the
 * bucket that holds the rank, so they are within ±2.5 % of the exact value (growth 1.05).
 */

/** Constants of the histogram; frozen in migration 0002. */
export const LATENCY_HISTOGRAM = { floorMs: 0.1, growth: 1.05, lastBucket: 280 } as const;

/** Largest relative error of a percentile read from the histogram: sqrt(growth) - 1. */
export const LATENCY_PERCENTILE_RELATIVE_ERROR = Math.sqrt(LATENCY_HISTOGRAM.growth) - 1;

/** The bucket of a latency, as `aic_latency_bucket(ms)` computes it. */
export function latencyBucket(ms: number): number {
  const { floorMs, growth, lastBucket } = LATENCY_HISTOGRAM;
  if (ms < floorMs) return 0;
  return Math.min(lastBucket, 1 + Math.floor(Math.log(ms / floorMs) / Math.log(growth)));
}

/** The value a percentile that falls in `bucket` is reported as, in milliseconds. */
export function bucketValueMs(bucket: number): number {
  const { floorMs, growth, lastBucket } = LATENCY_HISTOGRAM;
  if (bucket <= 0) return floorMs / 2;
  // The open-ended last bucket has no middle: report its lower bound.
  if (bucket >= lastBucket) return floorMs * growth ** (lastBucket - 1);
  return floorMs * growth ** (bucket - 0.5);
}

/** Frames per bucket. */
export interface HistogramBin {
  bucket: number;
  frames: number;
}

/**
 * The nearest-rank percentile `p` (0..100) of a histogram, or null when it holds no frame. Bins
 * may come in any order and a bucket may appear more than once.
 */
export function histogramPercentile(bins: readonly HistogramBin[], p: number): number | null {
  const sorted = [...bins].filter((bin) => bin.frames > 0).sort((a, b) => a.bucket - b.bucket);
  const total = sorted.reduce((sum, bin) => sum + bin.frames, 0);
  if (total === 0) return null;
  const rank = Math.max(1, Math.ceil((p / 100) * total));
  let seen = 0;
  for (const bin of sorted) {
    seen += bin.frames;
    if (seen >= rank) return bucketValueMs(bin.bucket);
  }
  return bucketValueMs((sorted.at(-1) as HistogramBin).bucket);
}
