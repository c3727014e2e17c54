/**
 * What the engine model assumes before it sees a session: content-agnostic curves of size and
 * distortion over (format, quality, scale), cold-start encode and measure times, the regressions'
 * prior variances and drift, and the content terms' dependence on a frame's activity.
 */
import type { OutputFormat } from '../contracts/config.ts';
import { type CandidateSettings, SLOPE_ANCHOR } from './features.ts';

interface FormatPrior {
  /** ln(bytes per output pixel) at quality 0 and scale 1, before the quality curve. */
  readonly logBytes: number;
  /** ln(1 - SSIM) at quality 0 and scale 1, before the quality slope. */
  readonly logDistortion: number;
  /** Cold-start encode time, ms per output megapixel (sharp on one arm64 core, low effort). */
  readonly encodeMsPerMp: number;
  /**
   * Cold-start measure time (decode of the output, SSIM and PSNR), ms per input megapixel. It
   * differs by format because decoders do: libvips decodes WebP about 3x slower than JPEG.
   */
  readonly measureMsPerMp: number;
}

/**
 * Content-agnostic priors for natural video at typical sharp settings: WebP about 20 % and AVIF
 * about 45 % smaller than JPEG at equal quality setting, with slightly more distortion; AVIF an
 * order of magnitude slower to encode.
 */
export const FORMAT_PRIORS: Readonly<Record<OutputFormat, FormatPrior>> = {
  jpeg: { logBytes: -3.7, logDistortion: -1.6, encodeMsPerMp: 8, measureMsPerMp: 8 },
  webp: { logBytes: -3.95, logDistortion: -1.5, encodeMsPerMp: 30, measureMsPerMp: 20 },
  avif: { logBytes: -4.3, logDistortion: -1.4, encodeMsPerMp: 120, measureMsPerMp: 30 },
};

/** Prior variances of theta: a wide content term, narrow format offsets, moderate slopes. */
export const PRIOR_VARIANCE: readonly number[] = [1, 0.04, 0.04, 0.09, 1, 0.25, 1, 1];

/** Drift added to the variance of theta at every frame (random walk of the content). */
export const DRIFT_VARIANCE: readonly number[] = [
  0.001, 0.0002, 0.0002, 0.0002, 0.0005, 0.0003, 0.0005, 0.0005,
];

/** Prior observation noise variances of the size and the distortion regressions. */
export const PRIOR_NOISE_VARIANCE = { bytes: 0.1 ** 2, distortion: 0.15 ** 2 } as const;

/**
 * Prior quality-slope corrections (per unit of q/100) on a downscaled output and for WebP, from the
 * slopes `npm run bench:compress`'s contents measure: bytes grow more slowly with quality on both,
 * and distortion falls much more slowly.
 */
const SLOPE_PRIORS = {
  bytes: { downscaled: -0.8, webp: -0.5 },
  distortion: { downscaled: 1.8, webp: 1.2 },
} as const;

/** A content term's prior as a linear function of ln(activity), and its variance. */
export interface ActivityPrior {
  readonly intercept: number;
  readonly slope: number;
  readonly variance: number;
}

/**
 * The content terms' priors from the frame's activity (`frameActivity`), fitted on the benchmark's
 * contents (camera scenes, screens, gradients and noise at 640x360 and 1280x720, against the
 * priors above): the slopes are how far ln(bytes) and ln(1 - SSIM) move per unit of ln(activity),
 * and the variances cover the scatter the fit leaves, far narrower than the content term's
 * spread without it.
 */
export const ACTIVITY_PRIOR: Readonly<Record<'bytes' | 'distortion', ActivityPrior>> = {
  bytes: { intercept: -0.47, slope: 0.42, variance: 0.1 },
  distortion: { intercept: -2.41, slope: 0.62, variance: 0.2 },
};

/** Activity below this (a flat frame) counts as this, so its logarithm stays finite. */
export const MIN_ACTIVITY = 0.05;

/** The prior's own share of the slope features: `slopes` weighted by the interaction features. */
function priorSlopes(
  candidate: CandidateSettings,
  slopes: { readonly downscaled: number; readonly webp: number },
): number {
  const v = candidate.quality / 100 - SLOPE_ANCHOR;
  return (
    (candidate.scale < 1 ? slopes.downscaled * v : 0) +
    (candidate.format === 'webp' ? slopes.webp * v : 0)
  );
}

/** The prior curve of ln(bytes per output pixel). */
export function priorLogBytesPerPixel(candidate: CandidateSettings): number {
  const u = candidate.quality / 100;
  // Bytes grow faster than linearly near the top of the quality scale; a downscaled output keeps
  // more detail per pixel, so its bytes per pixel rise.
  return (
    FORMAT_PRIORS[candidate.format].logBytes +
    0.6 * u +
    2.4 * u * u -
    0.4 * Math.log(candidate.scale) +
    priorSlopes(candidate, SLOPE_PRIORS.bytes)
  );
}

/** The prior curve of ln(1 - SSIM). */
export function priorLogDistortion(candidate: CandidateSettings): number {
  const u = candidate.quality / 100;
  // Measured at the input's resolution, a downscale loses detail however good the encode is.
  return (
    FORMAT_PRIORS[candidate.format].logDistortion -
    3.2 * u -
    1.2 * Math.log(candidate.scale) +
    priorSlopes(candidate, SLOPE_PRIORS.distortion)
  );
}
