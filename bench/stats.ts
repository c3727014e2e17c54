/** The statistics every benchmark reports: nearest-rank percentiles and means of raw samples. */

/** Percentile `p` (0..100) of samples sorted ascending, by nearest rank; NaN when there are none. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] as number;
}

/** Percentile `p` (0..100) of unsorted samples. */
export function quantile(values: readonly number[], p: number): number {
  return percentile(
    [...values].sort((a, b) => a - b),
    p,
  );
}

/** Median (nearest rank) of unsorted samples. */
export function median(values: readonly number[]): number {
  return quantile(values, 50);
}

/** Arithmetic mean; NaN when there are no samples. */
export function mean(values: readonly number[]): number {
  return values.length === 0 ? Number.NaN : values.reduce((a, b) => a + b, 0) / values.length;
}

/** p50, p95, p99, maximum and count of unsorted samples, in the samples' unit. */
export function summarise(samples: readonly number[]) {
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    p50: percentile(sorted, 50),
    p95: percentile(sorted, 95),
    p99: percentile(sorted, 99),
    max: sorted.length === 0 ? Number.NaN : (sorted.at(-1) as number),
    n: sorted.length,
  };
}
