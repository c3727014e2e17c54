/**
 * The quality kernels in WebAssembly (quality.c, built by `npm run build:wasm` into
 * quality-wasm.ts): one module instance per process, instantiated synchronously when this module
 * loads.
 *
 * Memory: the instance's linear memory is a scratch arena. Every call here is synchronous and
 * starts by resetting the arena, copies its inputs in, runs the kernels and copies the results out
 * into ordinary typed arrays, so nothing in linear memory outlives a call and nothing a caller
 * holds points into it (a prepared reference stays valid however many frames are measured in
 * between, at any await point). The copies are cheap next to the kernels (a 720p measurement
 * copies in the RGB output, the reference's luma and its three float64 planes, a few MB), so the
 * reference is not kept resident in linear memory, which would need lifetimes tied to the garbage
 * collector. The memory grows when a call needs more and is never shrunk: it stays as large as the
 * largest measurement so far (about 8 MB for a 720p RGB frame at the automatic factor, about
 * 300 MB for 3840x2160 at factor 1).
 */
import { QUALITY_WASM_BASE64 } from './quality-wasm.ts';

/**
 * The part of the WebAssembly JS API used here. The project's TypeScript libs (ES2023, Node's
 * types) do not declare its classes, so they are typed locally.
 */
export interface WasmApi {
  readonly Module: (new (
    bytes: Uint8Array,
  ) => object) & {
    imports(module: object): readonly unknown[];
  };
  readonly Instance: new (module: object, imports: object) => { readonly exports: unknown };
}

/** The runtime's WebAssembly object. */
export const webAssembly = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

interface QualityExports {
  readonly memory: { readonly buffer: ArrayBuffer; grow(pages: number): number };
  readonly __heap_base: { readonly value: number };
  constants(): number;
  luma(src: number, n: number, channels: number, dst: number): void;
  block_means(
    plane: number,
    w: number,
    f: number,
    aw: number,
    ah: number,
    cols: number,
    means: number,
  ): void;
  measure_rows(
    ref: number,
    pixels: number,
    w: number,
    h: number,
    channels: number,
    f: number,
    aw: number,
    ah: number,
    row: number,
    cols: number,
    means: number,
  ): number;
  resize_bilinear(
    src: number,
    sw: number,
    sh: number,
    dst: number,
    w: number,
    h: number,
    scratch: number,
  ): void;
  filter_reference(
    x: number,
    aw: number,
    ah: number,
    meanX: number,
    meanXX: number,
    ring: number,
    squares: number,
  ): void;
  ssim_map(
    x: number,
    y: number,
    meanX: number,
    meanXX: number,
    aw: number,
    ah: number,
    ring: number,
    squares: number,
    products: number,
  ): number;
  whole_ssim(x: number, y: number, n: number): number;
  sse(a: number, b: number, n: number): number;
}

/** Side of the Gaussian window, in pixels. */
export const WINDOW = 11;
const RADIUS = (WINDOW - 1) / 2;
const SIGMA = 1.5;
const PAGE = 65_536;

const wasm = (() => {
  const bytes = Uint8Array.from(atob(QUALITY_WASM_BASE64), (c) => c.charCodeAt(0));
  const instance = new webAssembly.Instance(new webAssembly.Module(bytes), {});
  return instance.exports as unknown as QualityExports;
})();

const heapBase = align(wasm.__heap_base.value);
let top = heapBase;
let bytesView = new Uint8Array(wasm.memory.buffer);
let doublesView = new Float64Array(wasm.memory.buffer);

function align(offset: number): number {
  return (offset + 15) & ~15;
}

/** Starts a call: everything allocated by the previous one is free again. */
function reset(): void {
  top = heapBase;
}

/** `bytes` of scratch memory, 16-byte aligned, growing the memory when needed. */
function alloc(bytes: number): number {
  const at = top;
  top = align(at + bytes);
  const size = wasm.memory.buffer.byteLength;
  if (top > size) wasm.memory.grow(Math.ceil((top - size) / PAGE));
  return at;
}

/** Views of the current memory (growing it replaces the buffer); call after the allocations. */
function views(): { u8: Uint8Array; f64: Float64Array } {
  if (bytesView.buffer !== wasm.memory.buffer) {
    bytesView = new Uint8Array(wasm.memory.buffer);
    doublesView = new Float64Array(wasm.memory.buffer);
  }
  return { u8: bytesView, f64: doublesView };
}

/** Copies `src` into newly allocated scratch memory. */
function copyIn(src: Uint8Array): number {
  const at = alloc(src.length);
  views().u8.set(src, at);
  return at;
}

/** Copies float64 values into newly allocated scratch memory. */
function copyDoublesIn(src: Float64Array): number {
  const at = alloc(src.length * 8);
  views().f64.set(src, at / 8);
  return at;
}

/** A copy of `length` float64 values at `at`. */
function doublesOut(at: number, length: number): Float64Array {
  const out = spare.get(length)?.pop() ?? new Float64Array(length);
  out.set(views().f64.subarray(at / 8, at / 8 + length));
  return out;
}

/** Released planes kept per length, at most this many of each. */
const MAX_SPARE_PER_LENGTH = 4;
/** Lengths (frame sizes) with spare planes kept; the oldest is dropped beyond this. */
const MAX_SPARE_LENGTHS = 6;
/**
 * Planes of released references, by length, for the next references to reuse. A reference's
 * planes are the largest allocation of a frame's measurement (1.3 MB at 640x360), and allocations
 * outside the JS heap are what makes V8 run full collections, which land in the latency tail:
 * reusing them keeps those rarer.
 */
const spare = new Map<number, Float64Array[]>();

/**
 * Gives a reference's planes back for reuse. The caller must not read them afterwards: a later
 * {@link prepare} overwrites them.
 */
export function releasePlanes(planes: ReferencePlanes): void {
  for (const plane of [planes.x, planes.meanX, planes.meanXX]) {
    if (plane.length === 0) continue;
    let list = spare.get(plane.length);
    if (list === undefined) {
      if (spare.size >= MAX_SPARE_LENGTHS) {
        const oldest = spare.keys().next().value;
        if (oldest !== undefined) spare.delete(oldest);
      }
      list = [];
      spare.set(plane.length, list);
    }
    if (list.length < MAX_SPARE_PER_LENGTH && !list.includes(plane)) list.push(plane);
  }
}

/**
 * The kernels' constants, written once where they read them: the normalised 1-D Gaussian taps
 * (sigma 1.5; their outer product is `fspecial('gaussian', 11, 1.5)`), then SSIM's C1 and C2
 * (K1 = 0.01, K2 = 0.03, L = 255).
 */
(() => {
  const at = wasm.constants() / 8;
  const { f64 } = views();
  let sum = 0;
  for (let k = 0; k < WINDOW; k++) {
    const d = k - RADIUS;
    f64[at + k] = Math.exp(-(d * d) / (2 * SIGMA * SIGMA));
    sum += f64[at + k] as number;
  }
  for (let k = 0; k < WINDOW; k++) f64[at + k] = (f64[at + k] as number) / sum;
  f64[at + WINDOW] = (0.01 * 255) ** 2;
  f64[at + WINDOW + 1] = (0.03 * 255) ** 2;
})();

/** BT.601 luma of `n` interleaved pixels of `channels` channels (sizes already checked). */
export function lumaOf(pixels: Uint8Array, n: number, channels: number): Uint8Array {
  reset();
  const src = copyIn(pixels);
  const dst = alloc(n);
  wasm.luma(src, n, channels, dst);
  return views().u8.slice(dst, dst + n);
}

/** Sum of squared differences of two planes of the same length. */
export function squaredError(a: Uint8Array, b: Uint8Array): number {
  reset();
  const x = copyIn(a);
  const y = copyIn(b);
  return wasm.sse(x, y, a.length);
}

/** Bytes of `resize_bilinear`'s scratch for a `width x height` target. */
function resizeScratch(width: number, height: number): number {
  return 2 * (width + height) * 4 + (3 * width + height) * 2;
}

/** Pixel-centre aligned bilinear resize of `src` (`sw x sh`, checked) to `width x height`. */
export function resize(
  src: Uint8Array,
  sw: number,
  sh: number,
  width: number,
  height: number,
): Uint8Array {
  reset();
  const from = copyIn(src);
  const to = alloc(width * height);
  const scratch = alloc(resizeScratch(width, height));
  wasm.resize_bilinear(from, sw, sh, to, width, height, scratch);
  return views().u8.slice(to, to + width * height);
}

/** The geometry of a measurement: full-resolution size, factor, analysis plane size. */
export interface Geometry {
  readonly width: number;
  readonly height: number;
  readonly factor: number;
  readonly analysisWidth: number;
  readonly analysisHeight: number;
}

/** The reference's planes (see QualityReference in ssim.ts). */
export interface ReferencePlanes {
  readonly x: Float64Array;
  readonly meanX: Float64Array;
  readonly meanXX: Float64Array;
}

/** Whether the analysis plane holds at least one whole window. */
function windowed(g: Geometry): boolean {
  return g.analysisWidth >= WINDOW && g.analysisHeight >= WINDOW;
}

/** Block means of `luma`, and their Gaussian-filtered mean and mean square when windowed. */
export function prepare(luma: Uint8Array, g: Geometry): ReferencePlanes {
  const { width, factor, analysisWidth: aw, analysisHeight: ah } = g;
  reset();
  const plane = copyIn(luma);
  const cols = alloc(aw * factor * 4);
  const x = alloc(aw * ah * 8);
  wasm.block_means(plane, width, factor, aw, ah, cols, x);
  if (!windowed(g)) {
    return { x: doublesOut(x, aw * ah), meanX: new Float64Array(0), meanXX: new Float64Array(0) };
  }
  const ow = aw - 2 * RADIUS;
  const on = ow * (ah - 2 * RADIUS);
  const meanX = alloc(on * 8);
  const meanXX = alloc(on * 8);
  const ring = alloc(2 * WINDOW * ow * 8);
  const squares = alloc(aw * 8);
  wasm.filter_reference(x, aw, ah, meanX, meanXX, ring, squares);
  return {
    x: doublesOut(x, aw * ah),
    meanX: doublesOut(meanX, on),
    meanXX: doublesOut(meanXX, on),
  };
}

/** What one measurement returns before clamping and the dB conversion. */
export interface RawMeasurement {
  /** Sum of squared luma errors at full resolution. */
  readonly sse: number;
  /** Mean SSIM on the analysis plane. */
  readonly ssim: number;
}

/**
 * Measures an output against a prepared reference: `pixels` (`pw x ph`, `channels` interleaved,
 * checked by the caller) are turned into luma, upscaled bilinearly to the reference's size when
 * smaller, compared with `luma` for the squared errors, reduced to block means and compared with
 * the reference's planes by SSIM.
 */
export function measure(
  luma: Uint8Array,
  planes: ReferencePlanes,
  g: Geometry,
  pixels: Uint8Array,
  pw: number,
  ph: number,
  channels: number,
): RawMeasurement {
  const { width, height, factor, analysisWidth: aw, analysisHeight: ah } = g;
  reset();
  const ref = copyIn(luma);
  let output = copyIn(pixels);
  let outputChannels = channels;
  if (pw !== width || ph !== height) {
    const small = alloc(pw * ph);
    wasm.luma(output, pw * ph, channels, small);
    output = alloc(width * height);
    wasm.resize_bilinear(small, pw, ph, output, width, height, alloc(resizeScratch(width, height)));
    outputChannels = 1;
  }
  const row = alloc(width);
  const cols = alloc(aw * factor * 4);
  const y = alloc(aw * ah * 8);
  const sse = wasm.measure_rows(
    ref,
    output,
    width,
    height,
    outputChannels,
    factor,
    aw,
    ah,
    row,
    cols,
    y,
  );
  const x = copyDoublesIn(planes.x);
  if (!windowed(g)) return { sse, ssim: wasm.whole_ssim(x, y, aw * ah) };
  const meanX = copyDoublesIn(planes.meanX);
  const meanXX = copyDoublesIn(planes.meanXX);
  const ring = alloc(3 * (WINDOW + 1) * (aw - 2 * RADIUS) * 8);
  const squares = alloc(aw * 8);
  const products = alloc(aw * 8);
  return { sse, ssim: wasm.ssim_map(x, y, meanX, meanXX, aw, ah, ring, squares, products) };
}
