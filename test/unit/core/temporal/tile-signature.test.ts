import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  changedShare,
  changedTiles,
  encodeSignature,
  TILE_SIZE,
  tileRegion,
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

  it('names the tiles that changed, and where each lies, partial tiles clipped to the frame', () => {
    const before = tileSignature(screen(1), WIDTH, HEIGHT, 3);
    const after = Uint32Array.from(before);
    after[1] = (after[1] ?? 0) + 1;
    after[after.length - 1] = (after[after.length - 1] ?? 0) + 1;
    const [a, b] = [encodeSignature(before), encodeSignature(after)];
    expect(changedTiles(a, b)).toEqual([1, before.length - 1]);
    expect(changedTiles(a, a)).toEqual([]);
    expect(changedTiles(a, '')).toEqual([]);
    expect(tileRegion(1, WIDTH, HEIGHT)).toEqual({
      left: TILE_SIZE,
      top: 0,
      width: TILE_SIZE,
      height: TILE_SIZE,
    });
    // 100x70 in 32 px tiles: the last is the 4 x 6 px corner.
    expect(tileRegion(before.length - 1, WIDTH, HEIGHT)).toEqual({
      left: 3 * TILE_SIZE,
      top: 2 * TILE_SIZE,
      width: WIDTH - 3 * TILE_SIZE,
      height: HEIGHT - 2 * TILE_SIZE,
    });
  });
});
