/**
 * Which parts of a screen changed: a 32-bit hash per tile of the decoded pixels, as screen-sharing
 * protocols find dirty rectangles. A typed word moves a screen's global SSIM by less than any useful
 * threshold, but it changes the hash of every tile it touches; camera content changes every tile on
 * every frame, so only screen frames are compared this way.
 */

/** Tile edge in pixels. */
export const TILE_SIZE = 32;

/**
 * The hash of each {@link TILE_SIZE} tile of `pixels` (row-major, `channels` bytes per pixel), tiles
 * in row-major order; FNV-1a over the tile's bytes row by row. Equal pixels give equal signatures.
 */
export function tileSignature(
  pixels: Uint8Array,
  width: number,
  height: number,
  channels: number,
): Uint32Array {
  const columns = Math.ceil(width / TILE_SIZE);
  const rows = Math.ceil(height / TILE_SIZE);
  const hashes = new Uint32Array(columns * rows).fill(0x811c9dc5);
  const rowBytes = width * channels;
  const tileBytes = TILE_SIZE * channels;
  for (let y = 0; y < height; y++) {
    const tileRow = Math.floor(y / TILE_SIZE) * columns;
    const start = y * rowBytes;
    for (let column = 0; column < columns; column++) {
      let hash = hashes[tileRow + column] as number;
      const end = Math.min(start + (column + 1) * tileBytes, start + rowBytes);
      for (let i = start + column * tileBytes; i < end; i++) {
        hash = Math.imul(hash ^ (pixels[i] as number), 0x01000193);
      }
      hashes[tileRow + column] = hash;
    }
  }
  return hashes;
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
