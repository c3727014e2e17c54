import fc from 'fast-check';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { readImageDimensions } from '../../../../functions/core/admission/image-dimensions.ts';

const SIZES = [
  [1, 1],
  [161, 91],
  [640, 360],
  [1279, 721],
  [3840, 2160],
] as const;

/** Every encoding the decoder accepts, at `width` x `height`. */
async function encodings(width: number, height: number): Promise<Record<string, Buffer>> {
  const rgb = () => sharp({ create: { width, height, channels: 3, background: '#3a6' } });
  const rgba = () =>
    sharp({ create: { width, height, channels: 4, background: { r: 9, g: 9, b: 9, alpha: 0.5 } } });
  return {
    jpeg: await rgb().jpeg().toBuffer(),
    'progressive jpeg': await rgb().jpeg({ progressive: true }).toBuffer(),
    'jpeg with metadata': await rgb().jpeg().withMetadata({ orientation: 1 }).toBuffer(),
    png: await rgb().png().toBuffer(),
    'lossy webp': await rgb().webp({ quality: 50 }).toBuffer(),
    'lossless webp': await rgb().webp({ lossless: true }).toBuffer(),
    'webp with alpha (VP8X)': await rgba().webp({ quality: 50 }).toBuffer(),
  };
}

describe('reading the dimensions from an image header', () => {
  it.each(SIZES)('reads %ix%i from every format the decoder accepts', async (width, height) => {
    for (const [format, bytes] of Object.entries(await encodings(width, height))) {
      expect(readImageDimensions(bytes), format).toEqual({ width, height });
    }
  });

  it('reads a header without the pixels after it', async () => {
    const jpeg = await sharp({
      create: { width: 3840, height: 2160, channels: 3, background: '#000' },
    })
      .jpeg()
      .toBuffer();
    expect(readImageDimensions(jpeg.subarray(0, 1024))).toEqual({ width: 3840, height: 2160 });
  });

  it('reads nothing from bytes that are not a JPEG, PNG or WebP header', () => {
    expect(readImageDimensions(Buffer.from('not an image'))).toBeUndefined();
    expect(readImageDimensions(Buffer.alloc(0))).toBeUndefined();
    expect(readImageDimensions(Buffer.from([0xff, 0xd8, 0xff, 0xda, 0, 2]))).toBeUndefined();
    expect(readImageDimensions(Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 0]))).toBeUndefined();
  });

  it('never throws and never claims less than one pixel, whatever the bytes', () => {
    const prefixes = [
      [0xff, 0xd8, 0xff],
      [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a],
      [...Buffer.from('RIFF'), 0, 0, 0, 0, ...Buffer.from('WEBP')],
      [],
    ];
    fc.assert(
      fc.property(
        fc.constantFrom(...prefixes),
        fc.uint8Array({ maxLength: 64 }),
        (prefix, rest) => {
          const dimensions = readImageDimensions(Uint8Array.from([...prefix, ...rest]));
          if (dimensions) {
            expect(dimensions.width).toBeGreaterThanOrEqual(1);
            expect(dimensions.height).toBeGreaterThanOrEqual(1);
          }
        },
      ),
    );
  });
});
