/**
 * Luma planes: the one-byte-per-pixel images that quality is measured on (DESIGN.md section 4).
 *
 * Pure and allocation-light: every function takes typed arrays and returns a new plane; nothing
 * here decodes images (the caller hands over sharp's raw pixels).
 */

/** A greyscale image, one byte per pixel, rows top to bottom, no padding between rows. */
export interface LumaImage {
  readonly width: number;
  readonly height: number;
  /** `width * height` luma values, row-major. */
  readonly data: Uint8Array;
}

/** Throws a RangeError unless `width` and `height` are positive integers. */
function checkSize(width: number, height: number): void {
  if (!Number.isSafeInteger(width) || width < 1 || !Number.isSafeInteger(height) || height < 1) {
    throw new RangeError(`image size must be positive integers, got ${width}x${height}`);
  }
}

/**
 * Checks that `img` has a positive integer size and exactly `width * height` bytes.
 *
 * @throws RangeError when it does not.
 */
export function assertLumaImage(img: LumaImage): void {
  checkSize(img.width, img.height);
  if (img.data.length !== img.width * img.height) {
    throw new RangeError(
      `a ${img.width}x${img.height} luma image needs ${img.width * img.height} bytes, got ${img.data.length}`,
    );
  }
}

/** Writes row `y` of an image into `out` (`width` bytes); some writers need rows top to bottom. */
export type RowWriter = (y: number, out: Uint8Array) => void;

/**
 * Luma of interleaved 8-bit pixels (sharp's `raw()` output), one row at a time; see
 * {@link lumaFromPixels}. The quality measurement streams over the rows of a decoded output with it
 * instead of holding a second full-size plane.
 *
 * @throws RangeError when the size is not positive or `raw` does not hold exactly
 *   `width * height * channels` bytes.
 */
export function lumaRows(
  raw: Uint8Array,
  width: number,
  height: number,
  channels: 1 | 2 | 3 | 4,
): RowWriter {
  checkSize(width, height);
  if (channels !== 1 && channels !== 2 && channels !== 3 && channels !== 4) {
    throw new RangeError(`channels must be 1, 2, 3 or 4, got ${channels}`);
  }
  const n = width * height;
  if (raw.length !== n * channels) {
    throw new RangeError(`expected ${n * channels} bytes of pixels, got ${raw.length}`);
  }
  const stride = width * channels;
  if (channels === 1) return (y, out) => out.set(raw.subarray(y * stride, (y + 1) * stride));
  if (channels === 2) {
    return (y, out) => {
      for (let i = 0, p = y * stride; i < width; i++, p += 2) out[i] = raw[p] as number;
    };
  }
  return (y, out) => {
    for (let i = 0, p = y * stride; i < width; i++, p += channels) {
      const v =
        0.299 * (raw[p] as number) +
        0.587 * (raw[p + 1] as number) +
        0.114 * (raw[p + 2] as number);
      // v is in [0, 255], so truncating v + 0.5 rounds half up like Math.round, without the call.
      out[i] = (v + 0.5) | 0;
    }
  };
}

/**
 * Luma of interleaved 8-bit pixels (sharp's `raw()` output).
 *
 * 3 or 4 channels: BT.601 `Y = 0.299 R + 0.587 G + 0.114 B`, rounded to the nearest integer.
 * 1 or 2 channels: the grey value. An alpha channel (the 2nd or 4th) is ignored, as video frames
 * are shown opaque.
 *
 * @throws RangeError when the size is not positive or `raw` does not hold exactly
 *   `width * height * channels` bytes.
 */
export function lumaFromPixels(
  raw: Uint8Array,
  width: number,
  height: number,
  channels: 1 | 2 | 3 | 4,
): LumaImage {
  const write = lumaRows(raw, width, height, channels);
  const data = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) write(y, data.subarray(y * width, (y + 1) * width));
  return { width, height, data };
}

/**
 * Source sample positions for one axis of a pixel-centre aligned resize (OpenCV INTER_LINEAR,
 * libvips `reduce`/`enlarge` with a linear kernel): destination pixel `d` reads source position
 * `(d + 0.5) * src / dst - 0.5`, clamped to the first and last source pixel.
 */
function axisTaps(src: number, dst: number): { lo: Int32Array; hi: Int32Array; t: Float64Array } {
  const lo = new Int32Array(dst);
  const hi = new Int32Array(dst);
  const t = new Float64Array(dst);
  const scale = src / dst;
  for (let d = 0; d < dst; d++) {
    const s = Math.min(src - 1, Math.max(0, (d + 0.5) * scale - 0.5));
    const i = Math.floor(s);
    lo[d] = i;
    hi[d] = Math.min(src - 1, i + 1);
    t[d] = s - i;
  }
  return { lo, hi, t };
}

/** One source row (starting at `start`), linearly interpolated at the columns of `cols`. */
function interpolateRow(
  src: Uint8Array,
  start: number,
  cols: { lo: Int32Array; hi: Int32Array; t: Float64Array },
  out: Float64Array,
): void {
  const { lo, hi, t } = cols;
  for (let x = 0; x < out.length; x++) {
    const l = src[start + (lo[x] as number)] as number;
    out[x] = l + (t[x] as number) * ((src[start + (hi[x] as number)] as number) - l);
  }
}

/**
 * Bilinear resize with pixel-centre alignment, one output row at a time, rounded to the nearest
 * integer; see {@link resizeBilinear}. Callers that only stream over the rows (the quality
 * measurement) never hold the whole resized image.
 *
 * @throws RangeError when `img` is malformed or the target size is not positive integers.
 */
export function bilinearRows(img: LumaImage, width: number, height: number): RowWriter {
  assertLumaImage(img);
  checkSize(width, height);
  const src = img.data;
  const sw = img.width;
  const cols = axisTaps(sw, width);
  const rows = axisTaps(img.height, height);
  // Horizontally interpolated source rows, kept while consecutive output rows share them (an
  // upscale reads each source row for several output rows).
  let upper = new Float64Array(width);
  let lower = new Float64Array(width);
  let upperRow = -1;
  let lowerRow = -1;
  return (y, out) => {
    const lo = rows.lo[y] as number;
    const hi = rows.hi[y] as number;
    if (lo === lowerRow) {
      const swap = upper;
      upper = lower;
      lower = swap;
      upperRow = lo;
      lowerRow = -1;
    }
    if (lo !== upperRow) {
      interpolateRow(src, lo * sw, cols, upper);
      upperRow = lo;
    }
    if (hi !== lowerRow) {
      interpolateRow(src, hi * sw, cols, lower);
      lowerRow = hi;
    }
    const ty = rows.t[y] as number;
    for (let x = 0; x < width; x++) {
      const a = upper[x] as number;
      // The value is in [0, 255]: truncating v + 0.5 rounds half up.
      out[x] = (a + ty * ((lower[x] as number) - a) + 0.5) | 0;
    }
  };
}

/**
 * Bilinear resize with pixel-centre alignment, rounded to the nearest integer. Used to upscale a
 * downscaled output back to the input's size, as the receiver displays it. (Downscaling works too
 * but only looks at the two nearest source pixels per axis; use {@link downsampleBox} for that.)
 *
 * @throws RangeError when `img` is malformed or the target size is not positive integers.
 */
export function resizeBilinear(img: LumaImage, width: number, height: number): LumaImage {
  assertLumaImage(img);
  checkSize(width, height);
  if (width === img.width && height === img.height)
    return { width, height, data: img.data.slice() };
  const write = bilinearRows(img, width, height);
  const data = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) write(y, data.subarray(y * width, (y + 1) * width));
  return { width, height, data };
}

/**
 * Box downsampling: each output pixel is the mean of a `factor x factor` block, rounded to the
 * nearest integer; partial blocks at the right and bottom edges are cropped, so the result is
 * `floor(width / factor) x floor(height / factor)`.
 *
 * @throws RangeError when `factor` is not a positive integer or is larger than either dimension.
 */
export function downsampleBox(img: LumaImage, factor: number): LumaImage {
  assertLumaImage(img);
  if (!Number.isSafeInteger(factor) || factor < 1) {
    throw new RangeError(`factor must be a positive integer, got ${factor}`);
  }
  if (factor > img.width || factor > img.height) {
    throw new RangeError(`factor ${factor} is larger than the ${img.width}x${img.height} image`);
  }
  const width = Math.floor(img.width / factor);
  const height = Math.floor(img.height / factor);
  const src = img.data;
  const sums = new Float64Array(width);
  const area = factor * factor;
  const data = new Uint8Array(width * height);
  for (let oy = 0; oy < height; oy++) {
    sums.fill(0);
    for (let dy = 0; dy < factor; dy++) {
      for (let ox = 0, p = (oy * factor + dy) * img.width; ox < width; ox++) {
        let s = 0;
        for (let dx = 0; dx < factor; dx++, p++) s += src[p] as number;
        sums[ox] = (sums[ox] as number) + s;
      }
    }
    // Means are in [0, 255]: truncating mean + 0.5 rounds half up.
    for (let ox = 0; ox < width; ox++)
      data[oy * width + ox] = ((sums[ox] as number) / area + 0.5) | 0;
  }
  return { width, height, data };
}
