import { z } from 'zod';

/** Compression modes; `off` passes frames through untouched. */
export const compressionModeSchema = z
  .enum(['off', 'conservative', 'adaptive', 'aggressive'])
  .describe('Compression mode; `off` passes frames through untouched.');
export type CompressionMode = z.infer<typeof compressionModeSchema>;

/** Output formats a policy may allow. */
export const outputFormatSchema = z.enum(['jpeg', 'webp', 'avif']);
export type OutputFormat = z.infer<typeof outputFormatSchema>;

/** Per-mode defaults (docs/design.md section 2): target ratio, SSIM floor, latency budget. */
export const MODE_DEFAULTS: Readonly<
  Record<
    Exclude<CompressionMode, 'off'>,
    { target_compression_ratio: number; min_quality_score: number; max_latency_ms: number }
  >
> = {
  conservative: { target_compression_ratio: 0.5, min_quality_score: 0.95, max_latency_ms: 15 },
  adaptive: { target_compression_ratio: 0.8, min_quality_score: 0.85, max_latency_ms: 20 },
  aggressive: { target_compression_ratio: 0.9, min_quality_score: 0.7, max_latency_ms: 25 },
};

/**
 * What a frame gets when no encoding fits its byte budget on a congested network: `drop` (nothing
 * is sent, as libwebrtc's frame dropper skips a frame), `smallest` (the smallest encoding that meets
 * the quality floor, over budget) or `original` (the input's bytes).
 */
export const onBudgetMissSchema = z
  .enum(['drop', 'smallest', 'original'])
  .describe(
    'When no encoding fits the byte budget the network allows: drop the frame, send the smallest encoding over budget, or send the original. Null: the mode default.',
  );
export type OnBudgetMiss = z.infer<typeof onBudgetMissSchema>;

/** The mode's `on_budget_miss` when the policy sets none: quality first in conservative mode. */
export const BUDGET_MISS_DEFAULTS: Readonly<Record<Exclude<CompressionMode, 'off'>, OnBudgetMiss>> =
  {
    conservative: 'smallest',
    adaptive: 'drop',
    aggressive: 'drop',
  };

/** Bounds of the policy fields, shared by the zod schema and the database CHECK constraints. */
export const CONFIG_BOUNDS = {
  target_compression_ratio: { min: 0.1, max: 0.95 },
  max_latency_ms: { min: 5, max: 100 },
  min_quality_score: { min: 0.5, max: 1 },
  unchanged_ssim: { min: 0.9, max: 1 },
} as const;

/**
 * The `unchanged` thresholds when the policy sets none: a screen frame whose SSIM against the
 * image the viewer already has reaches 0.99 is answered `unchanged` (a static screen sends
 * nothing); a video frame never is, since camera noise keeps every frame slightly different and
 * holding a stale image would freeze motion.
 */
export const UNCHANGED_SSIM_DEFAULTS: Readonly<{ screen: number; video: number | null }> = {
  screen: 0.99,
  video: null,
};

const UNCHANGED_SSIM_DESCRIPTION =
  'A frame whose SSIM against the image the viewer already has reaches this is answered `unchanged` with no image';

/** SSIM threshold of `unchanged` for screen frames, within the contract's bounds. */
export const unchangedSsimScreenSchema = z
  .number()
  .min(CONFIG_BOUNDS.unchanged_ssim.min)
  .max(CONFIG_BOUNDS.unchanged_ssim.max)
  .describe(
    `${UNCHANGED_SSIM_DESCRIPTION} (screen frames). Null: the default (0.99 for screen, never for video).`,
  );

/** SSIM threshold of `unchanged` for video frames, within the contract's bounds. */
export const unchangedSsimVideoSchema = z
  .number()
  .min(CONFIG_BOUNDS.unchanged_ssim.min)
  .max(CONFIG_BOUNDS.unchanged_ssim.max)
  .describe(
    `${UNCHANGED_SSIM_DESCRIPTION} (video frames). Null: the default (0.99 for screen, never for video).`,
  );

/** Fraction of bytes to remove, within the contract's bounds. */
export const targetCompressionRatioSchema = z
  .number()
  .min(CONFIG_BOUNDS.target_compression_ratio.min)
  .max(CONFIG_BOUNDS.target_compression_ratio.max)
  .describe('Fraction of bytes to remove, 1 - compressed/original.');

/** Latency budget for one frame in ms, within the contract's bounds. */
export const maxLatencyMsSchema = z
  .number()
  .int()
  .min(CONFIG_BOUNDS.max_latency_ms.min)
  .max(CONFIG_BOUNDS.max_latency_ms.max)
  .describe('Latency budget for one frame, in milliseconds.');

/** SSIM floor, within the contract's bounds. */
export const minQualityScoreSchema = z
  .number()
  .min(CONFIG_BOUNDS.min_quality_score.min)
  .max(CONFIG_BOUNDS.min_quality_score.max)
  .describe('SSIM floor: below it the original frame is returned.');

/** A caller's compression policy as stored and as sent by `PUT /config`. */
export const compressionConfigSchema = z
  .object({
    enabled: z.boolean(),
    mode: compressionModeSchema,
    target_compression_ratio: targetCompressionRatioSchema,
    max_latency_ms: maxLatencyMsSchema,
    min_quality_score: minQualityScoreSchema,
    allowed_formats: z
      .array(outputFormatSchema)
      .min(1)
      .max(3)
      .refine((formats) => new Set(formats).size === formats.length, 'formats must be unique'),
    enable_predictive_compression: z.boolean(),
    enable_perceptual_optimization: z.boolean(),
    opt_out: z.boolean(),
    on_budget_miss: onBudgetMissSchema.nullable().optional(),
    unchanged_ssim_screen: unchangedSsimScreenSchema.nullable().optional(),
    unchanged_ssim_video: unchangedSsimVideoSchema.nullable().optional(),
  })
  .strict();
export type CompressionConfig = z.infer<typeof compressionConfigSchema>;

/** The policy a caller gets when none is stored. */
export const DEFAULT_CONFIG: CompressionConfig = {
  enabled: true,
  mode: 'adaptive',
  ...MODE_DEFAULTS.adaptive,
  allowed_formats: ['jpeg', 'webp'],
  enable_predictive_compression: true,
  enable_perceptual_optimization: true,
  opt_out: false,
  on_budget_miss: null,
  unchanged_ssim_screen: null,
  unchanged_ssim_video: null,
};

/** A stored policy with its owner-visible timestamps. */
export const storedConfigSchema = compressionConfigSchema.extend({
  updated_at: z.iso
    .datetime()
    .nullable()
    .describe('When the policy last changed; null for the default.'),
});
export type StoredConfig = z.infer<typeof storedConfigSchema>;
