import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { LumaImage } from '../../../../functions/core/quality/luma.ts';
import { lumaFromPixels, resizeBilinear } from '../../../../functions/core/quality/luma.ts';
import {
  measureAgainst,
  measurePixels,
  measureQuality,
  PSNR_CAP_DB,
  prepareReference,
  psnr,
} from '../../../../functions/core/quality/ssim.ts';
import { webAssembly } from '../../../../functions/core/quality/wasm/kernels.ts';
import {
  QUALITY_WASM_BASE64,
  QUALITY_WASM_SOURCE_SHA256,
} from '../../../../functions/core/quality/wasm/quality-wasm.ts';
import { referencePsnr, referenceSsim } from '../../../support/reference-ssim.ts';

const wasmDir = join(import.meta.dirname, '../../../../functions/core/quality/wasm');

/** Deterministic bytes (xorshift32). */
function bytes(length: number, seed: number): Uint8Array {
  let state = seed | 1;
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    out[i] = state & 255;
  }
  return out;
}

/** A smooth frame with some texture, so that SSIM is far from 0 and from 1. */
function frame(width: number, height: number, seed: number): LumaImage {
  const noise = bytes(width * height, seed);
  const data = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = y * width + x;
      data[i] = Math.round(
        40 + (150 * x) / width + 30 * Math.sin(y / 7) + (noise[i] as number) / 16,
      );
    }
  }
  return { width, height, data };
}

/** `img` with deterministic noise of +-amplitude, clamped. */
function degrade(img: LumaImage, amplitude: number, seed: number): LumaImage {
  const noise = bytes(img.data.length, seed);
  const data = img.data.map((v, i) =>
    Math.min(255, Math.max(0, v + ((noise[i] as number) % (2 * amplitude + 1)) - amplitude)),
  );
  return { ...img, data };
}

describe('the committed WebAssembly module', () => {
  it('was built from the current quality.c (run `npm run build:wasm` after changing it)', () => {
    const source = readFileSync(join(wasmDir, 'quality.c'));
    expect(QUALITY_WASM_SOURCE_SHA256).toBe(createHash('sha256').update(source).digest('hex'));
  });

  it('imports nothing and exports its memory', () => {
    const { Module } = webAssembly as typeof webAssembly & {
      Module: { exports(module: object): readonly unknown[] };
    };
    const module = new Module(Buffer.from(QUALITY_WASM_BASE64, 'base64'));
    expect(Module.imports(module)).toEqual([]);
    expect(Module.exports(module)).toContainEqual({ name: 'memory', kind: 'memory' });
  });
});

describe('luma in WebAssembly', () => {
  it('equals the float64 BT.601 formula, rounded half up, for all 2^24 RGB and RGBA pixels', () => {
    const n = 1 << 24;
    const rgba = new Uint8Array(4 * n);
    for (let i = 0; i < n; i++) {
      rgba[4 * i] = i >>> 16;
      rgba[4 * i + 1] = (i >>> 8) & 255;
      rgba[4 * i + 2] = i & 255;
      rgba[4 * i + 3] = i & 255 ? 255 : 7;
    }
    const rgb = new Uint8Array(3 * n);
    for (let i = 0; i < n; i++) {
      rgb[3 * i] = i >>> 16;
      rgb[3 * i + 1] = (i >>> 8) & 255;
      rgb[3 * i + 2] = i & 255;
    }
    const fromRgb = lumaFromPixels(rgb, 4096, 4096, 3).data;
    const fromRgba = lumaFromPixels(rgba, 4096, 4096, 4).data;
    let mismatches = 0;
    for (let i = 0; i < n; i++) {
      const expected = Math.round(
        0.299 * (i >>> 16) + 0.587 * ((i >>> 8) & 255) + 0.114 * (i & 255),
      );
      if (fromRgb[i] !== expected || fromRgba[i] !== expected) mismatches++;
    }
    expect(mismatches).toBe(0);
  });

  it('handles every width, including the tails after whole 16-pixel steps', () => {
    for (const channels of [1, 2, 3, 4] as const) {
      for (let width = 1; width <= 40; width++) {
        const raw = bytes(width * 3 * channels, width * 10 + channels);
        const luma = lumaFromPixels(raw, width, 3, channels);
        for (let i = 0; i < width * 3; i++) {
          const p = i * channels;
          const expected =
            channels < 3
              ? raw[p]
              : Math.round(
                  0.299 * (raw[p] as number) +
                    0.587 * (raw[p + 1] as number) +
                    0.114 * (raw[p + 2] as number),
                );
          expect(luma.data[i]).toBe(expected);
        }
      }
    }
  });
});

describe('bilinear resize in WebAssembly', () => {
  /**
   * Straight from the definition, one pixel at a time: pixel-centre aligned, clamped, with the
   * fractions as weights in 1/256ths and the result rounded half up from 1/65536ths.
   */
  function naiveBilinear(img: LumaImage, width: number, height: number): Uint8Array {
    const tap = (d: number, src: number, dst: number) => {
      const s = Math.min(src - 1, Math.max(0, (d + 0.5) * (src / dst) - 0.5));
      const i = Math.floor(s);
      return { lo: i, hi: Math.min(src - 1, i + 1), w: Math.floor((s - i) * 256 + 0.5) };
    };
    const out = new Uint8Array(width * height);
    const at = (x: number, y: number) => img.data[y * img.width + x] as number;
    for (let y = 0; y < height; y++) {
      const r = tap(y, img.height, height);
      for (let x = 0; x < width; x++) {
        const c = tap(x, img.width, width);
        const upper = (256 - c.w) * at(c.lo, r.lo) + c.w * at(c.hi, r.lo);
        const lower = (256 - c.w) * at(c.lo, r.hi) + c.w * at(c.hi, r.hi);
        out[y * width + x] = Math.floor(((256 - r.w) * upper + r.w * lower + 32768) / 65536);
      }
    }
    return out;
  }

  it('matches the per-pixel definition exactly, upscaling and downscaling, any size', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 1, max: 90 }),
        fc.integer({ min: 1, max: 90 }),
        fc.integer(),
        (w, h, tw, th, seed) => {
          const img = { width: w, height: h, data: bytes(w * h, seed) };
          if (tw === w && th === h) return;
          expect(resizeBilinear(img, tw, th).data).toEqual(naiveBilinear(img, tw, th));
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('quality measurement in WebAssembly', () => {
  it('grows its memory for a 3840x2160 frame at factor 1 and stays correct afterwards', () => {
    const small = frame(97, 61, 1);
    const smallOut = degrade(small, 9, 2);
    const before = measureQuality(small, smallOut, { factor: 1 });
    expect(Math.abs(before.ssim - referenceSsim(small, smallOut))).toBeLessThan(1e-13);

    const big = frame(3840, 2160, 3);
    const bigOut = degrade(big, 6, 4);
    const reference = prepareReference(big, { factor: 1 });
    expect(reference.x.length).toBe(3840 * 2160);
    expect(measureAgainst(reference, big)).toEqual({ ssim: 1, psnrDb: PSNR_CAP_DB });
    const measured = measureAgainst(reference, bigOut);
    expect(measured.ssim).toBeGreaterThan(0.5);
    expect(measured.ssim).toBeLessThan(1);
    expect(measured.psnrDb).toBeCloseTo(referencePsnr(big, bigOut), 10);
    expect(psnr(big, bigOut)).toBe(measured.psnrDb);

    expect(measureQuality(small, smallOut, { factor: 1 })).toEqual(before);
  });

  it('builds block means above the 16-bit column-sum limit (factor over 257)', () => {
    const a = frame(2900, 2860, 21);
    const b = degrade(a, 20, 22);
    const { ssim: value } = measureQuality(a, b, { factor: 260 });
    expect(prepareReference(a, { factor: 260 }).width).toBe(11);
    expect(Math.abs(value - referenceSsim(a, b, 260))).toBeLessThan(1e-13);
  });

  it('keeps many prepared references valid while others are prepared and measured', () => {
    const sizes = [
      [64, 40],
      [33, 57],
      [200, 120],
      [15, 15],
      [8, 30],
      [320, 180],
    ] as const;
    const cases = sizes.flatMap(([w, h], i) =>
      [1, 2].map((factor) => {
        const input = frame(w, h, 10 + i);
        return { input, factor, reference: prepareReference(input, { factor }) };
      }),
    );
    for (let round = 0; round < 3; round++) {
      for (const [i, c] of cases.entries()) {
        const { width: w, height: h } = c.input;
        const output = degrade(c.input, 4 + round, 100 * round + i);
        const expected = measureQuality(c.input, output, { factor: c.factor });
        expect(measureAgainst(c.reference, output)).toEqual(expected);
        const f = Math.min(c.factor, Math.floor(Math.min(w, h) / 11)) || 1;
        expect(Math.abs(expected.ssim - referenceSsim(c.input, output, f))).toBeLessThan(1e-13);
        // Interleaved RGB of a grey output measures exactly as the grey luma.
        const rgb = new Uint8Array(w * h * 3);
        for (let p = 0; p < w * h; p++) rgb.fill(output.data[p] as number, 3 * p, 3 * p + 3);
        expect(measurePixels(c.reference, rgb, w, h, 3)).toEqual(expected);
        if (w > 1 && h > 1) {
          const half = resizeBilinear(output, Math.ceil(w / 2), Math.ceil(h / 2));
          expect(measureAgainst(c.reference, half)).toEqual(
            measureQuality(c.input, half, { factor: c.factor }),
          );
        }
      }
    }
  });
});
