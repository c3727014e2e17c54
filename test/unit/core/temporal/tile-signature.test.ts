import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  changedRegion,
  changedShare,
  encodeSignature,
  TILE_SIZE,
  tileSignature,
} from '../../../../functions/core/temporal/tile-signature.ts';

const WIDTH = 100;
const HEIGHT = 70;

function screen(seed: number): Uint8Array {
  const pixels = new Uint8Array(WIDTH * HEIGHT * 3);
  for (let i = 0; i < pixels.length; i++) pixels[i] = (i * 31 + seed) % 251;
  return pixels;
}

describe('the tile signature of a screen', () => {
  it('is the same for the same pixels, with a hash for every tile, partial ones included', () => {
    const a = tileSignature(screen(1), WIDTH, HEIGHT, 3);
    expect(a.length).toBe(Math.ceil(WIDTH / TILE_SIZE) * Math.ceil(HEIGHT / TILE_SIZE));
    expect(encodeSignature(tileSignature(screen(1), WIDTH, HEIGHT, 3))).toBe(encodeSignature(a));
  });

  it('changes in exactly the tile where one pixel changed', () => {
    const before = tileSignature(screen(1), WIDTH, HEIGHT, 3);
    const pixels = screen(1);
    const x = 70;
    const y = 40;
    const at = (y * WIDTH + x) * 3 + 1;
    pixels[at] = (pixels[at] ?? 0) ^ 1;
    const after = tileSignature(pixels, WIDTH, HEIGHT, 3);
    const changed = [...after.keys()].filter((i) => after[i] !== before[i]);
    const columns = Math.ceil(WIDTH / TILE_SIZE);
    expect(changed).toEqual([Math.floor(y / TILE_SIZE) * columns + Math.floor(x / TILE_SIZE)]);
  });

  it('is the same for the same pixels wherever the buffer starts, for odd widths and grey too', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 90 }),
        fc.integer({ min: 1, max: 40 }),
        fc.constantFrom(1, 3),
        fc.integer({ min: 0, max: 3 }),
        fc.integer({ min: 0, max: 1000 }),
        (width, height, channels, shift, seed) => {
          const length = width * height * channels;
          const aligned = new Uint8Array(length);
          for (let i = 0; i < length; i++) aligned[i] = (i * 131 + seed) % 256;
          const shifted = new Uint8Array(new ArrayBuffer(length + 4), shift, length);
          shifted.set(aligned);
          expect(tileSignature(shifted, width, height, channels)).toEqual(
            tileSignature(aligned, width, height, channels),
          );
        },
      ),
    );
  });

  it('tells the share of tiles that changed between two signatures', () => {
    const before = tileSignature(screen(1), WIDTH, HEIGHT, 3);
    const after = Uint32Array.from(before);
    after[0] = (after[0] ?? 0) + 1;
    expect(changedShare(encodeSignature(before), encodeSignature(before))).toBe(0);
    expect(changedShare(encodeSignature(before), encodeSignature(after))).toBe(1 / before.length);
    expect(changedShare(encodeSignature(before), '')).toBe(1);
  });

  it('bounds the tiles that changed, partial tiles at the edges clipped to the frame', () => {
    const before = tileSignature(screen(1), WIDTH, HEIGHT, 3);
    const columns = Math.ceil(WIDTH / TILE_SIZE);
    const after = Uint32Array.from(before);
    // The tile in the first row, second column, and the last tile (right and bottom edges).
    after[1] = (after[1] ?? 0) + 1;
    after[after.length - 1] = (after[after.length - 1] ?? 0) + 1;
    const [a, b] = [encodeSignature(before), encodeSignature(after)];
    expect(changedRegion(a, b, WIDTH, HEIGHT)).toEqual({
      left: TILE_SIZE,
      top: 0,
      width: WIDTH - TILE_SIZE,
      height: HEIGHT,
    });
    const one = Uint32Array.from(before);
    one[columns + 2] = (one[columns + 2] ?? 0) + 1;
    expect(changedRegion(a, encodeSignature(one), WIDTH, HEIGHT)).toEqual({
      left: 2 * TILE_SIZE,
      top: TILE_SIZE,
      width: TILE_SIZE,
      height: TILE_SIZE,
    });
    expect(changedRegion(a, a, WIDTH, HEIGHT)).toBeUndefined();
    expect(changedRegion(a, b, WIDTH * 2, HEIGHT)).toBeUndefined();
  });
});
