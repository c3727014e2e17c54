import sharp, { type OutputInfo } from 'sharp';
import { FRAME_BOUNDS, type InputFormat } from '../../core/contracts/compress.ts';
import { UnprocessableFrameError, UnsupportedMediaTypeError } from '../../core/errors.ts';

/** A frame decoded to raw pixels, ready for the engine. */
export interface DecodedFrame {
  format: InputFormat;
  width: number;
  height: number;
  /** Interleaved 8-bit pixels, `channels` per pixel, alpha removed (frames are opaque). */
  pixels: Buffer;
  channels: 1 | 3;
  /** The encoded input as received. */
  original: Buffer;
}

const ACCEPTED = ['image/jpeg', 'image/png', 'image/webp'] as const;

// libvips refuses to decode more pixels than this: a small file that claims a huge image (a
// decompression bomb) fails before any pixel memory is allocated.
const PIXEL_LIMIT = FRAME_BOUNDS.maxWidth * FRAME_BOUNDS.maxHeight;

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
 * Decodes a frame after checking, in order of cost: its magic bytes (415 unless JPEG, PNG or WebP),
 * then the pixels under libvips' pixel limit, which refuses a header claiming more than 3840x2160
 * pixels before any pixel memory is allocated (422 when they do not decode), and last the
 * dimensions (422 outside 160x90..3840x2160). Reading the header in a pass of its own would cost a
 * second trip through libvips on every frame, to spare only the decode
 * of a frame that is refused anyway.
 */
export async function decodeFrame(original: Buffer): Promise<DecodedFrame> {
  const format = sniffFormat(original);
  if (!format) throw new UnsupportedMediaTypeError(ACCEPTED);
  let decoded: { data: Buffer; info: OutputInfo };
  try {
    decoded = await sharp(original, {
      limitInputPixels: PIXEL_LIMIT,
      failOn: 'error',
      sequentialRead: true,
    })
      .removeAlpha()
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
      `Frame dimensions must be between ${FRAME_BOUNDS.minWidth}x${FRAME_BOUNDS.minHeight} and ${FRAME_BOUNDS.maxWidth}x${FRAME_BOUNDS.maxHeight}`,
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
