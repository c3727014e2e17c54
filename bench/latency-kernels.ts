/**
 * The quality kernels one call at a time, for `bench:latency`: the product calls them fused
 * (`prepareReference` runs luma's block means and the reference filters in one `prepare`;
 * `measurePixels` runs the output's luma, the upscale, the full-resolution pass and the SSIM map in
 * one `measure`), so this module instantiates the same compiled module
 * (functions/core/quality/wasm/quality-wasm.ts) on its own and calls its exports in the order
 * wasm/kernels.ts does, timing each. The results are checked against the fused calls by the caller
 * (`agrees`): a split that computes anything else is not reported.
 *
 * Squared errors for PSNR are summed inside `measure_rows`, with the output's full-size luma and
 * its block sums: the code has no separate PSNR pass to time.
 */
import { WINDOW, webAssembly } from '../functions/core/quality/wasm/kernels.ts';
import { QUALITY_WASM_BASE64 } from '../functions/core/quality/wasm/quality-wasm.ts';

/** The exports this split calls (see wasm/kernels.ts for their contracts). */
interface SplitExports {
  readonly memory: { readonly buffer: ArrayBuffer; grow(pages: number): number };
  readonly __heap_base: { readonly value: number };
  constants(): number;
  luma(src: number, n: number, channels: number, dst: number): void;
  block_means(...args: number[]): void;
  filter_reference(...args: number[]): void;
  measure_rows(...args: number[]): number;
  resize_bilinear(...args: number[]): void;
  ssim_map(...args: number[]): number;
}

const REQUIRED = [
  'constants',
  'luma',
  'block_means',
  'filter_reference',
  'measure_rows',
  'resize_bilinear',
  'ssim_map',
] as const;
const RADIUS = (WINDOW - 1) / 2;
const PAGE = 65_536;

/** What the reference side costs, call by call, ms. */
export interface ReferenceSplit {
  /** Copying the input's pixels in. */
  readonly copyMs: number;
  /** BT.601 luma of the input. */
  readonly lumaMs: number;
  /** The `F x F` block means of the input's luma. */
  readonly blockMeansMs: number;
  /** The Gaussian-filtered mean and mean square of the block means. */
  readonly filtersMs: number;
  /** Copying the planes out. */
  readonly copyOutMs: number;
  /** The planes, to check against `prepareReference`'s. */
  readonly planes: { x: Float64Array; meanX: Float64Array; meanXX: Float64Array };
}

/** What one measurement costs, call by call, ms; the upscale steps are 0 for a full-size output. */
export interface MeasureSplit {
  /** Copying the output's pixels, the reference's luma and its three planes in. */
  readonly copyMs: number;
  /** Luma of a downscaled output (a full-size output's luma is part of `rowsMs`). */
  readonly smallLumaMs: number;
  /** Bilinear upscale of a downscaled output's luma to the input size. */
  readonly upscaleMs: number;
  /** The full-resolution pass: luma (full-size output), squared errors (PSNR) and block sums. */
  readonly rowsMs: number;
  /** The output's Gaussian filters (y, y^2, xy) and the SSIM map. */
  readonly ssimMs: number;
  readonly sse: number;
  readonly ssim: number;
}

/** The kernels' sizes for one frame (as `Geometry` in wasm/kernels.ts). */
export interface SplitGeometry {
  readonly width: number;
  readonly height: number;
  readonly factor: number;
  readonly analysisWidth: number;
  readonly analysisHeight: number;
}

/** The kernels of one module instance, callable one at a time. */
export interface KernelSplitter {
  reference(pixels: Uint8Array, channels: number, g: SplitGeometry): ReferenceSplit;
  measure(
    luma: Uint8Array,
    planes: ReferenceSplit['planes'],
    g: SplitGeometry,
    output: { pixels: Uint8Array; width: number; height: number; channels: number },
  ): MeasureSplit;
}

/**
 * A splitter on a fresh instance of the quality module, or the reason there is none (the module no
 * longer exports what the split calls). Its geometries must hold at least one SSIM window.
 */
export function createKernelSplitter(): KernelSplitter | string {
  const bytes = Uint8Array.from(atob(QUALITY_WASM_BASE64), (c) => c.charCodeAt(0));
  const instance = new webAssembly.Instance(new webAssembly.Module(bytes), {});
  const exports = instance.exports as Record<string, unknown>;
  const missing = REQUIRED.filter((name) => typeof exports[name] !== 'function');
  if (missing.length > 0) return `the quality module no longer exports ${missing.join(', ')}`;
  const wasm = exports as unknown as SplitExports;
  writeConstants(wasm);
  const arena = createArena(wasm);
  return {
    reference: (pixels, channels, g) => referenceSplit(wasm, arena, pixels, channels, g),
    measure: (luma, planes, g, output) => measureSplit(wasm, arena, luma, planes, g, output),
  };
}

/** The Gaussian taps and SSIM's constants where the kernels read them (as wasm/kernels.ts). */
function writeConstants(wasm: SplitExports): void {
  const at = wasm.constants() / 8;
  const f64 = new Float64Array(wasm.memory.buffer);
  let sum = 0;
  for (let k = 0; k < WINDOW; k++) {
    const d = k - RADIUS;
    f64[at + k] = Math.exp(-(d * d) / (2 * 1.5 * 1.5));
    sum += f64[at + k] as number;
  }
  for (let k = 0; k < WINDOW; k++) f64[at + k] = (f64[at + k] as number) / sum;
  f64[at + WINDOW] = (0.01 * 255) ** 2;
  f64[at + WINDOW + 1] = (0.03 * 255) ** 2;
}

/** A bump allocator over the instance's memory, reset at the start of every call. */
interface Arena {
  reset(): void;
  alloc(bytes: number): number;
  copyIn(src: Uint8Array): number;
  copyDoublesIn(src: Float64Array): number;
  doublesOut(at: number, length: number): Float64Array;
}

function createArena(wasm: SplitExports): Arena {
  const align = (offset: number) => (offset + 15) & ~15;
  const base = align(wasm.__heap_base.value);
  let top = base;
  const alloc = (bytes: number) => {
    const at = top;
    top = align(at + bytes);
    const size = wasm.memory.buffer.byteLength;
    if (top > size) wasm.memory.grow(Math.ceil((top - size) / PAGE));
    return at;
  };
  return {
    reset: () => {
      top = base;
    },
    alloc,
    copyIn(src) {
      const at = alloc(src.length);
      new Uint8Array(wasm.memory.buffer).set(src, at);
      return at;
    },
    copyDoublesIn(src) {
      const at = alloc(src.length * 8);
      new Float64Array(wasm.memory.buffer).set(src, at / 8);
      return at;
    },
    doublesOut: (at, length) => new Float64Array(wasm.memory.buffer).slice(at / 8, at / 8 + length),
  };
}

function referenceSplit(
  wasm: SplitExports,
  arena: Arena,
  pixels: Uint8Array,
  channels: number,
  g: SplitGeometry,
): ReferenceSplit {
  const { width, height, factor, analysisWidth: aw, analysisHeight: ah } = g;
  const t0 = performance.now();
  arena.reset();
  const src = arena.copyIn(pixels);
  const luma = arena.alloc(width * height);
  const t1 = performance.now();
  wasm.luma(src, width * height, channels, luma);
  const t2 = performance.now();
  const x = arena.alloc(aw * ah * 8);
  wasm.block_means(luma, width, factor, aw, ah, arena.alloc(aw * factor * 4), x);
  const t3 = performance.now();
  const ow = aw - 2 * RADIUS;
  const on = ow * (ah - 2 * RADIUS);
  const meanX = arena.alloc(on * 8);
  const meanXX = arena.alloc(on * 8);
  const ring = arena.alloc(2 * WINDOW * ow * 8);
  wasm.filter_reference(x, aw, ah, meanX, meanXX, ring, arena.alloc(aw * 8));
  const t4 = performance.now();
  const planes = {
    x: arena.doublesOut(x, aw * ah),
    meanX: arena.doublesOut(meanX, on),
    meanXX: arena.doublesOut(meanXX, on),
  };
  const t5 = performance.now();
  return {
    copyMs: t1 - t0,
    lumaMs: t2 - t1,
    blockMeansMs: t3 - t2,
    filtersMs: t4 - t3,
    copyOutMs: t5 - t4,
    planes,
  };
}

/** Bytes of `resize_bilinear`'s scratch for a `width x height` target (as wasm/kernels.ts). */
const resizeScratch = (width: number, height: number) =>
  2 * (width + height) * 4 + (3 * width + height) * 2;

function measureSplit(
  wasm: SplitExports,
  arena: Arena,
  lumaPlane: Uint8Array,
  planes: ReferenceSplit['planes'],
  g: SplitGeometry,
  output: { pixels: Uint8Array; width: number; height: number; channels: number },
): MeasureSplit {
  const { width, height, factor, analysisWidth: aw, analysisHeight: ah } = g;
  const t0 = performance.now();
  arena.reset();
  const ref = arena.copyIn(lumaPlane);
  let pixels = arena.copyIn(output.pixels);
  const x = arena.copyDoublesIn(planes.x);
  const meanX = arena.copyDoublesIn(planes.meanX);
  const meanXX = arena.copyDoublesIn(planes.meanXX);
  const t1 = performance.now();
  let channels = output.channels;
  let t2 = t1;
  let t3 = t1;
  if (output.width !== width || output.height !== height) {
    const small = arena.alloc(output.width * output.height);
    wasm.luma(pixels, output.width * output.height, channels, small);
    t2 = performance.now();
    pixels = arena.alloc(width * height);
    const scratch = arena.alloc(resizeScratch(width, height));
    wasm.resize_bilinear(small, output.width, output.height, pixels, width, height, scratch);
    channels = 1;
    t3 = performance.now();
  }
  const row = arena.alloc(width);
  const cols = arena.alloc(aw * factor * 4);
  const y = arena.alloc(aw * ah * 8);
  const sse = wasm.measure_rows(ref, pixels, width, height, channels, factor, aw, ah, row, cols, y);
  const t4 = performance.now();
  const ring = arena.alloc(3 * (WINDOW + 1) * (aw - 2 * RADIUS) * 8);
  const squares = arena.alloc(aw * 8);
  const products = arena.alloc(aw * 8);
  const ssim = wasm.ssim_map(x, y, meanX, meanXX, aw, ah, ring, squares, products);
  const t5 = performance.now();
  return {
    copyMs: t1 - t0,
    smallLumaMs: t2 - t1,
    upscaleMs: t3 - t2,
    rowsMs: t4 - t3,
    ssimMs: t5 - t4,
    sse,
    ssim,
  };
}
