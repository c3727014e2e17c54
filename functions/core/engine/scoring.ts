/**
 * How a candidate's prediction stands against the frame's constraints: by how many predicted
 * standard deviations its size is under the byte budget (`zBytes`) and its SSIM over the floor
 * (`zFloor`), and the probability that both hold.
 */
import type { Candidate, FrameSize } from './candidates.ts';
import { type EngineModel, type Prediction, predict } from './model.ts';
import type { SelectionRules } from './selection.ts';

/** Smallest `1 - SSIM` the floor is compared in (a floor of 1 would otherwise be -Infinity). */
const MIN_DISTORTION = 1e-6;

/** A candidate with the model's prediction and how it stands against the budget and the floor. */
export interface Scored {
  readonly candidate: Candidate;
  readonly prediction: Prediction;
  /** Standard deviations by which the predicted size is under the budget. */
  readonly zBytes: number;
  /** Standard deviations by which the predicted SSIM is over the floor. */
  readonly zFloor: number;
  /** Predicted probability of fitting the budget and meeting the floor (taken as independent). */
  readonly success: number;
}

/** The frame's budget and floor on the model's logarithmic scales. */
export interface ScoreTargets {
  /** ln(budget bytes); `-Infinity` for a zero budget. */
  readonly logBudget: number;
  /** ln(1 - floor), the largest distortion that meets the floor. */
  readonly logMaxDistortion: number;
}

/** {@link ScoreTargets} of a frame's selection rules. */
export function scoreTargets(
  rules: Pick<SelectionRules, 'budgetBytes' | 'minQualityScore'>,
): ScoreTargets {
  return {
    logBudget: rules.budgetBytes > 0 ? Math.log(rules.budgetBytes) : Number.NEGATIVE_INFINITY,
    logMaxDistortion: Math.log(Math.max(MIN_DISTORTION, 1 - rules.minQualityScore)),
  };
}

/** Standard normal CDF (Abramowitz and Stegun 7.1.26, error below 1.5e-7). */
export function normalCdf(z: number): number {
  if (z === Number.POSITIVE_INFINITY) return 1;
  if (z === Number.NEGATIVE_INFINITY) return 0;
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * x);
  const poly =
    t *
    (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  const tail = 0.5 * poly * Math.exp(-x * x);
  return z >= 0 ? 1 - tail : tail;
}

/** Scores `candidate` with `model`'s prediction for a frame of size `frame`. */
export function scoreCandidate(
  model: EngineModel,
  candidate: Candidate,
  frame: FrameSize,
  targets: ScoreTargets,
): Scored {
  const prediction = predict(model, candidate, frame);
  const zBytes = (targets.logBudget - prediction.logBytes) / prediction.logBytesSd;
  const zFloor = (targets.logMaxDistortion - prediction.logDistortion) / prediction.logDistortionSd;
  return {
    candidate,
    prediction,
    zBytes,
    zFloor,
    success: normalCdf(zBytes) * normalCdf(zFloor),
  };
}

/** The first item with the largest `value`; `undefined` for an empty list. */
export function argmax<T>(items: readonly T[], value: (item: T) => number): T | undefined {
  let best: T | undefined;
  let bestValue = Number.NEGATIVE_INFINITY;
  for (const item of items) {
    const v = value(item);
    if (best === undefined || v > bestValue) {
      best = item;
      bestValue = v;
    }
  }
  return best;
}
