import fc from 'fast-check';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { frameWeight } from '../../../functions/core/admission/frame-capacity.ts';
import { AicError, UnprocessableFrameError } from '../../../functions/core/errors.ts';
import {
  type DecodedFrame,
  decodeFrame,
} from '../../../functions/platform/imaging/frame-decoder.ts';
import { createSharpEnginePort } from '../../../functions/platform/imaging/sharp-engine-port.ts';
import {
  animatedWebp,
  apng,
  halvesImage,
  oneFrameAnimatedWebp,
  solidImage,
} from '../../support/input-images.ts';

const WIDTH = 320;
const HEIGHT = 180;

/** The RGB of the pixel at (x, y). */
function pixelAt(frame: DecodedFrame, x: number, y: number): number[] {
  const at = (y * frame.width + x) * frame.channels;
  return [...frame.pixels.subarray(at, at + frame.channels)];
}

/** Each pixel channel within `tolerance` of `expected`. */
function expectColour(actual: number[], expected: number[], tolerance = 1): void {
  expect(actual).toHaveLength(expected.length);
  actual.forEach((value, i) => {
    expect(Math.abs(value - (expected[i] ?? 0)), `${actual} vs ${expected}`).toBeLessThanOrEqual(
      tolerance,
    );
  });
}

const RED = [255, 0, 0];
const BLUE = [0, 0, 255];

describe('decoding a frame turned by its EXIF orientation', () => {
  it.each(['jpeg', 'png', 'webp'] as const)(
    'turns a %s tagged orientation 6 upright',
    async (format) => {
      const image = halvesImage(WIDTH, HEIGHT).withMetadata({ orientation: 6 });
      const bytes = await image
        .toFormat(format, format === 'webp' ? { lossless: true } : {})
        .toBuffer();
      const frame = await decodeFrame(bytes);
      expect({ width: frame.width, height: frame.height }).toEqual({
        width: HEIGHT,
        height: WIDTH,
      });
      // Orientation 6 is shown turned a quarter clockwise: the stored left half becomes the top.
      expectColour(pixelAt(frame, HEIGHT / 2, 10), RED, 8);
      expectColour(pixelAt(frame, HEIGHT / 2, WIDTH - 10), BLUE, 8);
    },
  );

  it.each([1, 2, 3, 4, 5, 6, 7, 8])(
    'answers the upright size for orientation %i',
    async (orientation) => {
      const bytes = await solidImage(WIDTH, HEIGHT, { r: 10, g: 20, b: 30 })
        .jpeg()
        .withMetadata({ orientation })
        .toBuffer();
      const frame = await decodeFrame(bytes);
      const swapped = orientation >= 5;
      expect({ width: frame.width, height: frame.height }).toEqual(
        swapped ? { width: HEIGHT, height: WIDTH } : { width: WIDTH, height: HEIGHT },
      );
    },
  );

  it('holds the dimension bounds to the upright frame, the pixel weight unchanged', async () => {
    const rotated = (width: number, height: number) =>
      solidImage(width, height, { r: 10, g: 20, b: 30 })
        .jpeg()
        .withMetadata({ orientation: 6 })
        .toBuffer();
    const portrait = await decodeFrame(await rotated(1920, 1080));
    expect({ width: portrait.width, height: portrait.height }).toEqual({
      width: 1080,
      height: 1920,
    });

    const tall = await rotated(3840, 2160);
    expect(frameWeight(tall)).toBe(3840 * 2160);
    await expect(decodeFrame(tall)).rejects.toThrow(UnprocessableFrameError);
    await expect(decodeFrame(tall)).rejects.toThrow(/after EXIF orientation.*2160x3840/);
  });
});

describe('decoding frames from colour-managed, deep and grey sources', () => {
  it('converts a Display P3 frame to sRGB', async () => {
    const srgb = [51, 170, 102];
    const p3 = await solidImage(WIDTH, HEIGHT, { r: 51, g: 170, b: 102 })
      .withIccProfile('p3')
      .png()
      .toBuffer();
    const stored = await sharp(p3, { ignoreIcc: true }).raw().toBuffer();
    // The stored values are P3's: the check below would pass without any conversion otherwise.
    expect(Math.abs((stored[0] ?? 0) - 51) + Math.abs((stored[2] ?? 0) - 102)).toBeGreaterThan(10);
    expectColour(pixelAt(await decodeFrame(p3), 5, 5), srgb, 2);
  });

  it('converts a CMYK JPEG to sRGB', async () => {
    const cmyk = await solidImage(WIDTH, HEIGHT, { r: 220, g: 30, b: 30 })
      .toColourspace('cmyk')
      .jpeg({ quality: 100 })
      .toBuffer();
    expect((await sharp(cmyk).metadata()).space).toBe('cmyk');
    const frame = await decodeFrame(cmyk);
    expect(frame.channels).toBe(3);
    expectColour(pixelAt(frame, 5, 5), [220, 30, 30], 30);
  });

  it('reduces 16-bit RGB and grey PNGs to 8 bits', async () => {
    const colour = { r: 51, g: 170, b: 102 };
    const rgb16 = await solidImage(WIDTH, HEIGHT, colour).toColourspace('rgb16').png().toBuffer();
    const grey16 = await solidImage(WIDTH, HEIGHT, colour).toColourspace('grey16').png().toBuffer();
    expect((await sharp(rgb16).metadata()).depth).toBe('ushort');
    expect((await sharp(grey16).metadata()).depth).toBe('ushort');
    const rgb = await decodeFrame(rgb16);
    expect(rgb.pixels).toHaveLength(WIDTH * HEIGHT * 3);
    expectColour(pixelAt(rgb, 5, 5), [51, 170, 102], 0);
    const [grey] = pixelAt(await decodeFrame(grey16), 5, 5);
    expectColour(pixelAt(await decodeFrame(grey16), 5, 5), [grey ?? 0, grey ?? 0, grey ?? 0], 0);
  });

  it('gives grey and grey-with-alpha frames three channels, the alpha over black', async () => {
    const grey = await solidImage(WIDTH, HEIGHT, { r: 200, g: 200, b: 200 })
      .toColourspace('b-w')
      .png()
      .toBuffer();
    const greyAlpha = await solidImage(WIDTH, HEIGHT, { r: 200, g: 200, b: 200, alpha: 0.5 })
      .toColourspace('b-w')
      .png()
      .toBuffer();
    expect((await sharp(greyAlpha).metadata()).channels).toBe(2);
    const opaque = await decodeFrame(grey);
    expect(opaque.channels).toBe(3);
    expectColour(pixelAt(opaque, 5, 5), [200, 200, 200]);
    const flattened = await decodeFrame(greyAlpha);
    expect(flattened.channels).toBe(3);
    expectColour(pixelAt(flattened, 5, 5), [100, 100, 100]);
  });
});

describe('decoding a frame with alpha', () => {
  it.each(['png', 'webp'] as const)('composites a %s alpha over black', async (format) => {
    const colour = { r: 200, g: 100, b: 50 };
    const encode = (alpha: number) =>
      solidImage(WIDTH, HEIGHT, { ...colour, alpha })
        .toFormat(format, format === 'webp' ? { lossless: true } : {})
        .toBuffer();
    const [half, clear, opaque] = await Promise.all([0.5, 0, 1].map(encode));
    // An encoder may leave out an alpha channel that is opaque everywhere; these two need it.
    for (const bytes of [half, clear]) {
      expect((await sharp(bytes as Buffer).metadata()).hasAlpha).toBe(true);
    }
    const frame = await decodeFrame(half as Buffer);
    expect(frame.channels).toBe(3);
    expect(frame.pixels).toHaveLength(WIDTH * HEIGHT * 3);
    expectColour(pixelAt(frame, 5, 5), [100, 50, 25]);
    expectColour(pixelAt(await decodeFrame(clear as Buffer), 5, 5), [0, 0, 0], 0);
    expectColour(pixelAt(await decodeFrame(opaque as Buffer), 5, 5), [200, 100, 50], 0);
  });

  it('encodes a frame that had alpha without an alpha channel', async () => {
    const bytes = await solidImage(WIDTH, HEIGHT, { r: 200, g: 100, b: 50, alpha: 0.5 })
      .png()
      .toBuffer();
    const port = createSharpEnginePort(await decodeFrame(bytes));
    try {
      for (const format of ['jpeg', 'webp'] as const) {
        const encoded = await port.encode({
          format,
          quality: 80,
          scale: 1,
          width: WIDTH,
          height: HEIGHT,
        });
        const metadata = await sharp(port.output(encoded)).metadata();
        expect(metadata.hasAlpha, format).toBe(false);
        expect(metadata.channels, format).toBe(3);
      }
    } finally {
      port.finish();
    }
  });
});

describe('refusing animations', () => {
  const refusal = {
    code: 'UNPROCESSABLE_FRAME',
    message: 'Animated images are not accepted: send one frame per request',
    details: [{ field: 'frame_data', code: 'animated_image' }],
  };

  it('refuses an animated WebP and an APNG, naming the animation', async () => {
    for (const bytes of [await animatedWebp(), await apng(2)]) {
      const refused = decodeFrame(bytes);
      await expect(refused).rejects.toBeInstanceOf(UnprocessableFrameError);
      await expect(refused).rejects.toMatchObject(refusal);
    }
  });

  it('accepts still images in the containers that can animate', async () => {
    const rgba = solidImage(WIDTH, HEIGHT, { r: 9, g: 9, b: 9, alpha: 0.5 });
    const stills = {
      'one-frame WebP animation': await oneFrameAnimatedWebp(),
      'APNG declaring one frame': await apng(1),
      'WebP with alpha (VP8X)': await rgba.clone().webp().toBuffer(),
      'WebP with an ICC profile (VP8X)': await solidImage(WIDTH, HEIGHT, { r: 9, g: 9, b: 9 })
        .withIccProfile('p3')
        .webp()
        .toBuffer(),
      'WebP with EXIF (VP8X)': await rgba
        .clone()
        .withMetadata({ orientation: 1 })
        .webp()
        .toBuffer(),
    };
    for (const [name, bytes] of Object.entries(stills)) {
      const frame = await decodeFrame(bytes);
      expect({ width: frame.width, height: frame.height }, name).toEqual({
        width: WIDTH,
        height: HEIGHT,
      });
    }
  });

  it('refuses a cut or corrupted frame only with the typed errors', async () => {
    const sources = [
      await animatedWebp(),
      await oneFrameAnimatedWebp(),
      await apng(2),
      await solidImage(WIDTH, HEIGHT, { r: 9, g: 9, b: 9, alpha: 0.5 }).webp().toBuffer(),
    ];
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...sources),
        fc.nat(),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }),
        async (source, cut, flips) => {
          const bytes = Buffer.from(source.subarray(0, 12 + (cut % (source.length - 11))));
          for (const [at, value] of flips) bytes[at % bytes.length] = value;
          try {
            await decodeFrame(bytes);
          } catch (error) {
            expect(error).toBeInstanceOf(AicError);
            expect(['UNPROCESSABLE_FRAME', 'UNSUPPORTED_MEDIA_TYPE']).toContain(
              (error as AicError).code,
            );
          }
        },
      ),
      { numRuns: 100 },
    );
  });
});
