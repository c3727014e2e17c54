import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  cropLuma,
  downsampleBox,
  type LumaImage,
  lumaFromPixels,
  resizeBilinear,
} from '../../../../functions/core/quality/luma.ts';

/** Random images of 1..40 pixels a side. */
const images = fc
  .record({ width: fc.integer({ min: 1, max: 40 }), height: fc.integer({ min: 1, max: 40 }) })
  .chain(({ width, height }) =>
    fc
      .uint8Array({ minLength: width * height, maxLength: width * height })
      .map((data): LumaImage => ({ width, height, data })),
  );

function image(width: number, height: number, values: readonly number[]): LumaImage {
  return { width, height, data: Uint8Array.from(values) };
}

describe('lumaFromPixels', () => {
  it('gives the BT.601 luma of known RGB colours, rounded', () => {
    const colours = [
      [0, 0, 0],
      [255, 255, 255],
      [255, 0, 0],
      [0, 255, 0],
      [0, 0, 255],
      [128, 128, 128],
      [255, 255, 0],
    ];
    const luma = lumaFromPixels(Uint8Array.from(colours.flat()), colours.length, 1, 3);
    expect([...luma.data]).toEqual([0, 255, 76, 150, 29, 128, 226]);
    expect(luma.width).toBe(7);
    expect(luma.height).toBe(1);
  });

  it('ignores the alpha channel of RGBA and grey-alpha pixels', () => {
    const rgba = lumaFromPixels(Uint8Array.from([255, 0, 0, 0, 0, 0, 255, 255]), 2, 1, 4);
    expect([...rgba.data]).toEqual([76, 29]);
    const greyAlpha = lumaFromPixels(Uint8Array.from([10, 0, 200, 255, 37, 128]), 3, 1, 2);
    expect([...greyAlpha.data]).toEqual([10, 200, 37]);
  });

  it('copies single-channel pixels into a new buffer', () => {
    const raw = Uint8Array.from([1, 2, 3, 4, 5, 6]);
    const luma = lumaFromPixels(raw, 3, 2, 1);
    expect([...luma.data]).toEqual([1, 2, 3, 4, 5, 6]);
    expect(luma.data).not.toBe(raw);
  });

  it('rounds 0.299 R + 0.587 G + 0.114 B to the nearest integer for any pixel', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 3, maxLength: 3 * 64 }), (bytes) => {
        const n = Math.floor(bytes.length / 3);
        const raw = bytes.subarray(0, n * 3);
        const luma = lumaFromPixels(raw, n, 1, 3);
        for (let i = 0; i < n; i++) {
          const r = raw[3 * i] as number;
          const g = raw[3 * i + 1] as number;
          const b = raw[3 * i + 2] as number;
          expect(luma.data[i]).toBe(Math.round(0.299 * r + 0.587 * g + 0.114 * b));
        }
      }),
    );
  });

  it('rejects a buffer of the wrong length, a bad size or a bad channel count', () => {
    expect(() => lumaFromPixels(new Uint8Array(11), 2, 2, 3)).toThrow(RangeError);
    expect(() => lumaFromPixels(new Uint8Array(0), 0, 0, 1)).toThrow(RangeError);
    expect(() => lumaFromPixels(new Uint8Array(5), 5, 1, 5 as 1)).toThrow(RangeError);
  });
});

describe('resizeBilinear', () => {
  it('keeps a constant image constant at any size', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 30 }),
        fc.integer({ min: 1, max: 30 }),
        fc.integer({ min: 1, max: 60 }),
        fc.integer({ min: 1, max: 60 }),
        fc.integer({ min: 0, max: 255 }),
        (w, h, tw, th, value) => {
          const resized = resizeBilinear(
            { width: w, height: h, data: new Uint8Array(w * h).fill(value) },
            tw,
            th,
          );
          expect(resized.width).toBe(tw);
          expect(resized.height).toBe(th);
          expect(resized.data.every((v) => v === value)).toBe(true);
        },
      ),
    );
  });

  it('recovers an image from its 2x nearest-neighbour enlargement', () => {
    fc.assert(
      fc.property(images, (img) => {
        const big = new Uint8Array(4 * img.width * img.height);
        for (let y = 0; y < 2 * img.height; y++) {
          for (let x = 0; x < 2 * img.width; x++) {
            big[y * 2 * img.width + x] = img.data[(y >> 1) * img.width + (x >> 1)] as number;
          }
        }
        const back = resizeBilinear(
          { width: 2 * img.width, height: 2 * img.height, data: big },
          img.width,
          img.height,
        );
        expect([...back.data]).toEqual([...img.data]);
      }),
    );
  });

  it('aligns pixel centres when upscaling, clamping at the edges', () => {
    // Source positions of a 2 -> 4 enlargement: -0.25 (clamped to 0), 0.25, 0.75, 1.25 (to 1).
    expect([...resizeBilinear(image(2, 1, [0, 100]), 4, 1).data]).toEqual([0, 25, 75, 100]);
    expect([...resizeBilinear(image(1, 2, [0, 100]), 1, 4).data]).toEqual([0, 25, 75, 100]);
    // 2 -> 3: positions -1/6 (clamped to 0), 0.5 and 7/6 (clamped to 1).
    expect([...resizeBilinear(image(2, 2, [0, 100, 100, 200]), 3, 3).data]).toEqual([
      0, 50, 100, 50, 100, 150, 100, 150, 200,
    ]);
  });

  it('returns an equal copy at the same size', () => {
    const img = image(2, 2, [1, 2, 3, 4]);
    const same = resizeBilinear(img, 2, 2);
    expect(same).toEqual(img);
    expect(same.data).not.toBe(img.data);
  });

  it('rejects a malformed image or target size', () => {
    expect(() => resizeBilinear(image(2, 2, [1, 2, 3]), 4, 4)).toThrow(RangeError);
    expect(() => resizeBilinear(image(2, 2, [1, 2, 3, 4]), 0, 4)).toThrow(RangeError);
    expect(() => resizeBilinear(image(2, 2, [1, 2, 3, 4]), 2.5, 4)).toThrow(RangeError);
  });
});

describe('downsampleBox', () => {
  it('gives each block value back from an image made of constant blocks', () => {
    fc.assert(
      fc.property(images, fc.integer({ min: 1, max: 5 }), (small, factor) => {
        const width = small.width * factor;
        const big = new Uint8Array(width * small.height * factor);
        for (let i = 0; i < big.length; i++) {
          const x = Math.floor((i % width) / factor);
          const y = Math.floor(Math.floor(i / width) / factor);
          big[i] = small.data[y * small.width + x] as number;
        }
        const down = downsampleBox({ width, height: small.height * factor, data: big }, factor);
        expect(down).toEqual(small);
      }),
    );
  });

  it('averages each block, rounding halves up, and crops partial edge blocks', () => {
    // 5x3 with factor 2: blocks at columns 0-1 and 2-3 of rows 0-1; column 4 and row 2 dropped.
    const img = image(5, 3, [0, 0, 1, 1, 9, 0, 1, 0, 0, 9, 9, 9, 9, 9, 9]);
    expect(downsampleBox(img, 2)).toEqual(image(2, 1, [0, 1]));
    expect(downsampleBox(image(2, 2, [10, 11, 12, 13]), 2).data[0]).toBe(12);
    expect(downsampleBox(image(2, 2, [10, 11, 11, 11]), 2).data[0]).toBe(11);
  });

  it('is the identity at factor 1', () => {
    fc.assert(
      fc.property(images, (img) => {
        expect(downsampleBox(img, 1)).toEqual(img);
      }),
    );
  });

  it('rejects factors that are not positive integers or exceed the image', () => {
    const img = image(
      4,
      3,
      Array.from({ length: 12 }, (_, i) => i),
    );
    expect(() => downsampleBox(img, 0)).toThrow(RangeError);
    expect(() => downsampleBox(img, 1.5)).toThrow(RangeError);
    expect(() => downsampleBox(img, 4)).toThrow(RangeError);
  });
});

describe('cropLuma', () => {
  const image = { width: 4, height: 3, data: Uint8Array.from({ length: 12 }, (_, i) => i) };

  it('copies the rows of a region inside the image', () => {
    const crop = cropLuma(image, { left: 1, top: 1, width: 2, height: 2 });
    expect(crop).toEqual({ width: 2, height: 2, data: Uint8Array.from([5, 6, 9, 10]) });
  });

  it('refuses a region that is empty or reaches outside the image', () => {
    expect(() => cropLuma(image, { left: 3, top: 0, width: 2, height: 1 })).toThrow(RangeError);
    expect(() => cropLuma(image, { left: 0, top: 0, width: 0, height: 1 })).toThrow(RangeError);
    expect(() => cropLuma(image, { left: -1, top: 0, width: 1, height: 1 })).toThrow(RangeError);
  });
});
