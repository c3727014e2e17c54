/**
 * The measurement's share of a frame, after its search: the input's reference as the port prepares
 * it (one fused call, timed), then the reference and each output the search measured again, kernel
 * by kernel (`latency-kernels.ts`), checked against what the fused calls gave.
 */
import { lumaFromPixels } from '../functions/core/quality/luma.ts';
import {
  PSNR_CAP_DB,
  prepareReference,
  type QualityReference,
  releaseReference,
} from '../functions/core/quality/ssim.ts';
import type { DecodedFrame } from '../functions/platform/imaging/frame-decoder.ts';
import type { KernelSplitter, ReferenceSplit, SplitGeometry } from './latency-kernels.ts';
import type { PortLog } from './latency-port.ts';
import { addSample, type FrameSample } from './latency-stats.ts';

type Phases = FrameSample['phases'];

/**
 * Times the frame's reference and, when `splitter` is one, every kernel of the reference and of
 * each measured output. Returns whether the kernels one at a time agree exactly with the fused
 * calls (undefined when they could not be called apart).
 */
export function timeKernels(
  splitter: KernelSplitter | string,
  decoded: DecodedFrame,
  log: PortLog,
  phases: Phases,
): boolean | undefined {
  const started = performance.now();
  const reference = prepareReference(
    lumaFromPixels(decoded.pixels, decoded.width, decoded.height, decoded.channels),
  );
  addSample(phases, 'refFused', performance.now() - started);
  try {
    return typeof splitter === 'string'
      ? undefined
      : splitKernels(splitter, decoded, reference, log, phases);
  } finally {
    releaseReference(reference);
  }
}

function splitKernels(
  splitter: KernelSplitter,
  decoded: DecodedFrame,
  reference: QualityReference,
  log: PortLog,
  phases: Phases,
): boolean {
  const g: SplitGeometry = {
    width: decoded.width,
    height: decoded.height,
    factor: reference.factor,
    analysisWidth: reference.width,
    analysisHeight: reference.height,
  };
  const ref = splitter.reference(decoded.pixels, decoded.channels, g);
  addSample(phases, 'refCopies', ref.copyMs + ref.copyOutMs);
  addSample(phases, 'refLuma', ref.lumaMs);
  addSample(phases, 'refBlocks', ref.blockMeansMs);
  addSample(phases, 'refFilters', ref.filtersMs);
  let agree = samePlanes(ref.planes, reference);
  for (const measured of log.measurements) {
    const split = splitter.measure(reference.luma.data, ref.planes, g, measured.output);
    addSample(phases, 'kCopies', split.copyMs);
    if (split.upscaleMs > 0) {
      addSample(phases, 'kSmallLuma', split.smallLumaMs);
      addSample(phases, 'kUpscale', split.upscaleMs);
    }
    addSample(phases, 'kRows', split.rowsMs);
    addSample(phases, 'kSsim', split.ssimMs);
    const ssim = Math.min(1, Math.max(-1, split.ssim));
    const psnrDb = psnrOf(split.sse, decoded.width * decoded.height);
    agree &&= ssim === measured.ssim && psnrDb === measured.psnrDb;
  }
  return agree;
}

/** Whether the split's reference planes are exactly the product's. */
function samePlanes(planes: ReferenceSplit['planes'], reference: QualityReference): boolean {
  const same = (a: Float64Array, b: Float64Array) =>
    a.length === b.length && a.every((value, i) => value === b[i]);
  return (
    same(planes.x, reference.x) &&
    same(planes.meanX, reference.meanX) &&
    same(planes.meanXX, reference.meanXX)
  );
}

/** PSNR from a sum of squared errors, as ssim.ts computes it. */
function psnrOf(sse: number, n: number): number {
  if (sse === 0) return PSNR_CAP_DB;
  return Math.min(PSNR_CAP_DB, 10 * Math.log10((255 * 255 * n) / sse));
}
