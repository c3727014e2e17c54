import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { LumaImage } from '../../../../functions/core/quality/luma.ts';
import { lumaFromPixels, resizeBilinear } from '../../../../functions/core/quality/luma.ts';
import {
  analysisFactor,
  measureAgainst,
  measurePixels,
  measureQuality,
  PSNR_CAP_DB,
  prepareReference,
  psnr,
  referenceFactor,
  releaseReference,
  ssim,
} from '../../../../functions/core/quality/ssim.ts';
import { referencePsnr, referenceSsim } from '../../../support/reference-ssim.ts';

const C1 = (0.01 * 255) ** 2;

/** Deterministic uniform numbers in [0, 1) (mulberry32). */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function fromFunction(width: number, height: number, f: (x: number, y: number) => number) {
  const data = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      data[y * width + x] = Math.min(255, Math.max(0, Math.round(f(x, y))));
    }
  }
  return { width, height, data };
}

function constant(width: number, height: number, value: number): LumaImage {
  return { width, height, data: new Uint8Array(width * height).fill(value) };
}

/** `img` plus zero-mean Gaussian noise of the given standard deviation (Box-Muller), clamped. */
function withNoise(img: LumaImage, sigma: number, seed: number): LumaImage {
  const next = random(seed);
  return fromFunction(img.width, img.height, (x, y) => {
    const gauss = Math.sqrt(-2 * Math.log(1 - next())) * Math.cos(2 * Math.PI * next());
    return (img.data[y * img.width + x] as number) + sigma * gauss;
  });
}

const gradient = (w: number, h: number) => fromFunction(w, h, (x, y) => (x * 200) / w + y);
const checkerboard = (w: number, h: number, cell: number) =>
  fromFunction(w, h, (x, y) => ((Math.floor(x / cell) + Math.floor(y / cell)) % 2 ? 230 : 20));
/** Dark strokes on a light page, like rendered text: short bars, stems and a diagonal. */
const strokes = (w: number, h: number) =>
  fromFunction(w, h, (x, y) => {
    const stem = x % 7 < 2 && y % 13 > 2 && y % 13 < 11;
    const bar = y % 13 === 6 && x % 7 < 5;
    const diagonal = Math.abs(((x + 2 * y) % 17) - 8) < 1;
    return stem || bar || diagonal ? 15 : 240;
  });

/** Random images of the given side ranges. */
const images = (min: number, max: number) =>
  fc
    .record({ width: fc.integer({ min, max }), height: fc.integer({ min, max }) })
    .chain(({ width, height }) =>
      fc
        .uint8Array({ minLength: width * height, maxLength: width * height })
        .map((data): LumaImage => ({ width, height, data })),
    );

/** Two random images of the same size. */
const pairs = (min: number, max: number) =>
  images(min, max).chain((a) =>
    fc
      .uint8Array({ minLength: a.data.length, maxLength: a.data.length })
      .map((data): [LumaImage, LumaImage] => [a, { ...a, data }]),
  );

describe('ssim', () => {
  it('is exactly 1 for identical images of any size and factor', () => {
    fc.assert(
      fc.property(images(1, 48), fc.integer({ min: 1, max: 4 }), (img, factor) => {
        const copy = { ...img, data: img.data.slice() };
        expect(ssim(img, copy, { factor })).toBe(1);
        expect(ssim(img, copy)).toBe(1);
      }),
    );
  });

  it('is symmetric in its two images', () => {
    fc.assert(
      fc.property(pairs(1, 40), fc.integer({ min: 1, max: 3 }), ([a, b], factor) => {
        expect(ssim(a, b, { factor })).toBe(ssim(b, a, { factor }));
      }),
    );
  });

  it('stays within [-1, 1]', () => {
    fc.assert(
      fc.property(pairs(1, 40), fc.integer({ min: 1, max: 3 }), ([a, b], factor) => {
        const value = ssim(a, b, { factor });
        expect(value).toBeGreaterThanOrEqual(-1);
        expect(value).toBeLessThanOrEqual(1);
      }),
    );
  });

  it('matches the naive reference within 1e-6 on random images of any size', () => {
    fc.assert(
      fc.property(pairs(1, 35), ([a, b]) => {
        expect(Math.abs(ssim(a, b, { factor: 1 }) - referenceSsim(a, b))).toBeLessThan(1e-6);
      }),
      { numRuns: 60 },
    );
  });

  it('matches the naive reference within 1e-6 on gradients, checkerboards and strokes', () => {
    const sizes: [number, number][] = [
      [61, 47],
      [33, 97],
      [11, 11],
      [13, 29],
    ];
    for (const [w, h] of sizes) {
      const sources = [gradient(w, h), checkerboard(w, h, 1), checkerboard(w, h, 3), strokes(w, h)];
      for (const [i, a] of sources.entries()) {
        const distortions = [
          withNoise(a, 12, i + 1),
          fromFunction(w, h, (x, y) => (a.data[y * w + x] as number) * 0.8 + 30),
          fromFunction(w, h, (x, y) => a.data[y * w + Math.min(w - 1, x + 1)] as number),
          sources[(i + 1) % sources.length] as LumaImage,
        ];
        for (const b of distortions) {
          expect(Math.abs(ssim(a, b, { factor: 1 }) - referenceSsim(a, b))).toBeLessThan(1e-6);
        }
      }
    }
  });

  it('matches the naive reference with block-mean downsampling at factors 2 and 3', () => {
    const a = strokes(101, 67);
    const b = withNoise(a, 20, 7);
    for (const factor of [2, 3]) {
      expect(Math.abs(ssim(a, b, { factor }) - referenceSsim(a, b, factor))).toBeLessThan(1e-6);
    }
  });

  it('falls as Gaussian noise grows', () => {
    const a = strokes(96, 64);
    const values = [2, 5, 10, 20, 40, 80].map((sigma) => ssim(a, withNoise(a, sigma, 3)));
    for (let i = 1; i < values.length; i++) {
      expect(values[i]).toBeLessThan(values[i - 1] as number);
    }
    expect(values[0]).toBeGreaterThan(0.99);
    expect(values.at(-1)).toBeLessThan(0.8);
  });

  it('is the luminance term alone for two flat images', () => {
    // No variance anywhere: SSIM = (2 mu_x mu_y + C1) / (mu_x^2 + mu_y^2 + C1) at every pixel.
    const value = ssim(constant(40, 30, 100), constant(40, 30, 110));
    expect(value).toBeCloseTo((2 * 100 * 110 + C1) / (100 ** 2 + 110 ** 2 + C1), 12);
    expect(value).toBeCloseTo(0.995476, 6);
    expect(ssim(constant(40, 30, 0), constant(40, 30, 255))).toBeCloseTo(C1 / (255 ** 2 + C1), 12);
  });

  it('nears -1 for a checkerboard against its inverse', () => {
    // 20/230 against 230/20: means and variances agree, the covariance is minus the variance.
    const a = checkerboard(31, 31, 1);
    const b = { ...a, data: a.data.map((v) => 250 - v) };
    const value = ssim(a, b, { factor: 1 });
    expect(value).toBeLessThan(-0.98);
    expect(value).toBeGreaterThanOrEqual(-1);
    expect(Math.abs(value - referenceSsim(a, b))).toBeLessThan(1e-6);
  });

  it('compares images under 11 pixels as one window, like the reference', () => {
    fc.assert(
      fc.property(pairs(1, 10), ([a, b]) => {
        expect(Math.abs(ssim(a, b) - referenceSsim(a, b))).toBeLessThan(1e-9);
      }),
    );
    const a = {
      width: 10,
      height: 1,
      data: Uint8Array.from([0, 10, 20, 30, 40, 50, 60, 70, 80, 90]),
    };
    expect(ssim(a, { ...a, data: a.data.map((v) => v + 5) })).toBeCloseTo(
      (2 * 45 * 50 + C1) / (45 ** 2 + 50 ** 2 + C1),
      12,
    );
  });

  it('lowers a factor that would shrink the image below the window', () => {
    const a = gradient(40, 30);
    const b = withNoise(a, 15, 5);
    // 30 / 11 -> at most factor 2.
    expect(ssim(a, b, { factor: 10 })).toBe(ssim(a, b, { factor: 2 }));
    expect(Math.abs(ssim(a, b, { factor: 10 }) - referenceSsim(a, b, 2))).toBeLessThan(1e-6);
  });

  it('uses the automatic factor by default', () => {
    const a = strokes(600, 520);
    const b = withNoise(a, 25, 9);
    expect(analysisFactor(600, 520)).toBe(2);
    expect(ssim(a, b)).toBe(ssim(a, b, { factor: 2 }));
    expect(ssim(a, b)).not.toBe(ssim(a, b, { factor: 1 }));
  });

  it('rejects images of different sizes, malformed images and invalid factors', () => {
    const a = constant(20, 20, 1);
    expect(() => ssim(a, constant(20, 21, 1))).toThrow(RangeError);
    expect(() => ssim(a, { width: 20, height: 20, data: new Uint8Array(399) })).toThrow(RangeError);
    for (const factor of [0, -1, 1.5, Number.NaN]) {
      expect(() => ssim(a, a, { factor })).toThrow(RangeError);
    }
  });
});

describe('analysisFactor', () => {
  it("is Wang's factor except on a short side of 257 to 383 px, where it is 2 instead of 1", () => {
    expect(analysisFactor(160, 90)).toBe(1);
    expect(analysisFactor(640, 256)).toBe(1);
    expect(analysisFactor(640, 257)).toBe(2);
    expect(analysisFactor(640, 360)).toBe(2);
    expect(analysisFactor(640, 383)).toBe(2);
    expect(analysisFactor(854, 480)).toBe(2);
    expect(analysisFactor(1280, 720)).toBe(3);
    expect(analysisFactor(1920, 1080)).toBe(4);
    expect(analysisFactor(3840, 2160)).toBe(8);
    expect(analysisFactor(720, 1280)).toBe(3);
  });

  it('keeps the analysed short side under 320 px from a factor of 2', () => {
    fc.assert(
      fc.property(fc.integer({ min: 257, max: 4320 }), (side) => {
        expect(side / analysisFactor(side, side)).toBeLessThan(320);
        const wang = referenceFactor(side, side);
        expect(analysisFactor(side, side) === wang).toBe(side >= 384);
      }),
    );
  });
});

describe('referenceFactor', () => {
  it('follows ssim.m, max(1, round(min(width, height) / 256))', () => {
    expect(referenceFactor(160, 90)).toBe(1);
    expect(referenceFactor(640, 360)).toBe(1);
    expect(referenceFactor(854, 480)).toBe(2);
    expect(referenceFactor(1280, 720)).toBe(3);
    expect(referenceFactor(1920, 1080)).toBe(4);
    expect(referenceFactor(3840, 2160)).toBe(8);
  });
});

describe('psnr', () => {
  it('is the cap, 100 dB, for identical images', () => {
    fc.assert(
      fc.property(images(1, 30), (img) => {
        expect(psnr(img, { ...img, data: img.data.slice() })).toBe(PSNR_CAP_DB);
      }),
    );
    expect(PSNR_CAP_DB).toBe(100);
  });

  it('is 10 log10(255^2 / MSE) on known inputs', () => {
    // One pixel of 100 off by 255: MSE = 255^2 / 100, so exactly 20 dB.
    const black = constant(10, 10, 0);
    const dot = { ...black, data: black.data.slice() };
    dot.data[37] = 255;
    expect(psnr(black, dot)).toBeCloseTo(20, 12);
    // Off by one everywhere: MSE 1, 20 log10(255).
    expect(psnr(constant(7, 5, 100), constant(7, 5, 101))).toBeCloseTo(20 * Math.log10(255), 12);
  });

  it('matches the reference formula on random images', () => {
    fc.assert(
      fc.property(pairs(1, 30), ([a, b]) => {
        const expected = referencePsnr(a, b);
        if (expected > PSNR_CAP_DB) expect(psnr(a, b)).toBe(PSNR_CAP_DB);
        else expect(psnr(a, b)).toBeCloseTo(expected, 10);
      }),
    );
  });

  it('never exceeds the cap, even for a near-identical large image', () => {
    const a = constant(500, 400, 50);
    const b = { ...a, data: a.data.slice() };
    b.data[0] = 51;
    expect(referencePsnr(a, b)).toBeGreaterThan(PSNR_CAP_DB);
    expect(psnr(a, b)).toBe(PSNR_CAP_DB);
  });

  it('rejects images of different sizes', () => {
    expect(() => psnr(constant(3, 3, 0), constant(3, 4, 0))).toThrow(RangeError);
  });
});

describe('measureQuality', () => {
  it('reports ssim and psnr of same-size images', () => {
    const a = strokes(200, 120);
    const b = withNoise(a, 10, 11);
    expect(measureQuality(a, b)).toEqual({ ssim: ssim(a, b), psnrDb: psnr(a, b) });
    expect(measureQuality(a, b, { factor: 1 })).toEqual({
      ssim: ssim(a, b, { factor: 1 }),
      psnrDb: psnr(a, b),
    });
  });

  it('measures a downscaled output after upscaling it bilinearly to the input size', () => {
    const a = gradient(200, 120);
    const small = resizeBilinear(withNoise(a, 8, 13), 100, 60);
    const shown = resizeBilinear(small, 200, 120);
    expect(measureQuality(a, small)).toEqual({ ssim: ssim(a, shown), psnrDb: psnr(a, shown) });
    expect(measureQuality(constant(64, 48, 90), constant(32, 24, 90))).toEqual({
      ssim: 1,
      psnrDb: PSNR_CAP_DB,
    });
  });

  it('computes PSNR over the cropped edges that SSIM block means leave out', () => {
    // 37x25 at factor 3: column 36 and row 24 are outside every block but still count for PSNR.
    const a = constant(37, 25, 100);
    const b = { ...a, data: a.data.slice() };
    b.data[37 * 25 - 1] = 0;
    const measured = measureQuality(a, b, { factor: 3 });
    expect(measured.ssim).toBe(1);
    expect(measured.psnrDb).toBeCloseTo(psnr(a, b), 12);
    expect(measured.psnrDb).toBeLessThan(PSNR_CAP_DB);
  });

  it('rejects an output larger than the reference', () => {
    expect(() => measureQuality(constant(20, 20, 0), constant(21, 20, 0))).toThrow(RangeError);
    expect(() => measureQuality(constant(20, 20, 0), constant(20, 21, 0))).toThrow(RangeError);
  });
});

describe('prepareReference', () => {
  it('gives every output measured against it the figures of measureQuality', () => {
    const a = strokes(210, 130);
    const reference = prepareReference(a);
    for (const [seed, sigma] of [
      [3, 2],
      [5, 12],
      [7, 40],
    ] as const) {
      const b = withNoise(a, sigma, seed);
      expect(measureAgainst(reference, b)).toEqual(measureQuality(a, b));
      const small = resizeBilinear(b, 105, 65);
      expect(measureAgainst(reference, small)).toEqual(measureQuality(a, small));
    }
  });

  it('measures interleaved pixels exactly as their luma, at full size and downscaled', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 12, max: 60 }),
        fc.integer({ min: 12, max: 60 }),
        fc.constantFrom(1, 2, 3, 4),
        fc.integer({ min: 1, max: 3 }),
        fc.integer(),
        (width, height, channels, shrink, seed) => {
          const next = random(seed);
          const pixels = (w: number, h: number) =>
            Uint8Array.from({ length: w * h * channels }, () => Math.floor(next() * 256));
          const input = lumaFromPixels(pixels(width, height), width, height, channels);
          const reference = prepareReference(input);
          const w = Math.ceil(width / shrink);
          const h = Math.ceil(height / shrink);
          const output = pixels(w, h);
          expect(measurePixels(reference, output, w, h, channels)).toEqual(
            measureQuality(input, lumaFromPixels(output, w, h, channels)),
          );
        },
      ),
      { numRuns: 60 },
    );
  });

  it('rejects pixels that do not match their size and outputs larger than the reference', () => {
    const reference = prepareReference(constant(20, 20, 0));
    expect(() => measurePixels(reference, new Uint8Array(10), 20, 20, 3)).toThrow(RangeError);
    expect(() => measurePixels(reference, new Uint8Array(21 * 20 * 3), 21, 20, 3)).toThrow(
      RangeError,
    );
  });
});

describe('releaseReference', () => {
  it('lets the next reference of the same size reuse the planes, with exact figures', () => {
    const a = strokes(200, 120);
    const b = withNoise(gradient(200, 120), 6, 3);
    const first = prepareReference(a);
    const planes = [first.x, first.meanX, first.meanXX];
    releaseReference(first);
    const second = prepareReference(b);
    for (const plane of [second.x, second.meanX, second.meanXX]) {
      expect(planes.includes(plane)).toBe(true);
    }
    const output = withNoise(b, 10, 4);
    expect(measureAgainst(second, output)).toEqual(measureQuality(b, output));
  });

  it('keeps the planes of references that were not released', () => {
    const a = strokes(200, 120);
    const kept = prepareReference(a);
    const other = prepareReference(gradient(200, 120));
    releaseReference(other);
    prepareReference(withNoise(a, 20, 5));
    const output = withNoise(a, 8, 6);
    expect(measureAgainst(kept, output)).toEqual(measureQuality(a, output));
  });
});
