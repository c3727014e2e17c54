/**
 * How busy a frame is, as one number the engine's cold start can use before it encodes anything:
 * the mean absolute difference between neighbouring pixels (right and below) of the green channel,
 * or of the only channel of a grey frame, on every fourth row and column. Green carries most of
 * the luma, and the subsampling keeps it a small fraction of one encode.
 *
 * Encoders spend bytes on exactly these differences, and SSIM loses them first, so the logarithm
 * of this number predicts both the size and the distortion of a frame's encodings far better than
 * the content-agnostic priors alone (see `coldStartModel` in `model.ts`).
 */

/** Rows and columns between two samples. */
const STEP = 4;

/** What one pass over a frame's sampled neighbour pairs tells. */
export interface FrameTexture {
  /** Mean absolute neighbour difference, 0..255 (see {@link frameActivity}). */
  readonly activity: number;
  /** Share of exactly equal neighbours, 0..1 (see {@link frameFlatness}). */
  readonly flatness: number;
}

/**
 * Both measures of the sampled neighbour pairs (right and below) of interleaved 8-bit pixels with
 * `channels` per pixel (1 to 4), in one pass.
 */
export function frameTexture(
  pixels: Uint8Array,
  width: number,
  height: number,
  channels: number,
): FrameTexture {
  const c = channels >= 3 ? 1 : 0;
  const stride = width * channels;
  let sum = 0;
  let equal = 0;
  let count = 0;
  for (let y = 0; y + 1 < height; y += STEP) {
    let at = y * stride + c;
    for (let x = 0; x + 1 < width; x += STEP, at += STEP * channels) {
      const value = pixels[at] as number;
      const right = pixels[at + channels] as number;
      const below = pixels[at + stride] as number;
      sum += Math.abs(value - right) + Math.abs(value - below);
      equal += (value === right ? 1 : 0) + (value === below ? 1 : 0);
      count += 2;
    }
  }
  return count === 0
    ? { activity: 0, flatness: 0 }
    : { activity: sum / count, flatness: equal / count };
}

/**
 * Mean absolute neighbour difference, 0..255, of interleaved 8-bit pixels with `channels` per
 * pixel (1 to 4).
 */
export function frameActivity(
  pixels: Uint8Array,
  width: number,
  height: number,
  channels: number,
): number {
  return frameTexture(pixels, width, height, channels).activity;
}

/**
 * The share, 0..1, of neighbouring pixel pairs (sampled as in {@link frameActivity}) that are
 * exactly equal. Rendered screens are mostly flat runs of one colour even when dense text makes them
 * as busy as a photo; camera content, with its noise, almost never repeats a value. It tells the
 * screen ladder's lossless encodings where they pay.
 */
export function frameFlatness(
  pixels: Uint8Array,
  width: number,
  height: number,
  channels: number,
): number {
  return frameTexture(pixels, width, height, channels).flatness;
}
