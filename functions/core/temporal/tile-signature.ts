import type { Region } from '../quality/luma.ts';

/**
 * Which parts of a screen changed: a 32-bit hash per tile of the decoded pixels, as screen-sharing
 * protocols find dirty rectangles. A typed word moves a screen's global SSIM by less than any useful
 * threshold, but it changes the hash of every tile it touches; camera content changes every tile on
 * every frame, so only screen frames are compared this way.
 */

/** Tile edge in pixels. */
export const TILE_SIZE = 32;

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/**
 * The hash of each {@link TILE_SIZE} tile of `pixels` (row-major, `channels` bytes per pixel), tiles
 * in row-major order: FNV-1a over the tile's bytes row by row, four bytes (little-endian) at a
 * time, the bytes of a row's tail under four one at a time. Equal pixels give equal signatures,
 * however the buffer is aligned. A word at a time takes a quarter of the steps a byte at a time
 * would: this runs on every screen frame, inside its latency budget.
 */
export function tileSignature(
  pixels: Uint8Array,
  width: number,
  height: number,
  channels: number,
): Uint32Array {
  const columns = Math.ceil(width / TILE_SIZE);
  const rows = Math.ceil(height / TILE_SIZE);
  const hashes = new Uint32Array(columns * rows).fill(FNV_OFFSET);
  const rowBytes = width * channels;
  const tileBytes = TILE_SIZE * channels;
  const words = pixels.byteOffset % 4 === 0 ? wordsOf(pixels) : undefined;
  for (let y = 0; y < height; y++) {
    const tileRow = Math.floor(y / TILE_SIZE) * columns;
    const start = y * rowBytes;
    for (let column = 0; column < columns; column++) {
      const from = start + column * tileBytes;
      const to = Math.min(from + tileBytes, start + rowBytes);
      const index = tileRow + column;
      hashes[index] = hashSegment(hashes[index] as number, pixels, words, from, to);
    }
  }
  return hashes;
}

/** `pixels` as little-endian 32-bit words, for a buffer that starts on a word boundary. */
function wordsOf(pixels: Uint8Array): Uint32Array {
  return new Uint32Array(pixels.buffer, pixels.byteOffset, pixels.byteLength >>> 2);
}

/** `hash` carried over `pixels[from, to)`: whole words first, then the tail byte by byte. */
function hashSegment(
  hash: number,
  pixels: Uint8Array,
  words: Uint32Array | undefined,
  from: number,
  to: number,
): number {
  let h = hash;
  const wordEnd = from + ((to - from) & ~3);
  if (words !== undefined && from % 4 === 0) {
    for (let w = from >>> 2; w < wordEnd >>> 2; w++)
      h = Math.imul(h ^ (words[w] as number), FNV_PRIME);
  } else {
    for (let i = from; i < wordEnd; i += 4) {
      const word =
        (pixels[i] as number) |
        ((pixels[i + 1] as number) << 8) |
        ((pixels[i + 2] as number) << 16) |
        ((pixels[i + 3] as number) << 24);
      h = Math.imul(h ^ word, FNV_PRIME);
    }
  }
  for (let i = wordEnd; i < to; i++) h = Math.imul(h ^ (pixels[i] as number), FNV_PRIME);
  return h;
}

/** The signature as stored with the viewer's image. */
export function encodeSignature(signature: Uint32Array): string {
  return Buffer.from(signature.buffer, signature.byteOffset, signature.byteLength).toString(
    'base64',
  );
}

/**
 * The share of tiles whose hashes differ between two stored signatures of one frame size; 1 when
 * they are not of one size (nothing can be said to be the same).
 */
export function changedShare(a: string, b: string): number {
  const x = Buffer.from(a, 'base64');
  const y = Buffer.from(b, 'base64');
  if (x.length !== y.length || x.length === 0) return 1;
  let changed = 0;
  for (let i = 0; i < x.length; i += 4) {
    if (x.readUInt32LE(i) !== y.readUInt32LE(i)) changed++;
  }
  return changed / (x.length / 4);
}

/**
 * The indices of the tiles whose hashes differ between two stored signatures of one frame size;
 * empty when none differs or they are not of one size.
 */
export function changedTiles(a: string, b: string): number[] {
  const x = Buffer.from(a, 'base64');
  const y = Buffer.from(b, 'base64');
  if (x.length !== y.length) return [];
  const changed: number[] = [];
  for (let i = 0; i < x.length / 4; i++) {
    if (x.readUInt32LE(4 * i) !== y.readUInt32LE(4 * i)) changed.push(i);
  }
  return changed;
}

/** The pixels of tile `index` of a `width x height` frame (partial at the right and bottom). */
export function tileRegion(index: number, width: number, height: number): Region {
  const columns = Math.ceil(width / TILE_SIZE);
  const left = (index % columns) * TILE_SIZE;
  const top = Math.floor(index / columns) * TILE_SIZE;
  return {
    left,
    top,
    width: Math.min(TILE_SIZE, width - left),
    height: Math.min(TILE_SIZE, height - top),
  };
}
