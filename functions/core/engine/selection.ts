/**
 * The decision rule of docs/design.md section 4, applied to encodings whose quality is measured. The
 * engine and the exhaustive oracle both choose with it, so they can only differ in what they tried.
 */
import type { FrameType } from './candidates.ts';
import type { Encoded, Measurement } from './port.ts';

/** An encoding with its measured quality. */
export type MeasuredEncoding = Encoded & Measurement;

/** The constraints one frame is chosen under. */
export interface SelectionRules {
  /** Largest output that fits the frame's budget, in bytes. */
  readonly budgetBytes: number;
  /** SSIM floor: an encoding under it is never chosen. */
  readonly minQualityScore: number;
  /** `screen` keeps scale 1 whenever a scale-1 encoding fits the budget and meets the floor. */
  readonly frameType: FrameType;
}

/** The chosen encoding and whether it fits the budget. */
export interface Selection {
  readonly chosen: MeasuredEncoding;
  readonly withinBudget: boolean;
}

/** Whether an encoding meets the SSIM floor. */
export function meetsFloor(encoding: Measurement, rules: SelectionRules): boolean {
  return encoding.ssim >= rules.minQualityScore;
}

/** Whether an encoding fits the byte budget. */
export function fitsBudget(encoding: Pick<Encoded, 'bytes'>, rules: SelectionRules): boolean {
  return encoding.bytes <= rules.budgetBytes;
}

function highestSsim(encodings: readonly MeasuredEncoding[]): MeasuredEncoding | undefined {
  let best: MeasuredEncoding | undefined;
  for (const e of encodings) {
    if (!best || e.ssim > best.ssim || (e.ssim === best.ssim && e.bytes < best.bytes)) best = e;
  }
  return best;
}

function smallest(encodings: readonly MeasuredEncoding[]): MeasuredEncoding | undefined {
  let best: MeasuredEncoding | undefined;
  for (const e of encodings) {
    if (!best || e.bytes < best.bytes || (e.bytes === best.bytes && e.ssim > best.ssim)) best = e;
  }
  return best;
}

/**
 * Chooses among measured encodings: the highest SSIM among those that fit the budget and meet the
 * floor (for `screen`, among those at scale 1 when there are any); when none fits the budget, the
 * smallest that meets the floor (`withinBudget: false`); when none meets the floor, `undefined`
 * (the caller falls back to the original). Ties go to the smaller, then the higher-SSIM encoding.
 */
export function selectBest(
  encodings: readonly MeasuredEncoding[],
  rules: SelectionRules,
): Selection | undefined {
  const valid = encodings.filter((e) => meetsFloor(e, rules));
  const fitting = valid.filter((e) => fitsBudget(e, rules));
  const fullSize =
    rules.frameType === 'screen' ? fitting.filter((e) => e.candidate.scale === 1) : [];
  const best = highestSsim(fullSize.length > 0 ? fullSize : fitting);
  if (best) return { chosen: best, withinBudget: true };
  const fallback = smallest(valid);
  return fallback ? { chosen: fallback, withinBudget: false } : undefined;
}
