import { z } from 'zod';
import {
  compressionModeSchema,
  maxLatencyMsSchema,
  minQualityScoreSchema,
  onBudgetMissSchema,
  outputFormatSchema,
  targetCompressionRatioSchema,
  unchangedSsimScreenSchema,
  unchangedSsimVideoSchema,
} from './config.ts';

/** Largest decoded frame accepted on the Lambda path: a Lambda event is capped at 6 MB, base64 included. */
export const MAX_FRAME_BYTES_HTTP = 4_500_000;

/** Largest decoded frame accepted over gRPC (the server's receive limit). */
export const MAX_FRAME_BYTES_GRPC = 10 * 1024 * 1024;

/** Frame dimensions the engine accepts (docs/design.md section 2). */
export const FRAME_BOUNDS = {
  minWidth: 160,
  minHeight: 90,
  maxWidth: 3840,
  maxHeight: 2160,
} as const;

/** Input formats a frame may arrive in. */
export const inputFormatSchema = z.enum(['jpeg', 'png', 'webp']);
export type InputFormat = z.infer<typeof inputFormatSchema>;

/** Session ids are UUID v4 (docs/design.md, terms). */
export const sessionIdSchema = z.uuid({ version: 'v4', error: 'must be a UUID v4' });

const networkFields = {
  available_bandwidth_kbps: z
    .number()
    .min(64)
    .max(100_000)
    .describe('Measured available bandwidth.'),
  rtt_ms: z.number().min(0).max(5000),
  packet_loss_percent: z.number().min(0).max(100),
  jitter_ms: z.number().min(0).max(1000),
  fps: z.number().int().min(1).max(120),
};

/** The four fields of a network update (plus fps and connection type), shared with `PUT .../network`. */
export const networkConditionsSchema = z
  .object({
    ...networkFields,
    fps: networkFields.fps.default(30),
    connection_type: z
      .enum(['wifi', 'ethernet', 'cellular', '5g', '4g', '3g', 'other', 'unknown'])
      .optional(),
  })
  .strict();
export type NetworkConditions = z.infer<typeof networkConditionsSchema>;

const policyOverrides = {
  frame_number: z.number().int().min(0).optional(),
  timestamp_us: z.number().int().min(0).optional(),
  frame_type: z.enum(['video', 'screen']).default('video'),
  mode: compressionModeSchema.optional(),
  target_compression_ratio: targetCompressionRatioSchema.optional(),
  max_latency_ms: maxLatencyMsSchema.optional(),
  min_quality_score: minQualityScoreSchema.optional(),
  on_budget_miss: onBudgetMissSchema.optional(),
  unchanged_ssim_screen: unchangedSsimScreenSchema.optional(),
  unchanged_ssim_video: unchangedSsimVideoSchema.optional(),
  network_condition: z.number().min(0).max(1).optional().describe('A single 0..1 network score.'),
};

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** `POST /compress` as JSON: the frame travels base64-encoded. */
export const compressJsonRequestSchema = z
  .object({
    session_id: sessionIdSchema,
    frame_data: z
      .string()
      .min(1)
      .refine((value) => value.length % 4 === 0 && BASE64.test(value), 'must be standard base64')
      .describe('Base64 of a JPEG, PNG or WebP frame.'),
    ...policyOverrides,
    network: networkConditionsSchema.optional(),
  })
  .strict()
  .refine((body) => body.network === undefined || body.network_condition === undefined, {
    message: 'send either network or network_condition, not both',
    path: ['network_condition'],
  });
export type CompressJsonRequest = z.infer<typeof compressJsonRequestSchema>;

const queryNumber = (schema: z.ZodNumber) => z.coerce.number().pipe(schema);

/**
 * `POST /compress` with the raw image as the body: the JSON fields arrive as query parameters, the
 * network fields flattened (`available_bandwidth_kbps=...`).
 */
export const compressQuerySchema = z
  .object({
    session_id: sessionIdSchema,
    frame_number: queryNumber(z.number().int().min(0)).optional(),
    timestamp_us: queryNumber(z.number().int().min(0)).optional(),
    frame_type: z.enum(['video', 'screen']).default('video'),
    mode: compressionModeSchema.optional(),
    target_compression_ratio: queryNumber(targetCompressionRatioSchema).optional(),
    max_latency_ms: queryNumber(maxLatencyMsSchema).optional(),
    min_quality_score: queryNumber(minQualityScoreSchema).optional(),
    on_budget_miss: onBudgetMissSchema.optional(),
    unchanged_ssim_screen: queryNumber(unchangedSsimScreenSchema).optional(),
    unchanged_ssim_video: queryNumber(unchangedSsimVideoSchema).optional(),
    network_condition: queryNumber(z.number().min(0).max(1)).optional(),
    available_bandwidth_kbps: queryNumber(networkFields.available_bandwidth_kbps).optional(),
    rtt_ms: queryNumber(networkFields.rtt_ms).optional(),
    packet_loss_percent: queryNumber(networkFields.packet_loss_percent).optional(),
    jitter_ms: queryNumber(networkFields.jitter_ms).optional(),
    fps: queryNumber(networkFields.fps).optional(),
  })
  .strict();
export type CompressQuery = z.infer<typeof compressQuerySchema>;

/** Per-phase latency of one compression, in milliseconds. */
export const compressLatencySchema = z.object({
  decode: z.number(),
  encode: z.number(),
  metrics: z.number(),
  total: z.number(),
});

/**
 * What became of a frame: `success` (an encoding to send), `fallback` (the original to send),
 * `dropped` (nothing to send: the sender skips the frame, docs/design.md section 2.3) or
 * `unchanged` (nothing to send: the image the viewer already has meets the policy's threshold).
 */
export const frameStatusSchema = z
  .enum(['success', 'fallback', 'dropped', 'unchanged'])
  .describe(
    "What became of the frame: `success` (a new encoding to send), `fallback` (the original to send), `dropped` (nothing is sent: the sender skips the frame) or `unchanged` (the viewer's image already meets the policy's threshold: nothing is sent).",
  );
export type FrameStatus = z.infer<typeof frameStatusSchema>;

/**
 * `POST /compress` response (docs/design.md section 2). For `unchanged`, `ssim` and `psnr_db` are
 * those of the viewer's image against this frame, `compressed_data` is empty,
 * `compressed_size_bytes` 0, `fallback_used` false and `drop_reason` null.
 */
export const compressResponseSchema = z.object({
  status: frameStatusSchema,
  session_id: z.string(),
  frame_number: z.number().int().nullable(),
  compressed_data: z
    .string()
    .describe(
      'Base64 of the frame to send: the compressed one, or the original on fallback; empty when `dropped` or `unchanged`.',
    ),
  format: z
    .union([outputFormatSchema, inputFormatSchema])
    .describe(
      'Format of `compressed_data`: JPEG, WebP or AVIF, PNG too for a `screen` frame (palette PNG), or the original format on fallback.',
    ),
  quality: z
    .number()
    .int()
    .nullable()
    .describe(
      'Encoder quality used, 1..100 (the level of a near-lossless WebP); null on fallback and for lossless WebP or palette PNG, which have no quality setting.',
    ),
  width: z.number().int(),
  height: z.number().int(),
  original_size_bytes: z.number().int(),
  compressed_size_bytes: z
    .number()
    .int()
    .describe('Size of `compressed_data`; 0 when nothing is sent.'),
  compression_ratio: z.number().describe('1 - compressed/original: 0.80 means 80 % smaller.'),
  bandwidth_savings_percent: z.number(),
  budget_bytes: z.number().int(),
  within_budget: z.boolean(),
  ssim: z
    .number()
    .nullable()
    .describe(
      "SSIM as Wang's reference (`ssim.m`, analysis factor round(min side / 256)) measures the decoded output against the decoded input; for `unchanged`, the viewer's image against this frame; null when `dropped`.",
    ),
  psnr_db: z
    .number()
    .nullable()
    .describe(
      "Of the decoded output against the decoded input, in dB; for `unchanged`, the viewer's image against this frame; null when `dropped`.",
    ),
  quality_score: z
    .number()
    .nullable()
    .describe(
      "The engine's SSIM of the same images, which `min_quality_score` and the `unchanged_ssim_*` thresholds apply to: equal to `ssim` except on a short side of 257 to 383 px (e.g. 640x360), where the engine measures at analysis factor 2 instead of 1; null when `dropped`.",
    ),
  encode_attempts: z.number().int(),
  latency_ms: compressLatencySchema,
  fallback_used: z.boolean(),
  fallback_reason: z.string().nullable(),
  drop_reason: z
    .string()
    .nullable()
    .describe(
      'Why the frame was dropped (status `dropped`), e.g. `no_candidate_fits` or `refinement_deferred`; null otherwise (`unchanged` included).',
    ),
});
export type CompressResponse = z.infer<typeof compressResponseSchema>;
