/**
 * Luma planes: the one-byte-per-pixel images that quality is measured on (docs/design.md section 4).
 *
 * Pure: every function takes typed arrays and returns a new plane; nothing here decodes images
 * (the caller hands over sharp's raw pixels). Luma and the bilinear resize run in WebAssembly
 * (wasm/quality.c, see wasm/kernels.ts).
 */
import { lumaOf, resize } from './wasm/kernels.ts';

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

/**
 * Checks interleaved 8-bit pixels: a positive integer size, 1 to 4 channels and exactly
 * `width * height * channels` bytes.
 *
 * @throws RangeError when they do not.
 */
export function assertPixels(
  raw: Uint8Array,
  width: number,
  height: number,
  channels: 1 | 2 | 3 | 4,
): void {
  checkSize(width, height);
  if (channels !== 1 && channels !== 2 && channels !== 3 && channels !== 4) {
    throw new RangeError(`channels must be 1, 2, 3 or 4, got ${channels}`);
  }
  const n = width * height;
  if (raw.length !== n * channels) {
    throw new RangeError(`expected ${n * channels} bytes of pixels, got ${raw.length}`);
  }
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
  assertPixels(raw, width, height, channels);
  return { width, height, data: lumaOf(raw, width * height, channels) };
}

/**
 * Bilinear resize with pixel-centre alignment, its weights in 1/256ths (as libyuv and GPU texture
 * filtering), rounded to the nearest integer. Used to upscale a downscaled output back to the
 * input's size, as the receiver displays it. (Downscaling works too
 * but only looks at the two nearest source pixels per axis; use {@link downsampleBox} for that.)
 *
 * @throws RangeError when `img` is malformed or the target size is not positive integers.
 */
export function resizeBilinear(img: LumaImage, width: number, height: number): LumaImage {
  assertLumaImage(img);
  checkSize(width, height);
  if (width === img.width && height === img.height)
    return { width, height, data: img.data.slice() };
  return { width, height, data: resize(img.data, img.width, img.height, width, height) };
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

/** A rectangle of an image, in pixels. */
export interface Region {
  readonly left: number;
  readonly top: number;
  readonly width: number;
  readonly height: number;
}

/**
 * The `region` of a luma image, copied.
 *
 * @throws RangeError when the region is empty or not inside the image.
 */
export function cropLuma(image: LumaImage, region: Region): LumaImage {
  const { left, top, width, height } = region;
  const inside =
    Number.isInteger(left) &&
    Number.isInteger(top) &&
    left >= 0 &&
    top >= 0 &&
    left + width <= image.width &&
    top + height <= image.height;
  if (!inside) throw new RangeError('the region is not inside the image');
  checkSize(width, height);
  const data = new Uint8Array(width * height);
  for (let row = 0; row < height; row++) {
    const from = (top + row) * image.width + left;
    data.set(image.data.subarray(from, from + width), row * width);
  }
  return { width, height, data };
}
