/**
 * What the screen ladder's encodings of a content came to in earlier frames (docs/design.md
 * section 4.4). A still screen's refinements encode the same pixels again: their sizes and SSIMs
 * are known exactly after the first try, and a step that cannot fit the budget, or cannot meet the
 * floor, need not be encoded again. A small edit changes them little, so they carry over to it.
 */
import type { Trial } from './frame-search.ts';
import { isScreenCandidate, screenCandidateKey } from './screen-candidates.ts';

/** What one ladder encoding of a content came to. */
export interface LadderOutcome {
  readonly bytes: number;
  readonly encodeMs: number;
  /** Its SSIM against the content (the engine's); absent when it was not measured. */
  readonly ssim?: number;
  /** What measuring it took, ms; absent when it was not measured. */
  readonly measureMs?: number;
}

/**
 * Ladder outcomes by `screenCandidateKey`. A plain record: it is stored as JSON with the viewer's
 * image.
 */
export type LadderMemory = Readonly<Record<string, LadderOutcome>>;

/** Nothing known yet. */
export const NO_LADDER_MEMORY: LadderMemory = Object.freeze({});

/**
 * How much quicker a step passed over for want of time is expected next time. A remembered time is
 * one encode's, which may have met a busy machine; a step never retried would keep it for good.
 */
export const PASSED_OVER_SPEEDUP = 0.8;

/**
 * `previous` with what this frame's ladder encodes came to; an encoding tried again replaces what
 * was known of it, and one `passedOver` (keys) is expected {@link PASSED_OVER_SPEEDUP} quicker. A
 * lossless encoding needs no measurement: its SSIM is 1.
 */
export function rememberLadder(
  previous: LadderMemory,
  trials: readonly Trial[],
  passedOver: readonly string[] = [],
): LadderMemory {
  const next: Record<string, LadderOutcome> = { ...previous };
  for (const key of passedOver) {
    const known = next[key];
    if (known) next[key] = { ...known, encodeMs: PASSED_OVER_SPEEDUP * known.encodeMs };
  }
  for (const { candidate, encoded, measurement } of trials) {
    if (!isScreenCandidate(candidate) || encoded === undefined) continue;
    const outcome = { bytes: encoded.bytes, encodeMs: encoded.encodeMs };
    next[screenCandidateKey(candidate)] =
      candidate.encoding === 'lossless'
        ? { ...outcome, ssim: 1 }
        : measurement === undefined
          ? outcome
          : { ...outcome, ssim: measurement.ssim, measureMs: measurement.measureMs };
  }
  return next;
}

/** Whether a known outcome could be the ladder's answer under a budget and a quality floor. */
export function mayAnswer(outcome: LadderOutcome, budgetBytes: number, floor: number): boolean {
  return outcome.bytes <= budgetBytes && (outcome.ssim === undefined || outcome.ssim >= floor);
}
