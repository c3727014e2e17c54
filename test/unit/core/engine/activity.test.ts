import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { frameActivity, frameFlatness } from '../../../../functions/core/engine/activity.ts';

function frameOf(
  width: number,
  height: number,
  channels: number,
  pixel: (x: number, y: number) => number,
) {
  const pixels = new Uint8Array(width * height * channels);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < channels; c++) pixels[(y * width + x) * channels + c] = pixel(x, y);
    }
  }
  return pixels;
}

describe('frame activity', () => {
  it('is zero for a flat frame and grows with the contrast of its detail', () => {
    expect(
      frameActivity(
        frameOf(64, 36, 3, () => 128),
        64,
        36,
        3,
      ),
    ).toBe(0);
    const stripes = (contrast: number) =>
      frameActivity(
        frameOf(64, 36, 3, (x) => 128 + (x % 2 === 0 ? contrast : -contrast)),
        64,
        36,
        3,
      );
    expect(stripes(10)).toBeGreaterThan(0);
    expect(stripes(60)).toBeGreaterThan(stripes(10));
  });

  it('reads the green channel of colour frames and the only channel of grey ones', () => {
    const checker = (x: number, y: number) => ((x + y) % 2 === 0 ? 200 : 50);
    const grey = frameActivity(frameOf(32, 32, 1, checker), 32, 32, 1);
    const colour = frameActivity(frameOf(32, 32, 3, checker), 32, 32, 3);
    const withAlpha = frameActivity(frameOf(32, 32, 4, checker), 32, 32, 4);
    expect(grey).toBe(150);
    expect(colour).toBe(150);
    expect(withAlpha).toBe(150);
  });

  it('stays within 0..255 for any frame, however small', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 24 }),
        fc.integer({ min: 1, max: 24 }),
        fc.constantFrom(1, 3, 4),
        fc.integer({ min: 0, max: 2 ** 31 - 1 }),
        (width, height, channels, seed) => {
          let state = seed;
          const pixels = frameOf(width, height, channels, () => {
            state = (state * 1103515245 + 12345) & 0x7fffffff;
            return state & 0xff;
          });
          const activity = frameActivity(pixels, width, height, channels);
          expect(activity).toBeGreaterThanOrEqual(0);
          expect(activity).toBeLessThanOrEqual(255);
        },
      ),
    );
  });
});

describe('frameFlatness', () => {
  it('is 1 on a flat frame and 0 where no two neighbours are equal', () => {
    expect(
      frameFlatness(
        frameOf(16, 16, 3, () => 200),
        16,
        16,
        3,
      ),
    ).toBe(1);
    let value = 0;
    const ramp = frameOf(16, 16, 1, () => value++ % 256);
    expect(frameFlatness(ramp, 16, 16, 1)).toBe(0);
  });

  it('stays within 0..1 on any frame', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 24 }),
        fc.integer({ min: 1, max: 24 }),
        fc.constantFrom(1, 3, 4),
        fc.integer({ min: 0, max: 255 }),
        (width, height, channels, level) => {
          const flatness = frameFlatness(
            frameOf(width, height, channels, () => level),
            width,
            height,
            channels,
          );
          expect(flatness).toBeGreaterThanOrEqual(0);
          expect(flatness).toBeLessThanOrEqual(1);
        },
      ),
    );
  });
});
