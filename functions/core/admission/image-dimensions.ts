/**
 * The width and height an encoded JPEG, PNG or WebP frame declares in its header, read without
 * decoding a pixel: what a frame will cost once decoded is known before the decode is allowed to
 * start (docs/design.md section 3). A header that cannot be read gives undefined; the decoder then
 * says what is wrong with the frame.
 */

/** Dimensions in pixels. */
export interface ImageDimensions {
  width: number;
  height: number;
}

const uint16be = (b: Uint8Array, at: number) => ((b[at] ?? 0) << 8) | (b[at + 1] ?? 0);
const uint16le = (b: Uint8Array, at: number) => (b[at] ?? 0) | ((b[at + 1] ?? 0) << 8);
const uint24le = (b: Uint8Array, at: number) => uint16le(b, at) | ((b[at + 2] ?? 0) << 16);
const uint32be = (b: Uint8Array, at: number) => uint16be(b, at) * 0x10000 + uint16be(b, at + 2);
const ascii = (b: Uint8Array, at: number, length: number) =>
  String.fromCharCode(...b.subarray(at, at + length));

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** PNG: the IHDR chunk comes first, right after the signature. */
function pngDimensions(b: Uint8Array): ImageDimensions | undefined {
  if (b.length < 24 || ascii(b, 12, 4) !== 'IHDR') return undefined;
  return { width: uint32be(b, 16), height: uint32be(b, 20) };
}

/** WebP: the first chunk is VP8 (lossy), VP8L (lossless) or VP8X (extended, with the canvas size). */
function webpDimensions(b: Uint8Array): ImageDimensions | undefined {
  const chunk = ascii(b, 12, 4);
  if (chunk === 'VP8 ' && b.length >= 30) {
    if (b[23] !== 0x9d || b[24] !== 0x01 || b[25] !== 0x2a) return undefined;
    return { width: uint16le(b, 26) & 0x3fff, height: uint16le(b, 28) & 0x3fff };
  }
  if (chunk === 'VP8L' && b.length >= 25) {
    if (b[20] !== 0x2f) return undefined;
    const bits = uint16le(b, 21) + (b[23] ?? 0) * 0x10000 + (b[24] ?? 0) * 0x1000000;
    return { width: (bits & 0x3fff) + 1, height: (Math.floor(bits / 0x4000) & 0x3fff) + 1 };
  }
  if (chunk === 'VP8X' && b.length >= 30) {
    return { width: uint24le(b, 24) + 1, height: uint24le(b, 27) + 1 };
  }
  return undefined;
}

/** Start-of-frame markers (baseline, progressive, lossless, arithmetic): they carry the size. */
const JPEG_SOF = new Set([
  0xc0, 0xc1, 0xc2, 0xc3, 0xc5, 0xc6, 0xc7, 0xc9, 0xca, 0xcb, 0xcd, 0xce, 0xcf,
]);

/** JPEG: the segments before the first start-of-frame are skipped by their lengths. */
function jpegDimensions(b: Uint8Array): ImageDimensions | undefined {
  let at = 2;
  while (at + 1 < b.length) {
    if (b[at] !== 0xff) return undefined;
    const marker = b[at + 1] as number;
    // Fill bytes, and markers that stand alone without a length.
    if (marker === 0xff) {
      at += 1;
      continue;
    }
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd8)) {
      at += 2;
      continue;
    }
    // The scan or the end came before any frame header.
    if (marker === 0xda || marker === 0xd9) return undefined;
    if (JPEG_SOF.has(marker)) {
      if (at + 9 > b.length) return undefined;
      return { width: uint16be(b, at + 7), height: uint16be(b, at + 5) };
    }
    const length = uint16be(b, at + 2);
    if (length < 2) return undefined;
    at += 2 + length;
  }
  return undefined;
}

/** The dimensions `bytes` declare, or undefined when they are not a readable JPEG, PNG or WebP. */
export function readImageDimensions(bytes: Uint8Array): ImageDimensions | undefined {
  let dimensions: ImageDimensions | undefined;
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) {
    dimensions = jpegDimensions(bytes);
  } else if (PNG_SIGNATURE.every((byte, i) => bytes[i] === byte)) {
    dimensions = pngDimensions(bytes);
  } else if (bytes.length >= 16 && ascii(bytes, 0, 4) === 'RIFF' && ascii(bytes, 8, 4) === 'WEBP') {
    dimensions = webpDimensions(bytes);
  }
  // A declared zero (a JPEG whose height comes later, in a DNL segment) says nothing of the cost.
  if (!dimensions || dimensions.width < 1 || dimensions.height < 1) return undefined;
  return dimensions;
}
