/**
 * The floor of `bench:latency`: the least a frame can cost with today's tools, one input decode
 * plus the cheapest encode that fits the frame's byte budget and meets the quality floor, plus its
 * measurement. Which encode is cheapest is found on the frame's whole candidate grid (encoded and
 * measured once, after the timed sessions); the floor itself is then timed afresh on a new port.
 */

import type { OutputFormat } from '../functions/core/contracts/config.ts';
import { type Candidate, enumerateCandidates } from '../functions/core/engine/candidates.ts';
import { type DecodedFrame, decodeFrame } from '../functions/platform/imaging/frame-decoder.ts';
import { createSharpEnginePort } from '../functions/platform/imaging/sharp-engine-port.ts';

/** One candidate of a frame's grid, encoded and measured. */
export interface GridEntry {
  readonly candidate: Candidate;
  readonly bytes: number;
  readonly ssim: number;
  readonly encodeMs: number;
  readonly measureMs: number;
}

/**
 * The entry that fits `budgetBytes`, meets `minQualityScore` and took the least time to encode and
 * measure; undefined when none does (the frame's budget cannot be met).
 */
export function cheapestValid(
  grid: readonly GridEntry[],
  budgetBytes: number,
  minQualityScore: number,
): GridEntry | undefined {
  let best: GridEntry | undefined;
  for (const entry of grid) {
    if (entry.bytes > budgetBytes || entry.ssim < minQualityScore) continue;
    if (!best || entry.encodeMs + entry.measureMs < best.encodeMs + best.measureMs) best = entry;
  }
  return best;
}

/**
 * Encodes and measures every candidate of the frame's grid, one at a time, on one port whose
 * reference is prepared first (so that no encode carries it).
 */
export async function measureGrid(
  decoded: DecodedFrame,
  allowedFormats: readonly OutputFormat[],
): Promise<GridEntry[]> {
  const port = createSharpEnginePort(decoded);
  port.reference();
  const entries: GridEntry[] = [];
  try {
    for (const candidate of enumerateCandidates(decoded, allowedFormats)) {
      const encoded = await port.encode(candidate);
      const measured = await port.measure(encoded);
      entries.push({
        candidate,
        bytes: encoded.bytes,
        ssim: measured.ssim,
        encodeMs: encoded.encodeMs,
        measureMs: measured.measureMs,
      });
    }
  } finally {
    port.finish();
  }
  return entries;
}

/** One floor sample, ms. */
export interface FloorSample {
  readonly decodeMs: number;
  /** The encode (the input's reference prepared beside it, as the port does) and its measurement. */
  readonly encodeMeasureMs: number;
}

/** Times the floor of `frame`: its decode, then `candidate` encoded and measured on a new port. */
export async function timeFloor(frame: Buffer, candidate: Candidate): Promise<FloorSample> {
  const started = performance.now();
  const decoded = await decodeFrame(frame);
  const decodedAt = performance.now();
  const port = createSharpEnginePort(decoded);
  try {
    await port.measure(await port.encode(candidate));
  } finally {
    port.finish();
  }
  return { decodeMs: decodedAt - started, encodeMeasureMs: performance.now() - decodedAt };
}
