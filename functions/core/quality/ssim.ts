/**
 * Measured image quality: SSIM and PSNR on luma (DESIGN.md section 4: measured, never estimated).
 *
 * SSIM follows Wang, Bovik, Sheikh and Simoncelli, "Image quality assessment: from error visibility
 * to structural similarity" (IEEE TIP, 2004) and their reference `ssim.m`: an 11x11 Gaussian window
 * (sigma 1.5), K1 = 0.01, K2 = 0.03, L = 255, the mean of the SSIM map over the 'valid' region (no
 * padding). Like `ssim.m`, images are first reduced by an analysis factor
 * `F = max(1, round(min(width, height) / 256))`, which models the viewing distance and keeps the
 * cost bounded; here the reduction is a mean over `F x F` blocks (edge blocks cropped) rather than
 * `ssim.m`'s symmetric-padded filter followed by subsampling, so results at `F > 1` can differ from
 * `ssim.m` in the last decimals. `F = 1` is the textbook full-resolution SSIM.
 *
 * The Gaussian window is separable, so each local statistic is one horizontal and one vertical
 * 11-tap pass. The work is split by side: {@link prepareReference} does the input's share once per
 * frame (its block means, and their filtered mean and mean square), and each output measured
 * against it filters only y, y^2 and xy. An output is consumed row by row (luma from the decoded
 * pixels, or a bilinear upscale of a downscaled output), and one pass over those rows sums the
 * squared errors for PSNR and builds the block means, so no full-size plane is stored for it. The
 * vertical pass runs over a ring of the last 11 horizontally filtered rows, and buffers are cached
 * per size, so nothing is allocated per pixel. All sums are float64: the fast path agrees with a
 * naive 2-D implementation to about 1e-13.
 */
import {
  assertLumaImage,
  bilinearRows,
  type LumaImage,
  lumaFromPixels,
  lumaRows,
  type RowWriter,
} from './luma.ts';

/** PSNR reported for identical images (an infinite PSNR has no JSON representation). */
export const PSNR_CAP_DB = 100;

/** Side of the Gaussian window, in pixels. */
export const SSIM_WINDOW = 11;

const RADIUS = (SSIM_WINDOW - 1) / 2;
const SIGMA = 1.5;
const C1 = (0.01 * 255) ** 2;
const C2 = (0.03 * 255) ** 2;
/**
 * Squared 8-bit errors are summed in int32 (`| 0`) over runs of this many pixels, then added to a
 * float total: 32 768 * 255^2 < 2^31, and a chain of integer adds is shorter than a chain of
 * floating-point adds (about 20 % faster here).
 */
const INT_SSE_RUN = 32_768;
/** Statistics filtered per output pixel: y, y^2, xy (the reference brings x and x^2). */
const STATS = 3;

/** The normalised 1-D Gaussian taps; their outer product is `fspecial('gaussian', 11, 1.5)`. */
const TAPS: Float64Array = (() => {
  const taps = new Float64Array(SSIM_WINDOW);
  let sum = 0;
  for (let k = 0; k < SSIM_WINDOW; k++) {
    const d = k - RADIUS;
    taps[k] = Math.exp(-(d * d) / (2 * SIGMA * SIGMA));
    sum += taps[k] as number;
  }
  for (let k = 0; k < SSIM_WINDOW; k++) taps[k] = (taps[k] as number) / sum;
  return taps;
})();

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
 * The analysis scale factor: Wang's automatic downsampling (`ssim.m`), rounded up instead of to the
 * nearest, `max(1, ceil(min(width, height) / 256))`, so the analysed image's short side never
 * exceeds 256 px and the cost per frame stays bounded: 2 at 640x360, 3 at 1280x720, 5 at 1920x1080
 * and 9 at 3840x2160 (`ssim.m` would use 1, 3, 4 and 8).
 */
export function analysisFactor(width: number, height: number): number {
  return Math.max(1, Math.ceil(Math.min(width, height) / 256));
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

/** Preallocated output-side buffers for one input size and analysis factor. */
interface Workspace {
  /** One full-resolution row of output luma. */
  readonly row: Uint8Array;
  /** The output's block means. */
  readonly y: Float64Array;
  /** The last 11 horizontally filtered rows, each `STATS * (width - 10)` values, interleaved. */
  readonly ring: Float64Array;
  /** `y^2` of the row being filtered. */
  readonly squares: Float64Array;
  /** `xy` of the row being filtered. */
  readonly products: Float64Array;
}

const MAX_CACHED_SIZES = 4;
/** Larger analysis planes (e.g. 4K at factor 1, 66 MB) are allocated per call, not kept. */
const MAX_CACHED_PIXELS = 1 << 21;
// Keyed by input size and factor; a measurement runs synchronously, so one set of buffers per key
// is never used by two measurements at once. Oldest entries go first (Map keeps insertion order).
const workspaces = new Map<string, Workspace>();

/** The buffers for measuring against `reference`, from the cache when its size was seen recently. */
function workspace(reference: QualityReference): Workspace {
  const { luma, factor, width, height } = reference;
  const key = `${luma.width}x${luma.height}/${factor}`;
  const cached = workspaces.get(key);
  if (cached) return cached;
  const created: Workspace = {
    row: new Uint8Array(luma.width),
    y: new Float64Array(width * height),
    ring: new Float64Array(SSIM_WINDOW * STATS * Math.max(0, width - 2 * RADIUS)),
    squares: new Float64Array(width),
    products: new Float64Array(width),
  };
  if (width * height > MAX_CACHED_PIXELS) return created;
  if (workspaces.size >= MAX_CACHED_SIZES) {
    const oldest = workspaces.keys().next().value;
    if (oldest !== undefined) workspaces.delete(oldest);
  }
  workspaces.set(key, created);
  return created;
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

/** SSIM of one window from its (weighted) means, variances and covariance. */
function ssimOf(mx: number, my: number, vx: number, vy: number, cxy: number): number {
  const mxy = mx * my;
  return ((2 * mxy + C1) * (2 * cxy + C2)) / ((mx * mx + my * my + C1) * (vx + vy + C2));
}

/** SSIM of images smaller than the window: one window, uniformly weighted, over everything. */
function wholeImageSsim(x: Float64Array, y: Float64Array, n: number): number {
  let sx = 0;
  let sy = 0;
  for (let i = 0; i < n; i++) {
    sx += x[i] as number;
    sy += y[i] as number;
  }
  const mx = sx / n;
  const my = sy / n;
  let vx = 0;
  let vy = 0;
  let cxy = 0;
  for (let i = 0; i < n; i++) {
    const dx = (x[i] as number) - mx;
    const dy = (y[i] as number) - my;
    vx += dx * dx;
    vy += dy * dy;
    cxy += dx * dy;
  }
  return ssimOf(mx, my, vx / n, vy / n, cxy / n);
}

/**
 * Horizontal 11-tap Gaussian pass: `count` outputs from `src[start ..]` into `out[offset]`,
 * `out[offset + stride]`, ... The window is symmetric (g[k] = g[10 - k]), so mirrored pairs are
 * added before the multiplication: 6 multiplications instead of 11. The reference and the output
 * side both go through here, so identical planes filter to identical bits.
 */
function filterRow(
  src: Float64Array,
  start: number,
  count: number,
  out: Float64Array,
  offset: number,
  stride: number,
): void {
  const g0 = TAPS[0] as number;
  const g1 = TAPS[1] as number;
  const g2 = TAPS[2] as number;
  const g3 = TAPS[3] as number;
  const g4 = TAPS[4] as number;
  const g5 = TAPS[5] as number;
  for (let j = 0, p = start, o = offset; j < count; j++, p++, o += stride) {
    out[o] =
      g0 * ((src[p] as number) + (src[p + 10] as number)) +
      g1 * ((src[p + 1] as number) + (src[p + 9] as number)) +
      g2 * ((src[p + 2] as number) + (src[p + 8] as number)) +
      g3 * ((src[p + 3] as number) + (src[p + 7] as number)) +
      g4 * ((src[p + 4] as number) + (src[p + 6] as number)) +
      g5 * (src[p + 5] as number);
  }
}

/** Ring offset of row `top + k` when row `r` sits in slot `r % 11` of `stride` values. */
function slot(top: number, k: number, stride: number): number {
  return ((top + k) % SSIM_WINDOW) * stride;
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
 * Adds full-resolution row `r` (bytes `src[start .. start + ow * factor]`) to the block sums of
 * analysis row `floor(r / factor)` in `dst`. Block sums are exact integers: the first row of a
 * block starts them, the last turns them into means.
 */
function addBlockRow(
  src: Uint8Array,
  start: number,
  r: number,
  factor: number,
  ow: number,
  dst: Float64Array,
): void {
  const dy = r % factor;
  const base = ((r - dy) / factor) * ow;
  if (factor === 1) {
    for (let i = 0; i < ow; i++) dst[base + i] = src[start + i] as number;
    return;
  }
  const area = factor * factor;
  for (let ox = 0, p = start; ox < ow; ox++) {
    let sum = 0;
    for (let dx = 0; dx < factor; dx++, p++) sum = (sum + (src[p] as number)) | 0;
    const i = base + ox;
    if (dy === 0) dst[i] = sum;
    else dst[i] = (dst[i] as number) + sum;
    if (dy === factor - 1) dst[i] = (dst[i] as number) / area;
  }
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
  const x = new Float64Array(width * height);
  for (let r = 0; r < height * factor; r++) {
    addBlockRow(reference.data, r * reference.width, r, factor, width, x);
  }
  const prepared = { luma: reference, factor, width, height, x };
  if (width < SSIM_WINDOW || height < SSIM_WINDOW) {
    return { ...prepared, meanX: new Float64Array(0), meanXX: new Float64Array(0) };
  }
  const ow = width - 2 * RADIUS;
  const meanX = new Float64Array(ow * (height - 2 * RADIUS));
  const meanXX = new Float64Array(meanX.length);
  const stride = 2 * ow;
  const ring = new Float64Array(SSIM_WINDOW * stride);
  const squares = new Float64Array(width);
  const g0 = TAPS[0] as number;
  const g1 = TAPS[1] as number;
  const g2 = TAPS[2] as number;
  const g3 = TAPS[3] as number;
  const g4 = TAPS[4] as number;
  const g5 = TAPS[5] as number;
  for (let r = 0; r < height; r++) {
    const row = r * width;
    for (let i = 0; i < width; i++) squares[i] = (x[row + i] as number) * (x[row + i] as number);
    const o = (r % SSIM_WINDOW) * stride;
    filterRow(x, row, ow, ring, o, 2);
    filterRow(squares, 0, ow, ring, o + 1, 2);
    if (r < SSIM_WINDOW - 1) continue;
    const top = r - (SSIM_WINDOW - 1);
    const s0 = slot(top, 0, stride);
    const s1 = slot(top, 1, stride);
    const s2 = slot(top, 2, stride);
    const s3 = slot(top, 3, stride);
    const s4 = slot(top, 4, stride);
    const s5 = slot(top, 5, stride);
    const s6 = slot(top, 6, stride);
    const s7 = slot(top, 7, stride);
    const s8 = slot(top, 8, stride);
    const s9 = slot(top, 9, stride);
    const s10 = slot(top, 10, stride);
    for (let q = 0, m = top * ow; q < stride; q += 2, m++) {
      meanX[m] =
        g0 * ((ring[s0 + q] as number) + (ring[s10 + q] as number)) +
        g1 * ((ring[s1 + q] as number) + (ring[s9 + q] as number)) +
        g2 * ((ring[s2 + q] as number) + (ring[s8 + q] as number)) +
        g3 * ((ring[s3 + q] as number) + (ring[s7 + q] as number)) +
        g4 * ((ring[s4 + q] as number) + (ring[s6 + q] as number)) +
        g5 * (ring[s5 + q] as number);
      meanXX[m] =
        g0 * ((ring[s0 + q + 1] as number) + (ring[s10 + q + 1] as number)) +
        g1 * ((ring[s1 + q + 1] as number) + (ring[s9 + q + 1] as number)) +
        g2 * ((ring[s2 + q + 1] as number) + (ring[s8 + q + 1] as number)) +
        g3 * ((ring[s3 + q + 1] as number) + (ring[s7 + q + 1] as number)) +
        g4 * ((ring[s4 + q + 1] as number) + (ring[s6 + q + 1] as number)) +
        g5 * (ring[s5 + q + 1] as number);
    }
  }
  return { ...prepared, meanX, meanXX };
}

/**
 * Mean SSIM over the valid region, from the reference's filtered statistics and the output's block
 * means `y`. Horizontal sums of output row `r` go to ring slot `r % 11`; once 11 rows are in, the
 * vertical pass turns them into one row of the SSIM map, which is summed, not stored. Three
 * statistics are filtered per output (y, y^2, xy); the reference brought the other two.
 */
function windowedSsim(reference: QualityReference, y: Float64Array, ws: Workspace): number {
  const { width, height, x, meanX, meanXX } = reference;
  const { ring, squares, products } = ws;
  const ow = width - 2 * RADIUS;
  const stride = STATS * ow;
  const g0 = TAPS[0] as number;
  const g1 = TAPS[1] as number;
  const g2 = TAPS[2] as number;
  const g3 = TAPS[3] as number;
  const g4 = TAPS[4] as number;
  const g5 = TAPS[5] as number;
  let total = 0;
  for (let r = 0; r < height; r++) {
    const row = r * width;
    for (let i = 0, p = row; i < width; i++, p++) {
      const yv = y[p] as number;
      squares[i] = yv * yv;
      products[i] = (x[p] as number) * yv;
    }
    const o = (r % SSIM_WINDOW) * stride;
    filterRow(y, row, ow, ring, o, STATS);
    filterRow(squares, 0, ow, ring, o + 1, STATS);
    filterRow(products, 0, ow, ring, o + 2, STATS);
    if (r < SSIM_WINDOW - 1) continue;
    const top = r - (SSIM_WINDOW - 1);
    const s0 = slot(top, 0, stride);
    const s1 = slot(top, 1, stride);
    const s2 = slot(top, 2, stride);
    const s3 = slot(top, 3, stride);
    const s4 = slot(top, 4, stride);
    const s5 = slot(top, 5, stride);
    const s6 = slot(top, 6, stride);
    const s7 = slot(top, 7, stride);
    const s8 = slot(top, 8, stride);
    const s9 = slot(top, 9, stride);
    const s10 = slot(top, 10, stride);
    let rowTotal = 0;
    for (let q = 0, m = top * ow; q < stride; q += STATS, m++) {
      const my =
        g0 * ((ring[s0 + q] as number) + (ring[s10 + q] as number)) +
        g1 * ((ring[s1 + q] as number) + (ring[s9 + q] as number)) +
        g2 * ((ring[s2 + q] as number) + (ring[s8 + q] as number)) +
        g3 * ((ring[s3 + q] as number) + (ring[s7 + q] as number)) +
        g4 * ((ring[s4 + q] as number) + (ring[s6 + q] as number)) +
        g5 * (ring[s5 + q] as number);
      const eyy =
        g0 * ((ring[s0 + q + 1] as number) + (ring[s10 + q + 1] as number)) +
        g1 * ((ring[s1 + q + 1] as number) + (ring[s9 + q + 1] as number)) +
        g2 * ((ring[s2 + q + 1] as number) + (ring[s8 + q + 1] as number)) +
        g3 * ((ring[s3 + q + 1] as number) + (ring[s7 + q + 1] as number)) +
        g4 * ((ring[s4 + q + 1] as number) + (ring[s6 + q + 1] as number)) +
        g5 * (ring[s5 + q + 1] as number);
      const exy =
        g0 * ((ring[s0 + q + 2] as number) + (ring[s10 + q + 2] as number)) +
        g1 * ((ring[s1 + q + 2] as number) + (ring[s9 + q + 2] as number)) +
        g2 * ((ring[s2 + q + 2] as number) + (ring[s8 + q + 2] as number)) +
        g3 * ((ring[s3 + q + 2] as number) + (ring[s7 + q + 2] as number)) +
        g4 * ((ring[s4 + q + 2] as number) + (ring[s6 + q + 2] as number)) +
        g5 * (ring[s5 + q + 2] as number);
      const mx = meanX[m] as number;
      const mxy = mx * my;
      const msq = mx * mx + my * my;
      // Written so that identical inputs give numerator === denominator bit for bit.
      rowTotal +=
        ((2 * mxy + C1) * (2 * (exy - mxy) + C2)) /
        ((msq + C1) * ((meanXX[m] as number) + eyy - msq + C2));
    }
    total += rowTotal;
  }
  return total / (ow * (height - 2 * RADIUS));
}

/**
 * SSIM and PSNR of the output whose full-resolution luma rows `write` produces, against
 * `reference`: one pass over the rows fills the output's block means and sums the squared errors,
 * then the windowed SSIM runs on the analysis plane.
 */
function measureRows(reference: QualityReference, write: RowWriter): QualityMeasurement {
  const { luma, factor, width, height } = reference;
  const ws = workspace(reference);
  const { row, y } = ws;
  const ref = luma.data;
  const croppedHeight = height * factor;
  const w = luma.width;
  let sse = 0;
  for (let r = 0; r < luma.height; r++) {
    write(r, row);
    const start = r * w;
    for (let from = 0; from < w; from += INT_SSE_RUN) {
      let runSse = 0;
      for (let i = from, end = Math.min(w, from + INT_SSE_RUN); i < end; i++) {
        const d = (ref[start + i] as number) - (row[i] as number);
        runSse = (runSse + d * d) | 0;
      }
      sse += runSse;
    }
    if (r < croppedHeight) addBlockRow(row, 0, r, factor, width, y);
  }
  const value =
    width < SSIM_WINDOW || height < SSIM_WINDOW
      ? wholeImageSsim(reference.x, y, width * height)
      : windowedSsim(reference, y, ws);
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
 * resolution: a smaller output (a downscaled encode) is upscaled bilinearly, as the receiver would
 * display it, row by row as it is measured.
 *
 * @throws RangeError when the output is malformed or larger than the reference in either dimension.
 */
export function measureAgainst(reference: QualityReference, output: LumaImage): QualityMeasurement {
  assertLumaImage(output);
  assertFits(reference, output.width, output.height);
  const { luma } = reference;
  if (output.width === luma.width && output.height === luma.height) {
    const data = output.data;
    const w = output.width;
    return measureRows(reference, (r, out) => out.set(data.subarray(r * w, (r + 1) * w)));
  }
  return measureRows(reference, bilinearRows(output, luma.width, luma.height));
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
  const { luma } = reference;
  if (width === luma.width && height === luma.height) {
    return measureRows(reference, lumaRows(pixels, width, height, channels));
  }
  return measureAgainst(reference, lumaFromPixels(pixels, width, height, channels));
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
  const x = a.data;
  const y = b.data;
  // Squared byte differences are integers; their sum stays exact far beyond 8K frames.
  let sse = 0;
  for (let start = 0; start < x.length; start += INT_SSE_RUN) {
    let runSse = 0;
    for (let i = start, end = Math.min(x.length, start + INT_SSE_RUN); i < end; i++) {
      const d = (x[i] as number) - (y[i] as number);
      runSse = (runSse + d * d) | 0;
    }
    sse += runSse;
  }
  return psnrFromSse(sse, x.length);
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
