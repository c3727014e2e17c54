import sharp, { type OutputInfo } from 'sharp';
import { FRAME_BOUNDS, type InputFormat } from '../../core/contracts/compress.ts';
import { UnprocessableFrameError, UnsupportedMediaTypeError } from '../../core/errors.ts';
import { isAnimated } from './animation.ts';

/** A frame decoded to raw pixels, ready for the engine. */
export interface DecodedFrame {
  format: InputFormat;
  width: number;
  height: number;
  /**
   * Interleaved 8-bit sRGB pixels, `channels` per pixel, turned upright by the EXIF orientation,
   * any alpha composited over black (frames are shown opaque).
   */
  pixels: Buffer;
  channels: 1 | 3;
  /** The encoded input as received. */
  original: Buffer;
}

const ACCEPTED = ['image/jpeg', 'image/png', 'image/webp'] as const;

// libvips refuses to decode more pixels than this: a small file that claims a huge image (a
// decompression bomb) fails before any pixel memory is allocated.
const PIXEL_LIMIT = FRAME_BOUNDS.maxWidth * FRAME_BOUNDS.maxHeight;

// Transparent pixels become black. A WebRTC pipeline converts frames to I420, which has no alpha
// plane: a source that premultiplies its alpha (as compositors and canvases do) hands it black
// there, so a viewer sees black where the frame was transparent. Compositing over one fixed colour
// also keeps a frame's output the same on every run, whatever its transparent pixels hold.
const FLATTEN_BACKGROUND = '#000000';

/** The refusal of an animation: one request carries one frame. */
function animatedImageError(): UnprocessableFrameError {
  const message = 'Animated images are not accepted: send one frame per request';
  return new UnprocessableFrameError(message, {
    details: [{ field: 'frame_data', code: 'animated_image', message }],
  });
}

/** The input format from the file's magic bytes; the declared content type is not trusted. */
export function sniffFormat(bytes: Uint8Array): InputFormat | undefined {
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff)
    return 'jpeg';
  if (
    bytes.length >= 8 &&
    bytes[0] === 0x89 &&
    bytes[1] === 0x50 &&
    bytes[2] === 0x4e &&
    bytes[3] === 0x47 &&
    bytes[4] === 0x0d &&
    bytes[5] === 0x0a &&
    bytes[6] === 0x1a &&
    bytes[7] === 0x0a
  ) {
    return 'png';
  }
  if (
    bytes.length >= 12 &&
    Buffer.from(bytes.subarray(0, 4)).toString('latin1') === 'RIFF' &&
    Buffer.from(bytes.subarray(8, 12)).toString('latin1') === 'WEBP'
  ) {
    return 'webp';
  }
  return undefined;
}

/**
 * Decodes a frame as a camera or a screen shows it, after checking, in order of cost: its magic
 * bytes (415 unless JPEG, PNG or WebP), its chunks (422 for an animated WebP or PNG), then the
 * pixels under libvips' pixel limit, which refuses a header claiming more than 3840x2160 pixels
 * before any pixel memory is allocated (422 when they do not decode), and last the dimensions
 * (422 outside 160x90..3840x2160). Reading the header in a pass of its own would cost a second
 * trip through libvips on every frame, to spare only the decode of a frame that is refused anyway.
 *
 * The pixels are turned by the EXIF orientation, so the dimensions checked and answered are the
 * upright image's (a 3840x2160 JPEG tagged as turned a quarter is 2160x3840, out of bounds like a
 * frame stored that way); converted to sRGB from an embedded ICC profile (Display P3, CMYK);
 * reduced to 8 bits; any alpha composited over black.
 */
export async function decodeFrame(original: Buffer): Promise<DecodedFrame> {
  const format = sniffFormat(original);
  if (!format) throw new UnsupportedMediaTypeError(ACCEPTED);
  if (isAnimated(original, format)) throw animatedImageError();
  let decoded: { data: Buffer; info: OutputInfo };
  try {
    decoded = await sharp(original, {
      limitInputPixels: PIXEL_LIMIT,
      failOn: 'error',
      sequentialRead: true,
      autoOrient: true,
    })
      // Flattening drops the alpha channel: the engine's pixels and every encoding are opaque.
      .flatten({ background: FLATTEN_BACKGROUND })
      .raw()
      .toBuffer({ resolveWithObject: true });
  } catch (error) {
    throw new UnprocessableFrameError('The frame cannot be decoded', { cause: error });
  }
  const { data, info } = decoded;
  if (
    info.width < FRAME_BOUNDS.minWidth ||
    info.height < FRAME_BOUNDS.minHeight ||
    info.width > FRAME_BOUNDS.maxWidth ||
    info.height > FRAME_BOUNDS.maxHeight
  ) {
    throw new UnprocessableFrameError(
      `Frame dimensions must be between ${FRAME_BOUNDS.minWidth}x${FRAME_BOUNDS.minHeight} and ${FRAME_BOUNDS.maxWidth}x${FRAME_BOUNDS.maxHeight} (after EXIF orientation); this frame is ${info.width}x${info.height}`,
    );
  }
  const channels = info.channels === 1 ? 1 : 3;
  if (info.channels !== channels) {
    throw new UnprocessableFrameError('The frame cannot be decoded', {
      cause: new Error(`unexpected ${info.channels} channels`),
    });
  }
  return { format, width: info.width, height: info.height, pixels: data, channels, original };
}
