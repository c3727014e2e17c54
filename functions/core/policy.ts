import {
  BUDGET_MISS_DEFAULTS,
  type CompressionConfig,
  type CompressionMode,
  DEFAULT_CONFIG,
  MODE_DEFAULTS,
  type OnBudgetMiss,
  type OutputFormat,
  UNCHANGED_SSIM_DEFAULTS,
} from './contracts/config.ts';

/** The policy one frame is compressed under, every field resolved. */
export interface ResolvedPolicy {
  mode: CompressionMode;
  targetCompressionRatio: number;
  minQualityScore: number;
  maxLatencyMs: number;
  allowedFormats: OutputFormat[];
  predictive: boolean;
  /** What a frame gets when no encoding fits a budget the network limits. */
  onBudgetMiss: OnBudgetMiss;
  /**
   * The SSIM against the image the viewer already has at which a frame is answered `unchanged`,
   * per frame type; null: never (mode `off`, or video without a threshold set).
   */
  unchangedSsim: UnchangedSsim;
}

/** The `unchanged` thresholds of a resolved policy, per frame type; null: never. */
export interface UnchangedSsim {
  screen: number | null;
  video: number | null;
}

/** Policy fields a request may set for one frame. */
export interface PolicyOverrides {
  mode?: CompressionMode;
  targetCompressionRatio?: number;
  maxLatencyMs?: number;
  minQualityScore?: number;
  onBudgetMiss?: OnBudgetMiss;
  unchangedSsimScreen?: number;
  unchangedSsimVideo?: number;
}

/** What `off` resolves the `unchanged` thresholds to: a pass-through compares nothing. */
const neverUnchanged = (): UnchangedSsim => ({ screen: null, video: null });

/**
 * Resolves a frame's policy: a field set in the request wins; an unset field comes from the caller's
 * stored config, then from the mode's defaults. When the request switches to a mode other than the
 * stored one, the stored numbers were tuned for another mode, so that mode's defaults fill the gaps.
 * The `unchanged` thresholds do not depend on the mode: request, stored config, then
 * {@link UNCHANGED_SSIM_DEFAULTS}. A disabled or opted-out config turns compression off, whatever
 * the request says, and sends the original whatever the budget; `off` never answers `unchanged`.
 */
export function resolvePolicy(
  overrides: PolicyOverrides,
  stored: CompressionConfig | null,
): ResolvedPolicy {
  const config = stored ?? DEFAULT_CONFIG;
  const base = {
    allowedFormats: [...config.allowed_formats],
    predictive: config.enable_predictive_compression,
  };
  if (!config.enabled || config.opt_out) {
    return {
      ...base,
      mode: 'off',
      onBudgetMiss: 'original',
      unchangedSsim: neverUnchanged(),
      ...numbers(MODE_DEFAULTS.adaptive),
    };
  }
  const mode = overrides.mode ?? config.mode;
  const onBudgetMiss =
    overrides.onBudgetMiss ??
    config.on_budget_miss ??
    (mode === 'off' ? 'original' : BUDGET_MISS_DEFAULTS[mode]);
  const fallback =
    mode === config.mode || mode === 'off'
      ? {
          target_compression_ratio: config.target_compression_ratio,
          max_latency_ms: config.max_latency_ms,
          min_quality_score: config.min_quality_score,
        }
      : MODE_DEFAULTS[mode];
  return {
    ...base,
    mode,
    onBudgetMiss,
    unchangedSsim: mode === 'off' ? neverUnchanged() : unchangedSsim(overrides, config),
    ...numbers({
      target_compression_ratio:
        overrides.targetCompressionRatio ?? fallback.target_compression_ratio,
      max_latency_ms: overrides.maxLatencyMs ?? fallback.max_latency_ms,
      min_quality_score: overrides.minQualityScore ?? fallback.min_quality_score,
    }),
  };
}

/** The `unchanged` thresholds: the request's, then the stored config's, then the defaults. */
function unchangedSsim(overrides: PolicyOverrides, config: CompressionConfig): UnchangedSsim {
  return {
    screen:
      overrides.unchangedSsimScreen ??
      config.unchanged_ssim_screen ??
      UNCHANGED_SSIM_DEFAULTS.screen,
    video:
      overrides.unchangedSsimVideo ?? config.unchanged_ssim_video ?? UNCHANGED_SSIM_DEFAULTS.video,
  };
}

function numbers(fields: {
  target_compression_ratio: number;
  max_latency_ms: number;
  min_quality_score: number;
}) {
  return {
    targetCompressionRatio: fields.target_compression_ratio,
    maxLatencyMs: fields.max_latency_ms,
    minQualityScore: fields.min_quality_score,
  };
}
