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
 * 11-tap pass; SSIM only needs sigma_x^2 + sigma_y^2, so four are filtered (x, y, x^2 + y^2, xy)
 * instead of five. Both passes run together over a ring of the last 11 horizontally filtered rows,
 * so the working set is a few rows wide and nothing is allocated per pixel; buffers are cached per
 * analysis size. Block means for SSIM and the squared errors for PSNR come from one pass over the
 * full-resolution bytes. All sums are float64: the fast path agrees with a naive 2-D
 * implementation to about 1e-13.
 */
import { assertLumaImage, type LumaImage, resizeBilinear } from './luma.ts';

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
/** Statistics kept per horizontally filtered pixel: x, y, x^2 + y^2, xy. */
const STATS = 4;

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

/** Preallocated buffers for one analysis size. */
interface Workspace {
  readonly x: Float64Array;
  readonly y: Float64Array;
  /** The last 11 horizontally filtered rows, each `STATS * (width - 10)` values, interleaved. */
  readonly ring: Float64Array;
  /** `x^2 + y^2` of the row being filtered. */
  readonly squares: Float64Array;
  /** `xy` of the row being filtered. */
  readonly products: Float64Array;
}

const MAX_CACHED_SIZES = 4;
/** Larger analysis planes (e.g. 4K at factor 1, 133 MB) are allocated per call, not kept. */
const MAX_CACHED_PIXELS = 1 << 21;
// Keyed by analysis size; everything here runs synchronously, so one set of buffers per size is
// never used by two measurements at once. Oldest entries go first (Map keeps insertion order).
const workspaces = new Map<string, Workspace>();

/** The buffers for a `width x height` analysis, from the cache when that size was seen recently. */
function workspace(width: number, height: number): Workspace {
  const key = `${width}x${height}`;
  const cached = workspaces.get(key);
  if (cached) return cached;
  const created: Workspace = {
    x: new Float64Array(width * height),
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
 * Mean SSIM over the valid region of two `width x height` planes (both at least 11 x 11), with
 * the separable Gaussian window. Horizontal sums of row `r` go to ring slot `r % 11`; once 11 rows
 * are in, the vertical pass turns them into one row of the SSIM map, which is summed, not stored.
 *
 * SSIM needs only sigma_x^2 + sigma_y^2, never the two apart, so four statistics are filtered:
 * x, y, x^2 + y^2 and xy.
 */
function windowedSsim(
  x: Float64Array,
  y: Float64Array,
  width: number,
  height: number,
  ws: Workspace,
): number {
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
      const xv = x[p] as number;
      const yv = y[p] as number;
      squares[i] = xv * xv + yv * yv;
      products[i] = xv * yv;
    }
    // Horizontal pass over row r. The window is symmetric (g[k] = g[10 - k]), so mirrored pairs
    // are added before the multiplication: 6 multiplications per statistic instead of 11.
    let o = (r % SSIM_WINDOW) * stride;
    for (let j = 0, p = row; j < ow; j++, p++) {
      ring[o] =
        g0 * ((x[p] as number) + (x[p + 10] as number)) +
        g1 * ((x[p + 1] as number) + (x[p + 9] as number)) +
        g2 * ((x[p + 2] as number) + (x[p + 8] as number)) +
        g3 * ((x[p + 3] as number) + (x[p + 7] as number)) +
        g4 * ((x[p + 4] as number) + (x[p + 6] as number)) +
        g5 * (x[p + 5] as number);
      ring[o + 1] =
        g0 * ((y[p] as number) + (y[p + 10] as number)) +
        g1 * ((y[p + 1] as number) + (y[p + 9] as number)) +
        g2 * ((y[p + 2] as number) + (y[p + 8] as number)) +
        g3 * ((y[p + 3] as number) + (y[p + 7] as number)) +
        g4 * ((y[p + 4] as number) + (y[p + 6] as number)) +
        g5 * (y[p + 5] as number);
      ring[o + 2] =
        g0 * ((squares[j] as number) + (squares[j + 10] as number)) +
        g1 * ((squares[j + 1] as number) + (squares[j + 9] as number)) +
        g2 * ((squares[j + 2] as number) + (squares[j + 8] as number)) +
        g3 * ((squares[j + 3] as number) + (squares[j + 7] as number)) +
        g4 * ((squares[j + 4] as number) + (squares[j + 6] as number)) +
        g5 * (squares[j + 5] as number);
      ring[o + 3] =
        g0 * ((products[j] as number) + (products[j + 10] as number)) +
        g1 * ((products[j + 1] as number) + (products[j + 9] as number)) +
        g2 * ((products[j + 2] as number) + (products[j + 8] as number)) +
        g3 * ((products[j + 3] as number) + (products[j + 7] as number)) +
        g4 * ((products[j + 4] as number) + (products[j + 6] as number)) +
        g5 * (products[j + 5] as number);
      o += STATS;
    }
    if (r < SSIM_WINDOW - 1) continue;
    // Vertical pass: rows r - 10 .. r sit in slots (r - 10 + k) % 11, k = 0 .. 10.
    const top = r - (SSIM_WINDOW - 1);
    const s0 = (top % SSIM_WINDOW) * stride;
    const s1 = ((top + 1) % SSIM_WINDOW) * stride;
    const s2 = ((top + 2) % SSIM_WINDOW) * stride;
    const s3 = ((top + 3) % SSIM_WINDOW) * stride;
    const s4 = ((top + 4) % SSIM_WINDOW) * stride;
    const s5 = ((top + 5) % SSIM_WINDOW) * stride;
    const s6 = ((top + 6) % SSIM_WINDOW) * stride;
    const s7 = ((top + 7) % SSIM_WINDOW) * stride;
    const s8 = ((top + 8) % SSIM_WINDOW) * stride;
    const s9 = ((top + 9) % SSIM_WINDOW) * stride;
    const s10 = ((top + 10) % SSIM_WINDOW) * stride;
    let rowTotal = 0;
    for (let q = 0; q < stride; q += STATS) {
      const mx =
        g0 * ((ring[s0 + q] as number) + (ring[s10 + q] as number)) +
        g1 * ((ring[s1 + q] as number) + (ring[s9 + q] as number)) +
        g2 * ((ring[s2 + q] as number) + (ring[s8 + q] as number)) +
        g3 * ((ring[s3 + q] as number) + (ring[s7 + q] as number)) +
        g4 * ((ring[s4 + q] as number) + (ring[s6 + q] as number)) +
        g5 * (ring[s5 + q] as number);
      const my =
        g0 * ((ring[s0 + q + 1] as number) + (ring[s10 + q + 1] as number)) +
        g1 * ((ring[s1 + q + 1] as number) + (ring[s9 + q + 1] as number)) +
        g2 * ((ring[s2 + q + 1] as number) + (ring[s8 + q + 1] as number)) +
        g3 * ((ring[s3 + q + 1] as number) + (ring[s7 + q + 1] as number)) +
        g4 * ((ring[s4 + q + 1] as number) + (ring[s6 + q + 1] as number)) +
        g5 * (ring[s5 + q + 1] as number);
      const esq =
        g0 * ((ring[s0 + q + 2] as number) + (ring[s10 + q + 2] as number)) +
        g1 * ((ring[s1 + q + 2] as number) + (ring[s9 + q + 2] as number)) +
        g2 * ((ring[s2 + q + 2] as number) + (ring[s8 + q + 2] as number)) +
        g3 * ((ring[s3 + q + 2] as number) + (ring[s7 + q + 2] as number)) +
        g4 * ((ring[s4 + q + 2] as number) + (ring[s6 + q + 2] as number)) +
        g5 * (ring[s5 + q + 2] as number);
      const exy =
        g0 * ((ring[s0 + q + 3] as number) + (ring[s10 + q + 3] as number)) +
        g1 * ((ring[s1 + q + 3] as number) + (ring[s9 + q + 3] as number)) +
        g2 * ((ring[s2 + q + 3] as number) + (ring[s8 + q + 3] as number)) +
        g3 * ((ring[s3 + q + 3] as number) + (ring[s7 + q + 3] as number)) +
        g4 * ((ring[s4 + q + 3] as number) + (ring[s6 + q + 3] as number)) +
        g5 * (ring[s5 + q + 3] as number);
      const mxy = mx * my;
      const msq = mx * mx + my * my;
      // Written so that identical inputs give numerator === denominator bit for bit.
      rowTotal += ((2 * mxy + C1) * (2 * (exy - mxy) + C2)) / ((msq + C1) * (esq - msq + C2));
    }
    total += rowTotal;
  }
  return total / (ow * (height - 2 * RADIUS));
}

/** Validates an explicit factor, or picks the automatic one. */
function requestedFactor(width: number, height: number, options: SsimOptions | undefined): number {
  const factor = options?.factor;
  if (factor === undefined) return analysisFactor(width, height);
  if (!Number.isSafeInteger(factor) || factor < 1) {
    throw new RangeError(`factor must be a positive integer, got ${factor}`);
  }
  return factor;
}

/**
 * One pass over both full-resolution images: fills `x` and `y` with the `factor x factor` block
 * means (edge blocks cropped) and returns the sum of squared differences over every pixel, so
 * {@link measureQuality} reads each input byte once for both SSIM and PSNR.
 */
function analysisPlanes(
  a: LumaImage,
  b: LumaImage,
  factor: number,
  x: Float64Array,
  y: Float64Array,
): number {
  const pa = a.data;
  const pb = b.data;
  const width = a.width;
  const height = a.height;
  let sse = 0;
  if (factor === 1) {
    for (let start = 0; start < pa.length; start += INT_SSE_RUN) {
      let runSse = 0;
      for (let i = start, end = Math.min(pa.length, start + INT_SSE_RUN); i < end; i++) {
        const av = pa[i] as number;
        const bv = pb[i] as number;
        x[i] = av;
        y[i] = bv;
        const d = av - bv;
        runSse = (runSse + d * d) | 0;
      }
      sse += runSse;
    }
    return sse;
  }
  const ow = Math.floor(width / factor);
  const croppedHeight = Math.floor(height / factor) * factor;
  const area = factor * factor;
  // Flushing before the next block could overflow int32 (any image that fits in memory keeps
  // factor * 255^2 far below 2^31).
  const flushAbove = 0x7fffffff - factor * 255 * 255;
  for (let r = 0; r < height; r++) {
    const start = r * width;
    const end = start + width;
    let p = start;
    let rowSse = 0;
    if (r < croppedHeight) {
      const dy = r % factor;
      const dst = ((r - dy) / factor) * ow;
      for (let ox = 0; ox < ow; ox++) {
        let sa = 0;
        let sb = 0;
        for (let dx = 0; dx < factor; dx++, p++) {
          const av = pa[p] as number;
          const bv = pb[p] as number;
          sa = (sa + av) | 0;
          sb = (sb + bv) | 0;
          const d = av - bv;
          rowSse = (rowSse + d * d) | 0;
        }
        if (rowSse > flushAbove) {
          sse += rowSse;
          rowSse = 0;
        }
        // Block sums are exact integers; the first row starts them, the last turns them into means.
        const i = dst + ox;
        if (dy === 0) {
          x[i] = sa;
          y[i] = sb;
        } else if (dy === factor - 1) {
          x[i] = ((x[i] as number) + sa) / area;
          y[i] = ((y[i] as number) + sb) / area;
        } else {
          x[i] = (x[i] as number) + sa;
          y[i] = (y[i] as number) + sb;
        }
      }
    }
    sse += rowSse;
    // The cropped right and bottom edges count for PSNR only; they are few, so a float sum is fine.
    for (; p < end; p++) {
      const d = (pa[p] as number) - (pb[p] as number);
      sse += d * d;
    }
  }
  return sse;
}

/** SSIM (see {@link ssim}) and the full-resolution sum of squared differences of two images. */
function measure(
  a: LumaImage,
  b: LumaImage,
  options: SsimOptions | undefined,
): { ssim: number; sse: number } {
  assertSameSize(a, b);
  const requested = requestedFactor(a.width, a.height, options);
  // Never reduce below the window: the largest factor that keeps 11 pixels, at least 1.
  const fit = Math.floor(Math.min(a.width, a.height) / SSIM_WINDOW);
  const factor = Math.max(1, Math.min(requested, fit));
  const width = Math.floor(a.width / factor);
  const height = Math.floor(a.height / factor);
  const ws = workspace(width, height);
  const sse = analysisPlanes(a, b, factor, ws.x, ws.y);
  const value =
    width < SSIM_WINDOW || height < SSIM_WINDOW
      ? wholeImageSsim(ws.x, ws.y, width * height)
      : windowedSsim(ws.x, ws.y, width, height, ws);
  // Rounding can push a mean of values within [-1, 1] an ulp outside it.
  return { ssim: Math.min(1, Math.max(-1, value)), sse };
}

/**
 * Mean SSIM of `b` against `a` (symmetric in its arguments), in [-1, 1]; exactly 1 for identical
 * images. See the module comment for the method and {@link SsimOptions} for the analysis factor.
 * Images smaller than 11 pixels in either dimension are compared as one uniformly weighted window.
 *
 * @throws RangeError when the images differ in size or are malformed, or the factor is invalid.
 */
export function ssim(a: LumaImage, b: LumaImage, options?: SsimOptions): number {
  return measure(a, b, options).ssim;
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
 * receiver would display it.
 *
 * @throws RangeError when the output is larger than the reference in either dimension, either
 *   image is malformed, or the factor is invalid.
 */
export function measureQuality(
  reference: LumaImage,
  output: LumaImage,
  options?: SsimOptions,
): QualityMeasurement {
  assertLumaImage(reference);
  assertLumaImage(output);
  if (output.width > reference.width || output.height > reference.height) {
    throw new RangeError(
      `output ${output.width}x${output.height} is larger than the reference ${reference.width}x${reference.height}`,
    );
  }
  const shown =
    output.width === reference.width && output.height === reference.height
      ? output
      : resizeBilinear(output, reference.width, reference.height);
  const { ssim, sse } = measure(reference, shown, options);
  return { ssim, psnrDb: psnrFromSse(sse, reference.width * reference.height) };
}
