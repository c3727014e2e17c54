import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isAnimated } from '../../../functions/platform/imaging/animation.ts';
import {
  animatedWebp,
  apng,
  oneFrameAnimatedWebp,
  pngChunk,
  solidImage,
} from '../../support/input-images.ts';

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** Every still encoding of a 320x180 frame the decoder accepts, by format. */
async function stills() {
  const rgb = () => solidImage(320, 180, { r: 30, g: 160, b: 90 });
  const rgba = () => solidImage(320, 180, { r: 30, g: 160, b: 90, alpha: 0.5 });
  return [
    ['jpeg', await rgb().jpeg().toBuffer()],
    ['jpeg', await rgb().jpeg().withMetadata({ orientation: 6 }).toBuffer()],
    ['png', await rgb().png().toBuffer()],
    ['png', await rgba().png().toBuffer()],
    ['webp', await rgb().webp().toBuffer()],
    ['webp', await rgb().webp({ lossless: true }).toBuffer()],
    ['webp', await rgba().webp().toBuffer()],
    ['webp', await rgb().withIccProfile('p3').withMetadata({ orientation: 6 }).webp().toBuffer()],
  ] as const;
}

describe('telling an animation from a still frame', () => {
  it('finds the second frame of an animated WebP and of an APNG', async () => {
    expect(isAnimated(await animatedWebp(), 'webp')).toBe(true);
    expect(isAnimated(await apng(2), 'png')).toBe(true);
    expect(isAnimated(await apng(30), 'png')).toBe(true);
  });

  it('takes every still JPEG, PNG and WebP for a still frame', async () => {
    for (const [format, bytes] of await stills()) {
      expect(isAnimated(bytes, format), format).toBe(false);
    }
  });

  it('takes an animation of one frame for a still frame', async () => {
    expect(isAnimated(await oneFrameAnimatedWebp(), 'webp')).toBe(false);
    expect(isAnimated(await apng(1), 'png')).toBe(false);
  });

  it('looks for the APNG control chunk only before the image data', async () => {
    const png = await solidImage(320, 180, { r: 1, g: 2, b: 3 }).png().toBuffer();
    const control = Buffer.alloc(8);
    control.writeUInt32BE(2);
    // acTL after IEND is not an APNG (the spec places it before the first IDAT).
    const late = Buffer.concat([png, pngChunk('acTL', control)]);
    expect(isAnimated(late, 'png')).toBe(false);
  });

  it('does not count the frames of an animation cut before its second frame', async () => {
    const webp = await animatedWebp();
    const secondFrame = webp.lastIndexOf('ANMF');
    expect(isAnimated(webp.subarray(0, secondFrame), 'webp')).toBe(false);
    expect(isAnimated(webp.subarray(0, secondFrame + 8), 'webp')).toBe(true);
    const png = await apng(2);
    const control = png.indexOf('acTL');
    expect(isAnimated(png.subarray(0, control + 4), 'png')).toBe(false);
    expect(isAnimated(png.subarray(0, control + 8 + 4 + 4), 'png')).toBe(true);
  });

  it('walks a frame made of many empty chunks without a stall', () => {
    const webp = Buffer.alloc(10 * 1024 * 1024);
    Buffer.from('RIFF\0\0\0\0WEBPVP8X', 'latin1').copy(webp);
    const png = Buffer.alloc(10 * 1024 * 1024);
    PNG_SIGNATURE.copy(png);
    // Every chunk after the first is empty: eight bytes each in the WebP, twelve in the PNG.
    const started = performance.now();
    expect(isAnimated(webp, 'webp')).toBe(false);
    expect(isAnimated(png, 'png')).toBe(false);
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it('answers for any bytes without throwing', async () => {
    const sources = [
      await animatedWebp(),
      await apng(3),
      await oneFrameAnimatedWebp(),
      Buffer.concat([PNG_SIGNATURE]),
      Buffer.from('RIFF\0\0\0\0WEBPVP8X', 'latin1'),
    ];
    fc.assert(
      fc.property(
        fc.constantFrom(...sources),
        fc.nat(),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 8 }),
        fc.uint8Array({ maxLength: 64 }),
        fc.constantFrom('jpeg', 'png', 'webp'),
        (source, cut, flips, tail, format) => {
          const bytes = Buffer.concat([source.subarray(0, cut % (source.length + 1)), tail]);
          for (const [at, value] of flips) if (bytes.length) bytes[at % bytes.length] = value;
          expect(typeof isAnimated(bytes, format)).toBe('boolean');
        },
      ),
      { numRuns: 500 },
    );
  });
});
