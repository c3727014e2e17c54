/**
 * What one frame's measured encodings rule out, assuming what encoders do: at a fixed format, output
 * size grows with quality and scale, and SSIM (measured at the input's resolution) grows with them
 * too. So an encoding over the budget rules out every candidate of its format with at least its
 * quality and scale, and one under the floor every candidate with at most both.
 */
import type { Candidate } from './candidates.ts';

/** The over-budget and under-floor encodings of one frame, and what they rule out. */
export class Pruning {
  private readonly overBudget: Candidate[] = [];
  private readonly underFloor: Candidate[] = [];

  /** Records an encoding larger than the budget. */
  addOverBudget(candidate: Candidate): void {
    this.overBudget.push(candidate);
  }

  /** Records an encoding whose SSIM is under the floor. */
  addUnderFloor(candidate: Candidate): void {
    this.underFloor.push(candidate);
  }

  /** Whether any encoding of the frame was over the budget. */
  hasOverBudget(): boolean {
    return this.overBudget.length > 0;
  }

  /** Not ruled out by an over-budget encoding of its format at no more quality and scale. */
  mayFit(candidate: Candidate): boolean {
    return !this.overBudget.some(
      (o) =>
        o.format === candidate.format &&
        candidate.quality >= o.quality &&
        candidate.scale >= o.scale,
    );
  }

  /** Not ruled out by an under-floor encoding of its format at no less quality and scale. */
  mayMeetFloor(candidate: Candidate): boolean {
    return !this.underFloor.some(
      (u) =>
        u.format === candidate.format &&
        candidate.quality <= u.quality &&
        candidate.scale <= u.scale,
    );
  }
}
