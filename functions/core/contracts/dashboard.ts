import { z } from 'zod';
import { frameStatusSchema, sessionIdSchema } from './compress.ts';
import { compressionModeSchema } from './config.ts';

/**
 * Contracts of the dashboard routes (docs/design.md section 2): recent metrics, the performance
 * summary, bandwidth savings, the quality distribution and alerts. Every byte figure is derived
 * from stored byte counts, never from rates.
 */

/** A query parameter holding an integer in `min..max`: out-of-range values are refused, not clamped. */
const queryInt = (min: number, max: number) =>
  z.coerce.number().pipe(z.number().int().min(min).max(max));

/** Price per GB (10^9 bytes) of egress used for the cost estimate unless configured otherwise. */
export const DEFAULT_COST_PER_GB_USD = 0.09;

/** SI units of the savings figures. */
export const BYTES_PER_MB = 1e6;
export const BYTES_PER_GB = 1e9;

/** SSIM bands of the quality distribution, best first (frozen in migration 0002's rollup). */
export const SSIM_BANDS = [
  { band: 'excellent', min_ssim: 0.95 },
  { band: 'good', min_ssim: 0.9 },
  { band: 'fair', min_ssim: 0.8 },
  { band: 'poor', min_ssim: null },
] as const;

export const ssimBandSchema = z.enum(['excellent', 'good', 'fair', 'poor']);
export type SsimBand = z.infer<typeof ssimBandSchema>;

/** `GET /metrics` query. */
export const metricsQuerySchema = z
  .object({
    session_id: sessionIdSchema.optional().describe('Only frames of this session (yours).'),
    limit: queryInt(1, 1000).default(100).describe('How many frames, newest first.'),
  })
  .strict();

/** One stored frame as `GET /metrics` lists it. */
export const frameMetricSchema = z.object({
  session_id: z.string(),
  frame_number: z.number().int().nullable(),
  recorded_at: z.iso.datetime(),
  frame_type: z.enum(['video', 'screen']).nullable(),
  mode: compressionModeSchema,
  format: z.string(),
  quality: z.number().int().nullable(),
  width: z.number().int(),
  height: z.number().int(),
  original_size_bytes: z.number().int(),
  compressed_size_bytes: z.number().int(),
  compression_ratio: z.number().describe('1 - compressed/original.'),
  ssim: z.number().nullable(),
  psnr_db: z.number().nullable(),
  budget_bytes: z.number().int(),
  within_budget: z.boolean(),
  encode_attempts: z.number().int(),
  latency_ms: z.object({
    decode: z.number(),
    encode: z.number(),
    metrics: z.number(),
    total: z.number(),
  }),
  fallback_used: z.boolean(),
  fallback_reason: z.string().nullable(),
  status: frameStatusSchema.describe(
    'What became of the frame; frames stored before statuses were recorded read as `fallback` or `success`.',
  ),
  drop_reason: z
    .string()
    .nullable()
    .describe(
      'Why the frame was dropped (status `dropped`), e.g. `no_candidate_fits` or `refinement_deferred`; null otherwise.',
    ),
});
export type FrameMetric = z.infer<typeof frameMetricSchema>;

/** `GET /metrics` response. */
export const metricsResponseSchema = z.object({
  metrics: z.array(frameMetricSchema).describe('Newest first.'),
  count: z.number().int(),
});
export type MetricsResponse = z.infer<typeof metricsResponseSchema>;

/** `GET /performance/summary` query. */
export const summaryQuerySchema = z
  .object({ hours: queryInt(1, 168).default(24).describe('Window length, ending now.') })
  .strict();

const windowFields = {
  from: z.iso.datetime().describe('Start of the window (inclusive).'),
  to: z.iso.datetime().describe('End of the window: the time of the request.'),
};

/** `GET /performance/summary` response. */
export const performanceSummarySchema = z.object({
  hours: z.number().int(),
  ...windowFields,
  frames: z.number().int().describe('Every answered frame, dropped and unchanged ones included.'),
  fallbacks: z.number().int(),
  fallback_rate: z.number().nullable().describe('fallbacks / frames; null without frames.'),
  dropped: z.number().int().describe('Frames dropped: nothing was sent for them.'),
  dropped_rate: z.number().nullable().describe('dropped / frames; null without frames.'),
  unchanged: z
    .number()
    .int()
    .describe("Frames answered `unchanged`: the viewer's image was kept, nothing was sent."),
  unchanged_rate: z.number().nullable().describe('unchanged / frames; null without frames.'),
  within_budget_rate: z
    .number()
    .nullable()
    .describe(
      'Share of frames within their byte budget; a frame that sent nothing (dropped, unchanged) is.',
    ),
  bytes_in: z.number().int(),
  bytes_out: z.number().int(),
  bytes_saved: z
    .number()
    .int()
    .describe(
      'Sum of original - compressed bytes: the whole original of a frame that sent nothing.',
    ),
  avg_compression_ratio: z
    .number()
    .nullable()
    .describe('Over the window bytes: 1 - bytes_out / bytes_in; null without frames.'),
  avg_savings_percent: z.number().nullable().describe('100 x avg_compression_ratio.'),
  avg_ssim: z.number().nullable().describe('Mean SSIM of the frames that have one.'),
  avg_latency_ms: z.number().nullable().describe('Exact mean total latency per frame.'),
  latency_p50_ms: z
    .number()
    .nullable()
    .describe('Median total latency, from a log histogram: within ±2.5 % of the exact value.'),
  latency_p95_ms: z
    .number()
    .nullable()
    .describe('95th percentile of total latency, from a log histogram: within ±2.5 %.'),
});
export type PerformanceSummary = z.infer<typeof performanceSummarySchema>;

/** `GET /stats/bandwidth-savings` query. */
export const bandwidthQuerySchema = z
  .object({
    days: queryInt(1, 90).default(7).describe('Window length, ending now.'),
    session_id: sessionIdSchema.optional().describe('Only this session (yours).'),
  })
  .strict();

/** `GET /stats/bandwidth-savings` response. */
export const bandwidthSavingsSchema = z.object({
  days: z.number().int(),
  ...windowFields,
  session_id: z.string().nullable(),
  frames: z.number().int(),
  bytes_in: z.number().int(),
  bytes_out: z.number().int(),
  bytes_saved: z
    .number()
    .int()
    .describe(
      'Sum of original - compressed bytes: the whole original of a frame that sent nothing.',
    ),
  saved_mb: z.number().describe('bytes_saved / 10^6.'),
  saved_gb: z.number().describe('bytes_saved / 10^9.'),
  avg_savings_percent: z
    .number()
    .nullable()
    .describe('100 x bytes_saved / bytes_in; null without frames.'),
  cost_per_gb_usd: z.number().describe('Configured egress price per GB.'),
  estimated_cost_saved_usd: z.number().describe('saved_gb x cost_per_gb_usd.'),
});
export type BandwidthSavings = z.infer<typeof bandwidthSavingsSchema>;

/** `GET /stats/quality-distribution` query. */
export const qualityQuerySchema = z
  .object({ days: queryInt(1, 90).default(7).describe('Window length, ending now.') })
  .strict();

/** `GET /stats/quality-distribution` response. */
export const qualityDistributionSchema = z.object({
  days: z.number().int(),
  ...windowFields,
  frames: z.number().int(),
  measured_frames: z.number().int().describe('Frames with an SSIM; the bands cover these.'),
  bands: z.array(
    z.object({
      band: ssimBandSchema,
      min_ssim: z
        .number()
        .nullable()
        .describe('Lower bound (inclusive); null for the lowest band.'),
      frames: z.number().int(),
      percent: z.number().nullable().describe('Share of measured frames; null without any.'),
      avg_ssim: z.number().nullable(),
    }),
  ),
});
export type QualityDistribution = z.infer<typeof qualityDistributionSchema>;

/** Kinds of threshold alert. */
export const alertTypeSchema = z.enum([
  'latency_p95_over_budget',
  'ssim_under_floor',
  'fallback_rate_high',
]);
export type AlertType = z.infer<typeof alertTypeSchema>;

export const alertSeveritySchema = z.enum(['warning', 'critical']);
export type AlertSeverity = z.infer<typeof alertSeveritySchema>;

/** `GET /alerts` query. */
export const alertsQuerySchema = z
  .object({
    resolved: z
      .stringbool()
      .optional()
      .describe('true: resolved alerts only; false: open ones only; absent: both.'),
    severity: alertSeveritySchema.optional(),
    limit: queryInt(1, 1000).default(100).describe('How many alerts, newest first.'),
  })
  .strict();

/** Path of `PATCH /alerts/{alert_id}/resolve`. */
export const alertPathSchema = z.object({
  alert_id: z.uuid({ error: 'must be a UUID' }),
});

/** One alert. */
export const alertSchema = z.object({
  alert_id: z.string(),
  type: alertTypeSchema,
  severity: alertSeveritySchema,
  message: z.string(),
  observed_value: z.number(),
  threshold: z.number(),
  created_at: z.iso.datetime(),
  resolved_at: z.iso.datetime().nullable(),
});
export type Alert = z.infer<typeof alertSchema>;

/** `GET /alerts` response. */
export const alertListSchema = z.object({
  alerts: z.array(alertSchema).describe('Newest first.'),
  count: z.number().int(),
});
