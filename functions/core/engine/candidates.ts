/**
 * The candidate space of the engine (docs/design.md section 4): format x quality x scale.
 */
import type { OutputFormat } from '../contracts/config.ts';

/** What a frame shows: `screen` (text, UI) must stay legible, so it is downscaled only as a last resort. */
export type FrameType = 'video' | 'screen';

/** Encoder qualities tried, from 20 to 95 in steps of 5. */
export const QUALITY_GRID: readonly number[] = Object.freeze(
  Array.from({ length: 16 }, (_, i) => 20 + 5 * i),
);

/** Output scales relative to the input, largest first. */
export const SCALE_LADDER: readonly number[] = Object.freeze([1, 0.75, 0.5, 0.375, 0.25]);

/** Smallest output a downscale may produce (the contract's smallest accepted frame). */
export const MIN_OUTPUT_WIDTH = 160;
/** Smallest output height a downscale may produce. */
export const MIN_OUTPUT_HEIGHT = 90;

/** Formats in a fixed order, so that enumeration does not depend on how a policy lists them. */
const FORMAT_ORDER: readonly OutputFormat[] = ['jpeg', 'webp', 'avif'];

/** Pixel dimensions of a frame. */
export interface FrameSize {
  readonly width: number;
  readonly height: number;
}

/** One way to encode a frame: what the port is asked to produce. */
export interface Candidate {
  readonly format: OutputFormat;
  /** Encoder quality, 1..100 in the encoder's own scale. */
  readonly quality: number;
  /** Output size relative to the input (1 = no resize). */
  readonly scale: number;
  /** Output width in pixels (the input width x scale, rounded). */
  readonly width: number;
  /** Output height in pixels. */
  readonly height: number;
}

/** Output dimensions of a frame at a scale: rounded to whole pixels, at least 1. */
export function outputSize(frame: FrameSize, scale: number): FrameSize {
  return {
    width: Math.max(1, Math.round(frame.width * scale)),
    height: Math.max(1, Math.round(frame.height * scale)),
  };
}

/**
 * Scales of {@link SCALE_LADDER} usable for a frame: 1 always (it is no downscale), the others only
 * when their output stays at or above 160x90.
 */
export function usableScales(frame: FrameSize): number[] {
  return SCALE_LADDER.filter((scale) => {
    if (scale === 1) return true;
    const size = outputSize(frame, scale);
    return size.width >= MIN_OUTPUT_WIDTH && size.height >= MIN_OUTPUT_HEIGHT;
  });
}

/** A stable key of a candidate, e.g. `webp@75x0.5`. */
export function candidateKey(candidate: Pick<Candidate, 'format' | 'quality' | 'scale'>): string {
  return `${candidate.format}@${candidate.quality}x${candidate.scale}`;
}

/**
 * The full candidate grid of a frame: every allowed format x {@link QUALITY_GRID} x
 * {@link usableScales}. The engine searches it with its model; the benchmark's exhaustive oracle
 * and the tests encode all of it.
 */
export function enumerateCandidates(
  frame: FrameSize,
  allowedFormats: readonly OutputFormat[],
): Candidate[] {
  const scales = usableScales(frame);
  const candidates: Candidate[] = [];
  for (const format of FORMAT_ORDER) {
    if (!allowedFormats.includes(format)) continue;
    for (const scale of scales) {
      const size = outputSize(frame, scale);
      for (const quality of QUALITY_GRID) {
        candidates.push({ format, quality, scale, width: size.width, height: size.height });
      }
    }
  }
  return candidates;
}
