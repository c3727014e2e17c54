import { z } from 'zod';
import { networkConditionsSchema, sessionIdSchema } from './compress.ts';
import { compressionModeSchema, outputFormatSchema } from './config.ts';

/** Path parameters of `/sessions/{session_id}` and `/sessions/{session_id}/network`. */
export const sessionPathSchema = z.object({ session_id: sessionIdSchema });

/** `PUT /sessions/{session_id}/network`: the same fields as a compress request's `network`. */
export const networkUpdateSchema = networkConditionsSchema;

/** Class of the smoothed estimate: excellent > 10 Mbps, good 5..10, fair 1..5, poor < 1. */
export const networkQualitySchema = z.enum(['excellent', 'good', 'fair', 'poor']);

/** The encoding /compress would try first for the session (proto `CompressionRecommendation`). */
export const recommendationSchema = z.object({
  mode: compressionModeSchema,
  format: outputFormatSchema
    .nullable()
    .describe('null: the original frame would be sent untouched (mode off, nothing affordable).'),
  quality: z.number().int().nullable().describe('Encoder quality, 1..100; null with format null.'),
  scale: z.number().describe('Scale of each dimension, 0..1 (1 = full resolution).'),
});

/**
 * `PUT` and `GET /sessions/{session_id}/network`: the session's current estimate, with the field
 * names of the proto's `UpdateNetworkConditionsResponse`.
 */
export const networkEstimateResponseSchema = z.object({
  session_id: z.string(),
  smoothed_bandwidth_kbps: z.number().describe('Loss-controlled, smoothed estimate.'),
  predicted_bandwidth_kbps: z.number().describe('Trend of the estimate a few updates ahead.'),
  stability: z.number().min(0).max(1).describe('1 - variation of recent reports (1 = steady).'),
  network_quality: networkQualitySchema,
  network_condition: z.number().min(0).max(1).describe('0 unusable, 1 excellent.'),
  budget_bytes_per_frame: z
    .number()
    .int()
    .describe('Usable bandwidth (estimate x (1 - loss) x safety factor) / fps, in bytes.'),
  recommendation: recommendationSchema,
  sample_count: z.number().int().describe('Updates behind the estimate.'),
});
export type NetworkEstimateResponse = z.infer<typeof networkEstimateResponseSchema>;

/** `GET /sessions/{session_id}`: the session's totals and averages. */
export const sessionStatisticsSchema = z.object({
  session_id: z.string(),
  started_at: z.iso.datetime(),
  last_seen_at: z.iso.datetime(),
  duration_s: z.number().describe('From the first to the latest use of the session.'),
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
  avg_compression_ratio: z
    .number()
    .nullable()
    .describe('Over the session bytes, 1 - bytes_out / bytes_in; null without frames.'),
  avg_ssim: z
    .number()
    .nullable()
    .describe(
      "Mean SSIM of the frames that have one (all but dropped ones; an unchanged frame's is the viewer's image against it).",
    ),
  avg_latency_ms: z.number().nullable().describe('Mean total latency per frame.'),
  bytes_in: z.number().int(),
  bytes_out: z.number().int(),
  bytes_saved: z.number().int(),
});
export type SessionStatistics = z.infer<typeof sessionStatisticsSchema>;
