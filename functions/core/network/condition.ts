/**
 * The 0..1 `network_condition` score a client may send instead of a full network sample, and its
 * bandwidth equivalent. The mapping is logarithmic (each doubling of bandwidth adds the same amount
 * to the score): 0 at {@link CONDITION_MIN_KBPS} or less, 1 at {@link CONDITION_MAX_KBPS} or more.
 */

/** Bandwidth at and below which the score is 0: the contract's lowest accepted bandwidth. */
export const CONDITION_MIN_KBPS = 64;

/** Bandwidth at and above which the score is 1 (20 Mbps). */
export const CONDITION_MAX_KBPS = 20_000;

const LOG_SPAN = Math.log(CONDITION_MAX_KBPS / CONDITION_MIN_KBPS);

/**
 * Bandwidth in kbps that a score stands for, `64 x (20000 / 64)^score`; scores outside 0..1 are
 * clamped.
 *
 * @throws RangeError when the score is not a number.
 */
export function conditionToBandwidthKbps(score: number): number {
  if (Number.isNaN(score)) throw new RangeError('network condition must be a number');
  const clamped = Math.min(1, Math.max(0, score));
  return CONDITION_MIN_KBPS * Math.exp(clamped * LOG_SPAN);
}

/**
 * The 0..1 score of a bandwidth in kbps; the inverse of {@link conditionToBandwidthKbps} between
 * 64 kbps and 20 Mbps.
 *
 * @throws RangeError when the bandwidth is not a number.
 */
export function bandwidthToCondition(kbps: number): number {
  if (Number.isNaN(kbps)) throw new RangeError('bandwidth must be a number');
  if (kbps <= CONDITION_MIN_KBPS) return 0;
  if (kbps >= CONDITION_MAX_KBPS) return 1;
  return Math.log(kbps / CONDITION_MIN_KBPS) / LOG_SPAN;
}
