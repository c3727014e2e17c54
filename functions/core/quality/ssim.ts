/**
 * Measured image quality: SSIM and PSNR on luma (docs/design.md section 4: measured, never estimated).
 *
 * SSIM follows Wang, Bovik, Sheikh and Simoncelli, "Image quality assessment: from error visibility
 * to structural similarity" (IEEE TIP, 2004) and their reference `ssim.m`: an 11x11 Gaussian window
 * (sigma 1.5), K1 = 0.01, K2 = 0.03, L = 255, the mean of the SSIM map over the 'valid' region (no
 * padding). Like `ssim.m`, images are first reduced by an analysis factor
 * `F = max(1, round(min(width, height) / 256))`, which models the viewing distance and keeps the
 * cost bounded ({@link referenceFactor}; the engine's {@link analysisFactor} differs only on short
 * sides of 257 to 383 px); here the reduction is a mean over `F x F` blocks (edge blocks cropped) rather than
 * `ssim.m`'s symmetric-padded filter followed by subsampling, so results at `F > 1` can differ from
 * `ssim.m` in the last decimals. `F = 1` is the textbook full-resolution SSIM.
 *
 * The Gaussian window is separable, so each local statistic is one horizontal and one vertical
 * 11-tap pass. The work is split by side: {@link prepareReference} does the input's share once per
 * frame (its block means, and their filtered mean and mean square), and each output measured
 * against it filters only y, y^2 and xy. One pass over the output's rows computes their luma (or
 * the bilinear upscale of a downscaled output), sums the squared errors for PSNR and builds the
 * block means; the vertical pass runs over a ring of the last 11 horizontally filtered rows. All
 * sums are float64 in a fixed operation order: the result agrees with a naive 2-D implementation
 * (test/support/reference-ssim.ts) to about 1e-13, identical images give exactly 1, and
 * `ssim(a, b) === ssim(b, a)`.
 *
 * These kernels are our own code, in C compiled to WebAssembly SIMD (wasm/quality.c, glue in
 * wasm/kernels.ts), because they are the hot path of every frame (each encode the engine tries is
 * measured) and no dependency computes this definition: sharp/libvips has no SSIM, and SSIM
 * packages on npm are pure JS with their own windows and downsampling, without the reusable
 * reference or the fused PSNR. Integer SIMD does the full-resolution pass (luma from RGB
 * bit-identical to the float64 formula, the upscale with 8-bit weights, squared errors, block
 * sums), float64x2 the filters and the SSIM map. `npm run bench:quality` times them.
 */
import { assertLumaImage, assertPixels, type LumaImage } from './luma.ts';
import {
  type Geometry,
  measure,
  prepare,
  releasePlanes,
  squaredError,
  WINDOW,
} from './wasm/kernels.ts';

/** PSNR reported for identical images (an infinite PSNR has no JSON representation). */
export const PSNR_CAP_DB = 100;

/** Side of the Gaussian window, in pixels. */
export const SSIM_WINDOW = WINDOW;

/** Options of {@link ssim} and {@link measureQuality}. */
export interface SsimOptions {
  /**
   * Analysis scale factor, a positive integer: both images are reduced by `F x F` block means
   * before SSIM. Defaults to {@link analysisFactor}; `1` measures at full resolution. When the
   * reduced image would be smaller than the 11-pixel window, the largest factor that keeps it at
   * least 11 pixels is used instead.
   */
  readonly factor?: number;
}

/** SSIM and PSNR of an output frame against its input, as reported per frame. */
export interface QualityMeasurement {
  /** Mean SSIM, in [-1, 1] (1 = identical). */
  readonly ssim: number;
  /** PSNR of the luma in dB, at most {@link PSNR_CAP_DB}. */
  readonly psnrDb: number;
}

/**
 * The engine's analysis scale factor: Wang's ({@link referenceFactor}), except on a short side of
 * 257 to 383 px (640x360), where Wang's is 1 and the engine uses 2: full resolution would cost
 * every candidate's measurement about four times as much, while from a factor of 2 the analysed
 * short side stays under 320 px. 2 at 640x360, 3 at 1280x720, 4 at 1920x1080, 8 at 3840x2160.
 */
export function analysisFactor(width: number, height: number): number {
  const bounded = Math.min(2, Math.ceil(Math.min(width, height) / 256));
  return Math.max(referenceFactor(width, height), bounded);
}

/**
 * Wang's own analysis factor (`ssim.m`): `max(1, round(min(width, height) / 256))`, 1 at 640x360,
 * 3 at 1280x720, 4 at 1920x1080. The `ssim` a frame reports is measured at this factor; where it
 * differs from {@link analysisFactor}, the engine's own measurement is reported as `quality_score`
 * (docs/design.md section 4.9).
 */
export function referenceFactor(width: number, height: number): number {
  return Math.max(1, Math.round(Math.min(width, height) / 256));
}

/**
 * The input side of a measurement, prepared once per frame and reused for every output measured
 * against it: the luma that PSNR reads, and the analysis plane with its Gaussian-filtered mean and
 * mean square, which are half the filtering work of an SSIM.
 */
export interface QualityReference {
  /** The input's full-resolution luma. */
  readonly luma: LumaImage;
  /** The analysis factor in use (see {@link SsimOptions}). */
  readonly factor: number;
  /** Width of the analysis plane, `floor(luma.width / factor)`. */
  readonly width: number;
  /** Height of the analysis plane, `floor(luma.height / factor)`. */
  readonly height: number;
  /** The input's `factor x factor` block means, `width * height` values. */
  readonly x: Float64Array;
  /** Gaussian-weighted mean of `x` for each valid window position (empty below the window size). */
  readonly meanX: Float64Array;
  /** Gaussian-weighted mean of `x^2` for each valid window position (empty below the window size). */
  readonly meanXX: Float64Array;
}

/** Throws a RangeError unless both images are well formed and the same size. */
function assertSameSize(a: LumaImage, b: LumaImage): void {
  assertLumaImage(a);
  assertLumaImage(b);
  if (a.width !== b.width || a.height !== b.height) {
    throw new RangeError(
      `images must have the same size, got ${a.width}x${a.height} and ${b.width}x${b.height}`,
    );
  }
}

/** The analysis factor for an image: the requested or automatic one, lowered to fit the window. */
function effectiveFactor(width: number, height: number, options: SsimOptions | undefined): number {
  const requested = options?.factor;
  if (requested !== undefined && (!Number.isSafeInteger(requested) || requested < 1)) {
    throw new RangeError(`factor must be a positive integer, got ${requested}`);
  }
  // Never reduce below the window: the largest factor that keeps 11 pixels, at least 1.
  const fit = Math.floor(Math.min(width, height) / SSIM_WINDOW);
  return Math.max(1, Math.min(requested ?? analysisFactor(width, height), fit));
}

/**
 * Prepares `reference` (the decoded input's luma) for any number of measurements with
 * {@link measureAgainst} or {@link measurePixels}. It does the input's share of the work once: its
 * block means and their Gaussian-filtered mean and mean square.
 *
 * @throws RangeError when the image is malformed or the factor is invalid.
 */
export function prepareReference(reference: LumaImage, options?: SsimOptions): QualityReference {
  assertLumaImage(reference);
  const factor = effectiveFactor(reference.width, reference.height, options);
  const width = Math.floor(reference.width / factor);
  const height = Math.floor(reference.height / factor);
  const planes = prepare(reference.data, geometry(reference, factor, width, height));
  return { luma: reference, factor, width, height, ...planes };
}

/**
 * Gives `reference`'s planes back for the next {@link prepareReference} to reuse, which keeps a
 * frame's measurement from allocating them anew. The reference must not be measured against
 * afterwards: its planes may already hold another frame's.
 */
export function releaseReference(reference: QualityReference): void {
  releasePlanes(reference);
}

/** The kernels' view of a reference's sizes. */
function geometry(luma: LumaImage, factor: number, width: number, height: number): Geometry {
  return {
    width: luma.width,
    height: luma.height,
    factor,
    analysisWidth: width,
    analysisHeight: height,
  };
}

/**
 * SSIM and PSNR of an output (interleaved pixels of `channels` channels, `width x height`, already
 * checked) against `reference`, all in the kernels: luma, the bilinear upscale when the output is
 * smaller, squared errors and block means in one pass over the rows, then the windowed SSIM.
 */
function measureOutput(
  reference: QualityReference,
  pixels: Uint8Array,
  width: number,
  height: number,
  channels: 1 | 2 | 3 | 4,
): QualityMeasurement {
  const { luma, factor } = reference;
  const { sse, ssim: value } = measure(
    luma.data,
    reference,
    geometry(luma, factor, reference.width, reference.height),
    pixels,
    width,
    height,
    channels,
  );
  return {
    // Rounding can push a mean of values within [-1, 1] an ulp outside it.
    ssim: Math.min(1, Math.max(-1, value)),
    psnrDb: psnrFromSse(sse, luma.width * luma.height),
  };
}

/** Throws a RangeError when an output of `width x height` is larger than the reference. */
function assertFits(reference: QualityReference, width: number, height: number): void {
  const { luma } = reference;
  if (width > luma.width || height > luma.height) {
    throw new RangeError(
      `output ${width}x${height} is larger than the reference ${luma.width}x${luma.height}`,
    );
  }
}

/**
 * SSIM and PSNR of a decoded output's luma against a prepared reference, at the reference's
 * resolution: a smaller output (a downscaled encode) is first upscaled bilinearly, as the receiver
 * would display it.
 *
 * @throws RangeError when the output is malformed or larger than the reference in either dimension.
 */
export function measureAgainst(reference: QualityReference, output: LumaImage): QualityMeasurement {
  assertLumaImage(output);
  assertFits(reference, output.width, output.height);
  return measureOutput(reference, output.data, output.width, output.height, 1);
}

/**
 * {@link measureAgainst} for a decoded output as interleaved 8-bit pixels (sharp's `raw()`): a
 * full-size output's luma is computed row by row as it is measured, never stored whole.
 *
 * @throws RangeError when the pixels do not match the size, or the output is larger than the
 *   reference in either dimension.
 */
export function measurePixels(
  reference: QualityReference,
  pixels: Uint8Array,
  width: number,
  height: number,
  channels: 1 | 2 | 3 | 4,
): QualityMeasurement {
  assertFits(reference, width, height);
  assertPixels(pixels, width, height, channels);
  return measureOutput(reference, pixels, width, height, channels);
}

/**
 * Mean SSIM of `b` against `a` (symmetric in its arguments), in [-1, 1]; exactly 1 for identical
 * images. See the module comment for the method and {@link SsimOptions} for the analysis factor.
 * Images smaller than 11 pixels in either dimension are compared as one uniformly weighted window.
 *
 * @throws RangeError when the images differ in size or are malformed, or the factor is invalid.
 */
export function ssim(a: LumaImage, b: LumaImage, options?: SsimOptions): number {
  assertSameSize(a, b);
  return measureAgainst(prepareReference(a, options), b).ssim;
}

/** PSNR in dB from a sum of squared 8-bit differences over `n` pixels, capped. */
function psnrFromSse(sse: number, n: number): number {
  if (sse === 0) return PSNR_CAP_DB;
  return Math.min(PSNR_CAP_DB, 10 * Math.log10((255 * 255 * n) / sse));
}

/**
 * PSNR of `b` against `a` on full-resolution luma, `10 log10(255^2 / MSE)` in dB, capped at
 * {@link PSNR_CAP_DB} (identical images, MSE 0, get exactly the cap).
 *
 * @throws RangeError when the images differ in size or are malformed.
 */
export function psnr(a: LumaImage, b: LumaImage): number {
  assertSameSize(a, b);
  const sse = squaredError(a.data, b.data);
  return psnrFromSse(sse, a.data.length);
}

/**
 * SSIM and PSNR of a decoded output frame against the decoded input, at the input's resolution:
 * an output smaller than the input (a downscaled encode) is first upscaled bilinearly, as the
 * receiver would display it. To measure several outputs of one input, prepare it once with
 * {@link prepareReference} and use {@link measureAgainst}.
 *
 * @throws RangeError when the output is larger than the reference in either dimension, either
 *   image is malformed, or the factor is invalid.
 */
export function measureQuality(
  reference: LumaImage,
  output: LumaImage,
  options?: SsimOptions,
): QualityMeasurement {
  assertLumaImage(output);
  const prepared = prepareReference(reference, options);
  return measureAgainst(prepared, output);
}
