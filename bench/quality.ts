/**
 * Benchmark (`npm run bench:quality`): measured frame quality (SSIM + PSNR of the output against
 * the input).
 *
 * 1. The WebAssembly kernels against a pure-JavaScript implementation of the same kernels (below,
 *    `jsBaseline`, the baseline and nothing else), per call as the product makes them: the input side (luma of the
 *    decoded RGB frame + `prepareReference`), and `measurePixels` of a full-size and of a
 *    half-size (downscaled) RGB output, at 640x360, 1280x720 and 1920x1080 with the automatic
 *    factor. Timed in CPU time (`process.cpuUsage`) over interleaved rounds, the best round of
 *    each side reported, so that other load on the machine hurts both sides alike.
 * 2. `measureQuality` at three frame sizes, with the automatic analysis factor and at full
 *    resolution, each against the naive reference implementation (test/support/reference-ssim.ts)
 *    timed in the same run on the same images.
 *
 * Writes docs/benchmarks/quality.md.
 */
import type { LumaImage } from '../functions/core/quality/luma.ts';
import { lumaFromPixels, resizeBilinear } from '../functions/core/quality/luma.ts';
import {
  analysisFactor,
  measurePixels,
  measureQuality,
  PSNR_CAP_DB,
  prepareReference,
} from '../functions/core/quality/ssim.ts';
import { referencePsnr, referenceSsim } from '../test/support/reference-ssim.ts';
import { ms, times } from './format.ts';
import { type Goal, markdownTable, startRun, writeBenchmarkPage } from './report-page.ts';
import { summarise } from './stats.ts';

/** Time spent per case, in ms, unless the minimum iterations take longer. */
const BUDGET_MS = Number(process.env.BENCH_QUALITY_BUDGET_MS ?? 2_000);
const MIN_FAST_ITERATIONS = 30;
const MAX_ITERATIONS = 1_000;
/** The naive 4K full-resolution case takes seconds per call: a few calls are enough. */
const MIN_NAIVE_ITERATIONS = 2;
/** The agreement the unit tests require of the fast SSIM with the naive one. */
const NAIVE_SSIM_TOLERANCE = 1e-6;

/** A synthetic frame: gradients, edges, a checkerboard patch, text-like strokes and sensor noise. */
function frame(width: number, height: number, seed: number): LumaImage {
  let state = seed >>> 0;
  const data = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      state = (Math.imul(state, 1_664_525) + 1_013_904_223) >>> 0;
      const u = x / width;
      const v = y / height;
      let value = 60 + 120 * u + 40 * Math.sin(v * 9);
      if (u > 0.6 && v < 0.3) value = ((x >> 3) + (y >> 3)) % 2 ? 220 : 35;
      if (v > 0.65 && x % 9 < 2 && y % 17 < 12) value = 20;
      value += (state / 2 ** 32 - 0.5) * 8;
      data[y * width + x] = Math.min(255, Math.max(0, Math.round(value)));
    }
  }
  return { width, height, data };
}

/** A decoded "compressed" output: the frame with coding noise (deterministic). */
function degraded(img: LumaImage, seed: number): LumaImage {
  let state = seed >>> 0;
  const data = new Uint8Array(img.data.length);
  for (let i = 0; i < data.length; i++) {
    state = (Math.imul(state, 22_695_477) + 1) >>> 0;
    const noise = ((state >>> 8) / 2 ** 24 - 0.5) * 16;
    data[i] = Math.min(255, Math.max(0, Math.round((img.data[i] as number) + noise)));
  }
  return { width: img.width, height: img.height, data };
}

function time(run: () => void, minIterations: number, warmup: number): number[] {
  for (let i = 0; i < warmup; i++) run();
  const samples: number[] = [];
  const started = performance.now();
  while (
    samples.length < MAX_ITERATIONS &&
    (samples.length < minIterations || performance.now() - started < BUDGET_MS)
  ) {
    const t = performance.now();
    run();
    samples.push(performance.now() - t);
  }
  return samples;
}

interface Case {
  label: string;
  reference: LumaImage;
  output: LumaImage;
  factor: number | undefined;
}

/**
 * The same kernels in plain JavaScript (float64 filters, integer squared errors, the same block
 * means and bilinear upscale), without argument checks or the under-11-pixel case: the baseline of
 * the kernel table and nothing else.
 */
namespace jsBaseline {
  const SSIM_WINDOW = 11;
  const RADIUS = 5;
  const SIGMA = 1.5;
  const C1 = (0.01 * 255) ** 2;
  const C2 = (0.03 * 255) ** 2;
  const INT_SSE_RUN = 32_768;
  const STATS = 3;
  type RowWriter = (y: number, out: Uint8Array) => void;

  const TAPS: Float64Array = (() => {
    const taps = new Float64Array(SSIM_WINDOW);
    let sum = 0;
    for (let k = 0; k < SSIM_WINDOW; k++) {
      const d = k - RADIUS;
      taps[k] = Math.exp(-(d * d) / (2 * SIGMA * SIGMA));
      sum += taps[k] as number;
    }
    for (let k = 0; k < SSIM_WINDOW; k++) taps[k] = (taps[k] as number) / sum;
    return taps;
  })();

  function lumaRows(
    raw: Uint8Array,
    width: number,
    height: number,
    channels: 1 | 2 | 3 | 4,
  ): RowWriter {
    if (channels !== 1 && channels !== 2 && channels !== 3 && channels !== 4) {
      throw new RangeError(`channels must be 1, 2, 3 or 4, got ${channels}`);
    }
    const n = width * height;
    if (raw.length !== n * channels) {
      throw new RangeError(`expected ${n * channels} bytes of pixels, got ${raw.length}`);
    }
    const stride = width * channels;
    if (channels === 1) return (y, out) => out.set(raw.subarray(y * stride, (y + 1) * stride));
    if (channels === 2) {
      return (y, out) => {
        for (let i = 0, p = y * stride; i < width; i++, p += 2) out[i] = raw[p] as number;
      };
    }
    return (y, out) => {
      for (let i = 0, p = y * stride; i < width; i++, p += channels) {
        const v =
          0.299 * (raw[p] as number) +
          0.587 * (raw[p + 1] as number) +
          0.114 * (raw[p + 2] as number);
        out[i] = (v + 0.5) | 0;
      }
    };
  }

  export function lumaFromPixels(
    raw: Uint8Array,
    width: number,
    height: number,
    channels: 1 | 2 | 3 | 4,
  ): LumaImage {
    const write = lumaRows(raw, width, height, channels);
    const data = new Uint8Array(width * height);
    for (let y = 0; y < height; y++) write(y, data.subarray(y * width, (y + 1) * width));
    return { width, height, data };
  }

  function axisTaps(src: number, dst: number): { lo: Int32Array; hi: Int32Array; t: Float64Array } {
    const lo = new Int32Array(dst);
    const hi = new Int32Array(dst);
    const t = new Float64Array(dst);
    const scale = src / dst;
    for (let d = 0; d < dst; d++) {
      const s = Math.min(src - 1, Math.max(0, (d + 0.5) * scale - 0.5));
      const i = Math.floor(s);
      lo[d] = i;
      hi[d] = Math.min(src - 1, i + 1);
      t[d] = s - i;
    }
    return { lo, hi, t };
  }

  function interpolateRow(
    src: Uint8Array,
    start: number,
    cols: { lo: Int32Array; hi: Int32Array; t: Float64Array },
    out: Float64Array,
  ): void {
    const { lo, hi, t } = cols;
    for (let x = 0; x < out.length; x++) {
      const l = src[start + (lo[x] as number)] as number;
      out[x] = l + (t[x] as number) * ((src[start + (hi[x] as number)] as number) - l);
    }
  }

  function bilinearRows(img: LumaImage, width: number, height: number): RowWriter {
    const src = img.data;
    const sw = img.width;
    const cols = axisTaps(sw, width);
    const rows = axisTaps(img.height, height);
    let upper = new Float64Array(width);
    let lower = new Float64Array(width);
    let upperRow = -1;
    let lowerRow = -1;
    return (y, out) => {
      const lo = rows.lo[y] as number;
      const hi = rows.hi[y] as number;
      if (lo === lowerRow) {
        const swap = upper;
        upper = lower;
        lower = swap;
        upperRow = lo;
        lowerRow = -1;
      }
      if (lo !== upperRow) {
        interpolateRow(src, lo * sw, cols, upper);
        upperRow = lo;
      }
      if (hi !== lowerRow) {
        interpolateRow(src, hi * sw, cols, lower);
        lowerRow = hi;
      }
      const ty = rows.t[y] as number;
      for (let x = 0; x < width; x++) {
        const a = upper[x] as number;
        out[x] = (a + ty * ((lower[x] as number) - a) + 0.5) | 0;
      }
    };
  }

  interface Workspace {
    readonly row: Uint8Array;
    readonly y: Float64Array;
    readonly ring: Float64Array;
    readonly squares: Float64Array;
    readonly products: Float64Array;
  }

  const MAX_CACHED_SIZES = 4;
  const MAX_CACHED_PIXELS = 1 << 21;
  const workspaces = new Map<string, Workspace>();

  export interface Reference {
    readonly luma: LumaImage;
    readonly factor: number;
    readonly width: number;
    readonly height: number;
    readonly x: Float64Array;
    readonly meanX: Float64Array;
    readonly meanXX: Float64Array;
  }

  function workspace(reference: Reference): Workspace {
    const { luma, factor, width, height } = reference;
    const key = `${luma.width}x${luma.height}/${factor}`;
    const cached = workspaces.get(key);
    if (cached) return cached;
    const created: Workspace = {
      row: new Uint8Array(luma.width),
      y: new Float64Array(width * height),
      ring: new Float64Array(SSIM_WINDOW * STATS * Math.max(0, width - 2 * RADIUS)),
      squares: new Float64Array(width),
      products: new Float64Array(width),
    };
    if (width * height > MAX_CACHED_PIXELS) return created;
    if (workspaces.size >= MAX_CACHED_SIZES) {
      const oldest = workspaces.keys().next().value;
      if (oldest !== undefined) workspaces.delete(oldest);
    }
    workspaces.set(key, created);
    return created;
  }

  function filterRow(
    src: Float64Array,
    start: number,
    count: number,
    out: Float64Array,
    offset: number,
    stride: number,
  ): void {
    const g0 = TAPS[0] as number;
    const g1 = TAPS[1] as number;
    const g2 = TAPS[2] as number;
    const g3 = TAPS[3] as number;
    const g4 = TAPS[4] as number;
    const g5 = TAPS[5] as number;
    for (let j = 0, p = start, o = offset; j < count; j++, p++, o += stride) {
      out[o] =
        g0 * ((src[p] as number) + (src[p + 10] as number)) +
        g1 * ((src[p + 1] as number) + (src[p + 9] as number)) +
        g2 * ((src[p + 2] as number) + (src[p + 8] as number)) +
        g3 * ((src[p + 3] as number) + (src[p + 7] as number)) +
        g4 * ((src[p + 4] as number) + (src[p + 6] as number)) +
        g5 * (src[p + 5] as number);
    }
  }

  function slot(top: number, k: number, stride: number): number {
    return ((top + k) % SSIM_WINDOW) * stride;
  }

  function addBlockRow(
    src: Uint8Array,
    start: number,
    r: number,
    factor: number,
    ow: number,
    dst: Float64Array,
  ): void {
    const dy = r % factor;
    const base = ((r - dy) / factor) * ow;
    if (factor === 1) {
      for (let i = 0; i < ow; i++) dst[base + i] = src[start + i] as number;
      return;
    }
    const area = factor * factor;
    for (let ox = 0, p = start; ox < ow; ox++) {
      let sum = 0;
      for (let dx = 0; dx < factor; dx++, p++) sum = (sum + (src[p] as number)) | 0;
      const i = base + ox;
      if (dy === 0) dst[i] = sum;
      else dst[i] = (dst[i] as number) + sum;
      if (dy === factor - 1) dst[i] = (dst[i] as number) / area;
    }
  }

  export function prepareReference(reference: LumaImage): Reference {
    const factor = analysisFactor(reference.width, reference.height);
    const width = Math.floor(reference.width / factor);
    const height = Math.floor(reference.height / factor);
    const x = new Float64Array(width * height);
    for (let r = 0; r < height * factor; r++) {
      addBlockRow(reference.data, r * reference.width, r, factor, width, x);
    }
    const prepared = { luma: reference, factor, width, height, x };
    if (width < SSIM_WINDOW || height < SSIM_WINDOW) {
      return { ...prepared, meanX: new Float64Array(0), meanXX: new Float64Array(0) };
    }
    const ow = width - 2 * RADIUS;
    const meanX = new Float64Array(ow * (height - 2 * RADIUS));
    const meanXX = new Float64Array(meanX.length);
    const stride = 2 * ow;
    const ring = new Float64Array(SSIM_WINDOW * stride);
    const squares = new Float64Array(width);
    const g0 = TAPS[0] as number;
    const g1 = TAPS[1] as number;
    const g2 = TAPS[2] as number;
    const g3 = TAPS[3] as number;
    const g4 = TAPS[4] as number;
    const g5 = TAPS[5] as number;
    for (let r = 0; r < height; r++) {
      const row = r * width;
      for (let i = 0; i < width; i++) squares[i] = (x[row + i] as number) * (x[row + i] as number);
      const o = (r % SSIM_WINDOW) * stride;
      filterRow(x, row, ow, ring, o, 2);
      filterRow(squares, 0, ow, ring, o + 1, 2);
      if (r < SSIM_WINDOW - 1) continue;
      const top = r - (SSIM_WINDOW - 1);
      const s0 = slot(top, 0, stride);
      const s1 = slot(top, 1, stride);
      const s2 = slot(top, 2, stride);
      const s3 = slot(top, 3, stride);
      const s4 = slot(top, 4, stride);
      const s5 = slot(top, 5, stride);
      const s6 = slot(top, 6, stride);
      const s7 = slot(top, 7, stride);
      const s8 = slot(top, 8, stride);
      const s9 = slot(top, 9, stride);
      const s10 = slot(top, 10, stride);
      for (let q = 0, m = top * ow; q < stride; q += 2, m++) {
        meanX[m] =
          g0 * ((ring[s0 + q] as number) + (ring[s10 + q] as number)) +
          g1 * ((ring[s1 + q] as number) + (ring[s9 + q] as number)) +
          g2 * ((ring[s2 + q] as number) + (ring[s8 + q] as number)) +
          g3 * ((ring[s3 + q] as number) + (ring[s7 + q] as number)) +
          g4 * ((ring[s4 + q] as number) + (ring[s6 + q] as number)) +
          g5 * (ring[s5 + q] as number);
        meanXX[m] =
          g0 * ((ring[s0 + q + 1] as number) + (ring[s10 + q + 1] as number)) +
          g1 * ((ring[s1 + q + 1] as number) + (ring[s9 + q + 1] as number)) +
          g2 * ((ring[s2 + q + 1] as number) + (ring[s8 + q + 1] as number)) +
          g3 * ((ring[s3 + q + 1] as number) + (ring[s7 + q + 1] as number)) +
          g4 * ((ring[s4 + q + 1] as number) + (ring[s6 + q + 1] as number)) +
          g5 * (ring[s5 + q + 1] as number);
      }
    }
    return { ...prepared, meanX, meanXX };
  }

  function windowedSsim(reference: Reference, y: Float64Array, ws: Workspace): number {
    const { width, height, x, meanX, meanXX } = reference;
    const { ring, squares, products } = ws;
    const ow = width - 2 * RADIUS;
    const stride = STATS * ow;
    const g0 = TAPS[0] as number;
    const g1 = TAPS[1] as number;
    const g2 = TAPS[2] as number;
    const g3 = TAPS[3] as number;
    const g4 = TAPS[4] as number;
    const g5 = TAPS[5] as number;
    let total = 0;
    for (let r = 0; r < height; r++) {
      const row = r * width;
      for (let i = 0, p = row; i < width; i++, p++) {
        const yv = y[p] as number;
        squares[i] = yv * yv;
        products[i] = (x[p] as number) * yv;
      }
      const o = (r % SSIM_WINDOW) * stride;
      filterRow(y, row, ow, ring, o, STATS);
      filterRow(squares, 0, ow, ring, o + 1, STATS);
      filterRow(products, 0, ow, ring, o + 2, STATS);
      if (r < SSIM_WINDOW - 1) continue;
      const top = r - (SSIM_WINDOW - 1);
      const s0 = slot(top, 0, stride);
      const s1 = slot(top, 1, stride);
      const s2 = slot(top, 2, stride);
      const s3 = slot(top, 3, stride);
      const s4 = slot(top, 4, stride);
      const s5 = slot(top, 5, stride);
      const s6 = slot(top, 6, stride);
      const s7 = slot(top, 7, stride);
      const s8 = slot(top, 8, stride);
      const s9 = slot(top, 9, stride);
      const s10 = slot(top, 10, stride);
      let rowTotal = 0;
      for (let q = 0, m = top * ow; q < stride; q += STATS, m++) {
        const my =
          g0 * ((ring[s0 + q] as number) + (ring[s10 + q] as number)) +
          g1 * ((ring[s1 + q] as number) + (ring[s9 + q] as number)) +
          g2 * ((ring[s2 + q] as number) + (ring[s8 + q] as number)) +
          g3 * ((ring[s3 + q] as number) + (ring[s7 + q] as number)) +
          g4 * ((ring[s4 + q] as number) + (ring[s6 + q] as number)) +
          g5 * (ring[s5 + q] as number);
        const eyy =
          g0 * ((ring[s0 + q + 1] as number) + (ring[s10 + q + 1] as number)) +
          g1 * ((ring[s1 + q + 1] as number) + (ring[s9 + q + 1] as number)) +
          g2 * ((ring[s2 + q + 1] as number) + (ring[s8 + q + 1] as number)) +
          g3 * ((ring[s3 + q + 1] as number) + (ring[s7 + q + 1] as number)) +
          g4 * ((ring[s4 + q + 1] as number) + (ring[s6 + q + 1] as number)) +
          g5 * (ring[s5 + q + 1] as number);
        const exy =
          g0 * ((ring[s0 + q + 2] as number) + (ring[s10 + q + 2] as number)) +
          g1 * ((ring[s1 + q + 2] as number) + (ring[s9 + q + 2] as number)) +
          g2 * ((ring[s2 + q + 2] as number) + (ring[s8 + q + 2] as number)) +
          g3 * ((ring[s3 + q + 2] as number) + (ring[s7 + q + 2] as number)) +
          g4 * ((ring[s4 + q + 2] as number) + (ring[s6 + q + 2] as number)) +
          g5 * (ring[s5 + q + 2] as number);
        const mx = meanX[m] as number;
        const mxy = mx * my;
        const msq = mx * mx + my * my;
        rowTotal +=
          ((2 * mxy + C1) * (2 * (exy - mxy) + C2)) /
          ((msq + C1) * ((meanXX[m] as number) + eyy - msq + C2));
      }
      total += rowTotal;
    }
    return total / (ow * (height - 2 * RADIUS));
  }

  function measureRows(reference: Reference, write: RowWriter): { ssim: number; psnrDb: number } {
    const { luma, factor, width, height } = reference;
    const ws = workspace(reference);
    const { row, y } = ws;
    const ref = luma.data;
    const croppedHeight = height * factor;
    const w = luma.width;
    let sse = 0;
    for (let r = 0; r < luma.height; r++) {
      write(r, row);
      const start = r * w;
      for (let from = 0; from < w; from += INT_SSE_RUN) {
        let runSse = 0;
        for (let i = from, end = Math.min(w, from + INT_SSE_RUN); i < end; i++) {
          const d = (ref[start + i] as number) - (row[i] as number);
          runSse = (runSse + d * d) | 0;
        }
        sse += runSse;
      }
      if (r < croppedHeight) addBlockRow(row, 0, r, factor, width, y);
    }
    const value = windowedSsim(reference, y, ws);
    return {
      ssim: Math.min(1, Math.max(-1, value)),
      psnrDb: psnrFromSse(sse, luma.width * luma.height),
    };
  }

  function psnrFromSse(sse: number, n: number): number {
    if (sse === 0) return PSNR_CAP_DB;
    return Math.min(PSNR_CAP_DB, 10 * Math.log10((255 * 255 * n) / sse));
  }

  export function measurePixels(
    reference: Reference,
    pixels: Uint8Array,
    width: number,
    height: number,
    channels: 1 | 2 | 3 | 4,
  ): { ssim: number; psnrDb: number } {
    const { luma } = reference;
    if (width === luma.width && height === luma.height) {
      return measureRows(reference, lumaRows(pixels, width, height, channels));
    }
    const output = lumaFromPixels(pixels, width, height, channels);
    return measureRows(reference, bilinearRows(output, luma.width, luma.height));
  }
}

/** An RGB frame built from a synthetic luma frame: each pixel a slightly coloured grey. */
function rgbFrame(width: number, height: number, seed: number): Uint8Array {
  const grey = frame(width, height, seed).data;
  const rgb = new Uint8Array(width * height * 3);
  for (let i = 0; i < grey.length; i++) {
    const v = grey[i] as number;
    rgb[3 * i] = Math.min(255, v + 12);
    rgb[3 * i + 1] = v;
    rgb[3 * i + 2] = Math.max(0, v - 20 + (i % 7));
  }
  return rgb;
}

/** CPU milliseconds per call: the best of interleaved rounds of `reps` calls of each function. */
function cpuPerCall(fns: readonly (() => void)[], reps: number, rounds: number): number[] {
  const best = fns.map(() => Number.POSITIVE_INFINITY);
  for (const fn of fns) for (let i = 0; i < 3; i++) fn();
  for (let round = 0; round < rounds; round++) {
    for (const [k, fn] of fns.entries()) {
      const started = process.cpuUsage();
      for (let i = 0; i < reps; i++) fn();
      const used = process.cpuUsage(started);
      best[k] = Math.min(best[k] as number, (used.user + used.system) / 1000 / reps);
    }
  }
  return best;
}

/** One row of the kernel table: a call at one frame size, on both implementations. */
interface KernelRow {
  frame: string;
  call: string;
  jsMs: number;
  wasmMs: number;
  /** |SSIM(wasm) - SSIM(JS)|; undefined for the input side, which has no SSIM. */
  ssimDiff: number | undefined;
  psnrEqual: boolean | undefined;
}

/** The kernel calls at one frame size: the input side, a full-size and a half-size output. */
function kernelCalls(width: number, height: number): [string, () => unknown, () => unknown][] {
  const input = rgbFrame(width, height, width + 1);
  const full = degradedRgb(input, 3);
  const sw = Math.round(width / 2);
  const sh = Math.round(height / 2);
  const half = degradedRgb(rgbFrame(sw, sh, width + 1), 4);
  const jsRef = jsBaseline.prepareReference(jsBaseline.lumaFromPixels(input, width, height, 3));
  const ref = prepareReference(lumaFromPixels(input, width, height, 3));
  return [
    [
      'input: luma + prepareReference',
      () => jsBaseline.prepareReference(jsBaseline.lumaFromPixels(input, width, height, 3)),
      () => prepareReference(lumaFromPixels(input, width, height, 3)),
    ],
    [
      'measurePixels, full size',
      () => jsBaseline.measurePixels(jsRef, full, width, height, 3),
      () => measurePixels(ref, full, width, height, 3),
    ],
    [
      `measurePixels, ${sw}x${sh} upscaled`,
      () => jsBaseline.measurePixels(jsRef, half, sw, sh, 3),
      () => measurePixels(ref, half, sw, sh, 3),
    ],
  ];
}

/** The WebAssembly kernels against the pure-JS baseline, per call as the product makes them. */
function runKernelTable(): KernelRow[] {
  const rows: KernelRow[] = [];
  for (const [width, height] of [
    [640, 360],
    [1280, 720],
    [1920, 1080],
  ] as const) {
    const reps = Math.max(5, Math.round(40 * ((640 * 360) / (width * height))));
    for (const [call, js, wasm] of kernelCalls(width, height)) {
      const [jsMs, wasmMs] = cpuPerCall([js, wasm], reps, 5) as [number, number];
      const a = js() as { ssim?: number; psnrDb?: number };
      const b = wasm() as { ssim?: number; psnrDb?: number };
      rows.push({
        frame: `${width}x${height}`,
        call,
        jsMs,
        wasmMs,
        ssimDiff: a.ssim === undefined ? undefined : Math.abs(a.ssim - (b.ssim as number)),
        psnrEqual: a.psnrDb === undefined ? undefined : a.psnrDb === b.psnrDb,
      });
    }
  }
  return rows;
}

/** Interleaved RGB with deterministic coding noise of +-8 on every channel. */
function degradedRgb(rgb: Uint8Array, seed: number): Uint8Array {
  let state = seed >>> 0;
  return rgb.map((v) => {
    state = (Math.imul(state, 22_695_477) + 1) >>> 0;
    return Math.min(255, Math.max(0, v + ((state >>> 24) % 17) - 8));
  });
}

/** The cases of the second table: three sizes at the automatic factor and at F=1, one upscale. */
function qualityCases(): Case[] {
  const cases: Case[] = [];
  for (const [width, height] of [
    [640, 360],
    [1280, 720],
    [3840, 2160],
  ] as const) {
    const reference = frame(width, height, width);
    const output = degraded(reference, height);
    const auto = analysisFactor(width, height);
    cases.push({
      label: `${width}x${height}, auto F=${auto}`,
      reference,
      output,
      factor: undefined,
    });
    cases.push({ label: `${width}x${height}, F=1`, reference, output, factor: 1 });
  }
  const hd = cases[2] as Case;
  cases.splice(4, 0, {
    label: '1280x720 from a 640x360 output, auto F=3',
    reference: hd.reference,
    output: resizeBilinear(degraded(hd.reference, 5), 640, 360),
    factor: undefined,
  });
  return cases;
}

/** One row of the second table: `measureQuality` against the naive reference on one case. */
interface QualityRow {
  label: string;
  fast: ReturnType<typeof summarise>;
  naive: ReturnType<typeof summarise>;
  ssim: number;
  ssimDiff: number;
  psnrDb: number;
  naivePsnrDb: number;
}

function measureCase(c: Case): QualityRow {
  const factor = c.factor ?? analysisFactor(c.reference.width, c.reference.height);
  let fast = measureQuality(c.reference, c.output, { factor });
  const fastSamples = time(
    () => {
      fast = measureQuality(c.reference, c.output, { factor });
    },
    MIN_FAST_ITERATIONS,
    5,
  );
  let naiveSsim = 0;
  let naivePsnr = 0;
  const naiveSamples = time(
    () => {
      // The naive path upscales with the same bilinear resize; what it replaces is the SSIM/PSNR.
      const shown =
        c.output.width === c.reference.width
          ? c.output
          : resizeBilinear(c.output, c.reference.width, c.reference.height);
      naiveSsim = referenceSsim(c.reference, shown, factor);
      naivePsnr = Math.min(PSNR_CAP_DB, referencePsnr(c.reference, shown));
    },
    MIN_NAIVE_ITERATIONS,
    0,
  );
  return {
    label: c.label,
    fast: summarise(fastSamples),
    naive: summarise(naiveSamples),
    ssim: fast.ssim,
    ssimDiff: Math.abs(fast.ssim - naiveSsim),
    psnrDb: fast.psnrDb,
    naivePsnrDb: naivePsnr,
  };
}

function goalsOf(kernels: readonly KernelRow[], quality: readonly QualityRow[]): Goal[] {
  const slowest = Math.min(...kernels.map((k) => k.jsMs / k.wasmMs));
  const ssimDiff = Math.max(...kernels.map((k) => k.ssimDiff ?? 0));
  const naiveDiff = Math.max(...quality.map((q) => q.ssimDiff));
  const psnrEqual = kernels.every((k) => k.psnrEqual !== false);
  return [
    {
      goal: 'SSIM of `measureQuality` against the naive reference, largest difference',
      measured: naiveDiff.toExponential(1),
      target: `<= ${NAIVE_SSIM_TOLERANCE.toExponential(0)}`,
      met: naiveDiff <= NAIVE_SSIM_TOLERANCE,
    },
    {
      goal: 'WebAssembly against pure JS: SSIM, largest difference; PSNR identical',
      measured: `${ssimDiff.toExponential(1)}; ${psnrEqual ? 'identical' : 'different'}`,
      target: `<= ${NAIVE_SSIM_TOLERANCE.toExponential(0)}; identical`,
      met: ssimDiff <= NAIVE_SSIM_TOLERANCE && psnrEqual,
    },
    {
      goal: 'WebAssembly against pure JS, CPU per call, the least speed-up of any call',
      measured: times(slowest, 1),
      target: '>= 1x',
      met: slowest >= 1,
    },
  ];
}

const kernelTable = (rows: readonly KernelRow[]) =>
  markdownTable(
    [
      'frame',
      'call',
      'pure JS (baseline)',
      'WebAssembly',
      'speed-up',
      'SSIM abs diff',
      'PSNR equal',
    ],
    rows.map((k) => [
      k.frame,
      k.call,
      ms(k.jsMs),
      ms(k.wasmMs),
      times(k.jsMs / k.wasmMs, 1),
      k.ssimDiff === undefined ? '' : k.ssimDiff.toExponential(1),
      k.psnrEqual === undefined ? '' : String(k.psnrEqual),
    ]),
  );

const qualityTable = (rows: readonly QualityRow[]) =>
  markdownTable(
    [
      'case',
      'p50',
      'p95',
      'n',
      'naive p50',
      'naive p95',
      'n',
      'speed-up (p50)',
      'SSIM',
      'abs diff vs naive',
      'PSNR dB (naive)',
    ],
    rows.map((q) => [
      q.label,
      ms(q.fast.p50),
      ms(q.fast.p95),
      String(q.fast.n),
      ms(q.naive.p50),
      ms(q.naive.p95),
      String(q.naive.n),
      times(q.naive.p50 / q.fast.p50, 0),
      q.ssim.toFixed(6),
      q.ssimDiff.toExponential(1),
      `${q.psnrDb.toFixed(3)} (${q.naivePsnrDb.toFixed(3)})`,
    ]),
  );

/** Runs the benchmark and writes docs/benchmarks/quality.md. */
export async function runQualityBench(): Promise<void> {
  const run = startRun();
  const kernels = runKernelTable();
  const quality = qualityCases().map(measureCase);
  const goals = goalsOf(kernels, quality);
  const hd = kernels.find((k) => k.frame === '1280x720' && k.call === 'measurePixels, full size');
  await writeBenchmarkPage(run, {
    name: 'quality',
    title: 'Quality measurement (SSIM and PSNR)',
    source: 'bench/quality.ts',
    measures:
      'What measuring a frame costs: the WebAssembly SIMD kernels (`functions/core/quality/wasm`) that compute luma, the bilinear upscale, SSIM and PSNR, per call as the engine makes them, and `measureQuality` against a naive reference implementation.',
    goals,
    baseline: `Two baselines, timed in the same run on the same images: the same kernels in plain JavaScript (float64 filters), and the naive reference (\`test/support/reference-ssim.ts\`). A 1280x720 output is measured in ${ms(hd?.wasmMs ?? Number.NaN)} of CPU against ${ms(hd?.jsMs ?? Number.NaN)} in JavaScript (${times((hd?.jsMs ?? Number.NaN) / (hd?.wasmMs ?? Number.NaN), 1)}).`,
    results: [
      {
        heading:
          'Kernels: WebAssembly against pure JS (RGB frames, automatic factor, CPU ms per call)',
        body: kernelTable(kernels),
      },
      {
        heading: `measureQuality (SSIM + PSNR on luma) against the naive reference (${BUDGET_MS} ms per cell)`,
        body: qualityTable(quality),
      },
    ],
    method: `The kernel table times CPU (\`process.cpuUsage\`), not wall time, over five interleaved rounds of each implementation and reports the best round of each, so that other load on the machine hurts both alike; its frames are synthetic RGB (gradients, edges, a checkerboard, text-like strokes, sensor noise) with deterministic coding noise, and the upscaled row measures a half-size output against the full-size input, as a downscaled encoding is measured. The second table times wall-clock calls of \`measureQuality\` on luma frames, with the automatic analysis factor F (Wang's block means) and at full resolution, until ${BUDGET_MS} ms per cell have passed (at least ${MIN_FAST_ITERATIONS} calls; the naive 4K cases at least ${MIN_NAIVE_ITERATIONS}).`,
  });
}

if (import.meta.url === `file://${process.argv[1]}`) await runQualityBench();
