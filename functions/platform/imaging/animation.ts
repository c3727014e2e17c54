/**
 * Whether an encoded frame is an animation (more than one frame), read from its container's chunks
 * without decoding a pixel. libvips decodes only the first frame of an animated WebP or PNG, so
 * without this check the rest of an animation would be dropped without a word; the decoder refuses
 * such a frame instead.
 *
 * The walk reads chunk headers only and stops at the first chunk that does not fit in the bytes:
 * truncated or garbage input is "not animated" here, and the decoder then says what is wrong with
 * it. It never throws.
 */
import type { InputFormat } from '../../core/contracts/compress.ts';

const PNG_SIGNATURE_BYTES = 8;
/** Length (4) and type (4) before a chunk's data, CRC (4) after it. */
const PNG_CHUNK_OVERHEAD = 12;
const RIFF_HEADER_BYTES = 12;
/** FourCC (4) and little-endian size (4). */
const RIFF_CHUNK_HEADER = 8;

/** A chunk type as its four bytes, compared without building strings: a walk may meet many chunks. */
const code = (name: string) => [...name].map((c) => c.charCodeAt(0));
const ACTL = code('acTL');
const IDAT = code('IDAT');
const IEND = code('IEND');
const VP8X = code('VP8X');
const ANMF = code('ANMF');
const VP8 = code('VP8 ');
const VP8L = code('VP8L');

const isType = (b: Uint8Array, at: number, type: readonly number[]) =>
  b[at] === type[0] && b[at + 1] === type[1] && b[at + 2] === type[2] && b[at + 3] === type[3];

const uint32be = (b: Uint8Array, at: number) =>
  (b[at] ?? 0) * 0x1000000 +
  (((b[at + 1] ?? 0) << 16) | ((b[at + 2] ?? 0) << 8) | (b[at + 3] ?? 0));

const uint32le = (b: Uint8Array, at: number) =>
  (b[at + 3] ?? 0) * 0x1000000 +
  (((b[at + 2] ?? 0) << 16) | ((b[at + 1] ?? 0) << 8) | (b[at] ?? 0));

/**
 * APNG: an `acTL` chunk before the first `IDAT` declares the animation's frame count. One frame
 * (or no `acTL`) is a still image.
 */
function isAnimatedPng(b: Uint8Array): boolean {
  let at = PNG_SIGNATURE_BYTES;
  while (at + PNG_CHUNK_OVERHEAD <= b.length) {
    const type = at + 4;
    if (isType(b, type, ACTL)) return uint32be(b, at + 8) > 1;
    // The APNG spec places acTL before the image data: past it there is nothing to find.
    if (isType(b, type, IDAT) || isType(b, type, IEND)) return false;
    at += PNG_CHUNK_OVERHEAD + uint32be(b, at);
  }
  return false;
}

/**
 * WebP: only the extended format (`VP8X` first) can animate; an animation is one `ANMF` chunk per
 * frame. Counting the frames, not trusting the header's animation flag alone, accepts an
 * "animation" of one frame, which decodes to exactly what it shows.
 */
function isAnimatedWebp(b: Uint8Array): boolean {
  if (!isType(b, RIFF_HEADER_BYTES, VP8X)) return false;
  let frames = 0;
  let at = RIFF_HEADER_BYTES;
  while (at + RIFF_CHUNK_HEADER <= b.length) {
    if (isType(b, at, ANMF)) {
      frames += 1;
      if (frames > 1) return true;
    }
    // A still image's bitstream: an extended file holds either it or ANMF frames, never both.
    if (isType(b, at, VP8) || isType(b, at, VP8L)) return false;
    const size = uint32le(b, at + 4);
    // Chunks are padded to an even size.
    at += RIFF_CHUNK_HEADER + size + (size % 2);
  }
  return false;
}

/**
 * True when `bytes`, already recognised as `format`, hold more than one frame: an APNG whose
 * `acTL` declares more than one frame, or a WebP with more than one `ANMF` chunk. A JPEG is
 * always a single frame.
 */
export function isAnimated(bytes: Uint8Array, format: InputFormat): boolean {
  switch (format) {
    case 'png':
      return isAnimatedPng(bytes);
    case 'webp':
      return isAnimatedWebp(bytes);
    case 'jpeg':
      return false;
  }
}
