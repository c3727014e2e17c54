/**
 * The per-session network estimator (docs/design.md section 2, network update), in the spirit of the
 * loss-based half of WebRTC's send-side congestion control.
 *
 * Each update carries the client's measured available bandwidth `B`, its packet loss `p` (a
 * fraction), RTT, jitter and frame rate. Two quantities are kept:
 *
 * - The ceiling `C`: the reported bandwidth smoothed upwards and followed at once downwards,
 *   `C' = min(B, a x B + (1 - a) x C)` with `a` = {@link CEILING_SMOOTHING}. A single optimistic
 *   report lifts it only part of the way; a pessimistic one is believed immediately.
 * - The estimate `E` (reported as `smoothed_bandwidth_kbps`), driven by loss like WebRTC's
 *   controller and never above the ceiling:
 *   - `p < 2 %`: may grow by at most 5 % per update, `E' = min(C', 1.05 x E)`;
 *   - `2 % <= p <= 10 %`: holds, `E' = min(C', E)`;
 *   - `p > 10 %`: cut by half the loss fraction, `E' = min(C', E x (1 - 0.5 x p))`;
 *   and never below {@link MIN_ESTIMATE_KBPS}, so a long outage cannot drive it to zero. The first
 *   update starts from `E = C = B` and applies the same rule (so heavy loss cuts it at once).
 *
 * From the last {@link HISTORY_SIZE} updates (a bounded ring) come the predicted bandwidth (the
 * least-squares trend of `E`, {@link PREDICTION_HORIZON_UPDATES} updates ahead, bounded by what the
 * rule could reach in that many updates and by the last report) and the stability
 * (`1 - coefficient of variation` of the reported bandwidths, clamped to 0..1).
 *
 * The state is plain JSON (about 40 numbers) so it can live in Redis between updates;
 * {@link restoreEstimator} validates a cached copy with {@link networkEstimatorStateSchema} and
 * rejects anything else, and the caller then rebuilds the state by replaying stored samples.
 */
import { z } from 'zod';
import { type NetworkConditions, networkConditionsSchema } from '../contracts/compress.ts';
import { type NetworkSample, networkBytesPerFrame } from './budget.ts';
import { bandwidthToCondition } from './condition.ts';

/** Version of the serialized state; bump it when its shape or meaning changes. */
export const NETWORK_ESTIMATOR_VERSION = 1;

/** Loss below this fraction lets the estimate grow. */
export const LOW_LOSS_FRACTION = 0.02;

/** Loss above this fraction cuts the estimate; in between it holds. */
export const HIGH_LOSS_FRACTION = 0.1;

/** Largest growth of the estimate per update under low loss (5 %). */
export const MAX_GROWTH_PER_UPDATE = 0.05;

/** Under heavy loss the estimate is multiplied by `1 - LOSS_CUT_SHARE x loss`. */
export const LOSS_CUT_SHARE = 0.5;

/** Weight of a new report in the upward smoothing of the ceiling. */
export const CEILING_SMOOTHING = 0.3;

/** Floor of the estimate, kbps: below the contract's smallest report (64 kbps). */
export const MIN_ESTIMATE_KBPS = 16;

/** Updates kept for the trend and the stability. */
export const HISTORY_SIZE = 10;

/** How many updates ahead the predicted bandwidth looks. */
export const PREDICTION_HORIZON_UPDATES = 3;

/** Lower bounds (exclusive for excellent) of the quality classes, kbps (docs/design.md section 2). */
export const QUALITY_THRESHOLDS_KBPS = { excellent: 10_000, good: 5_000, fair: 1_000 } as const;

/** Class of the smoothed estimate. */
export type NetworkQuality = 'excellent' | 'good' | 'fair' | 'poor';

const positive = z
  .number()
  .refine((value) => Number.isFinite(value) && value > 0, 'must be positive and finite');

const historyEntrySchema = z.object({ reportedKbps: positive, estimateKbps: positive }).strict();

/** Schema of a serialized {@link NetworkEstimatorState}: anything else is rejected. */
export const networkEstimatorStateSchema = z
  .object({
    version: z.literal(NETWORK_ESTIMATOR_VERSION),
    /** Updates folded in since the session's first. */
    sampleCount: z.number().int().positive(),
    /** The estimate `E`, kbps. */
    estimateKbps: positive,
    /** The smoothed ceiling `C`, kbps. */
    ceilingKbps: positive,
    /** The last updates, oldest first. */
    history: z.array(historyEntrySchema).min(1).max(HISTORY_SIZE),
    /** The last update as received. */
    last: networkConditionsSchema,
  })
  .strict()
  .refine(
    (state) => state.estimateKbps <= state.ceilingKbps || state.estimateKbps === MIN_ESTIMATE_KBPS,
    'estimate above its ceiling',
  )
  .refine(
    (state) => state.ceilingKbps <= state.last.available_bandwidth_kbps,
    'ceiling above the last report',
  );

/** The estimator's state for one session, JSON-serialisable. */
export type NetworkEstimatorState = z.infer<typeof networkEstimatorStateSchema>;

/** What the estimator says about a session's network. */
export interface NetworkEstimate {
  /** The estimate `E`, kbps (`smoothed_bandwidth_kbps`). */
  readonly smoothedKbps: number;
  /** Bandwidth expected {@link PREDICTION_HORIZON_UPDATES} updates ahead, kbps. */
  readonly predictedKbps: number;
  /** 0..1, 1 = steady. */
  readonly stability: number;
  readonly quality: NetworkQuality;
  /** 0..1 score: the bandwidth score times the transport factor (see {@link networkCondition}). */
  readonly condition: number;
  /** Byte budget of one frame under this estimate ({@link networkBytesPerFrame}). */
  readonly budgetBytesPerFrame: number;
  readonly sampleCount: number;
  /**
   * The network a frame of this session is budgeted for: the estimate, the last loss and frame
   * rate. Pass it to `frameBudget` so that /compress and this estimate agree.
   */
  readonly sample: NetworkSample;
}

/** The loss rule applied to the previous estimate, before the ceiling and the floor. */
export function lossRule(estimateKbps: number, lossFraction: number): number {
  if (lossFraction < LOW_LOSS_FRACTION) return estimateKbps * (1 + MAX_GROWTH_PER_UPDATE);
  if (lossFraction <= HIGH_LOSS_FRACTION) return estimateKbps;
  return estimateKbps * (1 - LOSS_CUT_SHARE * lossFraction);
}

/**
 * Folds one update into the state (`undefined` for the session's first update) and returns the
 * new state; the input is not modified.
 */
export function updateEstimator(
  state: NetworkEstimatorState | undefined,
  update: NetworkConditions,
): NetworkEstimatorState {
  const reported = update.available_bandwidth_kbps;
  const loss = update.packet_loss_percent / 100;
  const previousCeiling = state?.ceilingKbps ?? reported;
  const ceilingKbps = Math.min(
    reported,
    CEILING_SMOOTHING * reported + (1 - CEILING_SMOOTHING) * previousCeiling,
  );
  const previousEstimate = state?.estimateKbps ?? reported;
  const estimateKbps = Math.max(
    MIN_ESTIMATE_KBPS,
    Math.min(ceilingKbps, lossRule(previousEstimate, loss)),
  );
  const history = [...(state?.history ?? []), { reportedKbps: reported, estimateKbps }].slice(
    -HISTORY_SIZE,
  );
  return {
    version: NETWORK_ESTIMATOR_VERSION,
    sampleCount: (state?.sampleCount ?? 0) + 1,
    estimateKbps,
    ceilingKbps,
    history,
    last: { ...update },
  };
}

/** Replays updates, oldest first, from an empty state; `undefined` when there are none. */
export function replayEstimator(
  updates: readonly NetworkConditions[],
): NetworkEstimatorState | undefined {
  let state: NetworkEstimatorState | undefined;
  for (const update of updates) state = updateEstimator(state, update);
  return state;
}

/**
 * Reads a cached state (already JSON-parsed); `undefined` when it fails
 * {@link networkEstimatorStateSchema} (corrupt, truncated, another version).
 */
export function restoreEstimator(cached: unknown): NetworkEstimatorState | undefined {
  const parsed = networkEstimatorStateSchema.safeParse(cached);
  return parsed.success ? parsed.data : undefined;
}

/** Class of a bandwidth: excellent > 10 Mbps, good 5..10, fair 1..5, poor < 1. */
export function qualityClass(kbps: number): NetworkQuality {
  if (kbps > QUALITY_THRESHOLDS_KBPS.excellent) return 'excellent';
  if (kbps >= QUALITY_THRESHOLDS_KBPS.good) return 'good';
  if (kbps >= QUALITY_THRESHOLDS_KBPS.fair) return 'fair';
  return 'poor';
}

/** `1 - coefficient of variation` (population) of the values, clamped to 0..1; 1 for one value. */
export function stabilityOf(values: readonly number[]): number {
  if (values.length < 2) return 1;
  const mean = values.reduce((sum, v) => sum + v, 0) / values.length;
  if (!(mean > 0)) return 0;
  const variance = values.reduce((sum, v) => sum + (v - mean) ** 2, 0) / values.length;
  return Math.min(1, Math.max(0, 1 - Math.sqrt(variance) / mean));
}

/** Least-squares slope of the values against their index (0 for fewer than two). */
function slopeOf(values: readonly number[]): number {
  const n = values.length;
  if (n < 2) return 0;
  const meanX = (n - 1) / 2;
  const meanY = values.reduce((sum, v) => sum + v, 0) / n;
  let covariance = 0;
  let varianceX = 0;
  values.forEach((value, i) => {
    covariance += (i - meanX) * (value - meanY);
    varianceX += (i - meanX) ** 2;
  });
  return covariance / varianceX;
}

/**
 * The transport factor, 0..1, from loss, RTT and jitter, after the simplified ITU-T G.107 E-model
 * used by network monitors: effective one-way delay `d = rtt / 2 + 2 x jitter + 10` ms, rating
 * `R = 93.2 - (d < 160 ? d / 40 : (d - 120) / 10) - 2.5 x loss%`, factor `R / 93.2`. A clean link
 * scores about 1, 10 % loss about 0.73, 1 s of RTT about 0.58, 40 % loss 0.
 */
export function transportFactor(rttMs: number, jitterMs: number, lossPercent: number): number {
  const delay = rttMs / 2 + 2 * jitterMs + 10;
  const delayPenalty = delay < 160 ? delay / 40 : (delay - 120) / 10;
  const rating = 93.2 - delayPenalty - 2.5 * lossPercent;
  return Math.min(1, Math.max(0, rating / 93.2));
}

/**
 * The 0..1 `network_condition`: the logarithmic bandwidth score of the estimate
 * (`bandwidthToCondition`) times the {@link transportFactor} of the last update, so a fast but
 * lossy or laggy link scores lower than its bandwidth alone.
 */
export function networkCondition(estimateKbps: number, last: NetworkConditions): number {
  return (
    bandwidthToCondition(estimateKbps) *
    transportFactor(last.rtt_ms, last.jitter_ms, last.packet_loss_percent)
  );
}

/** Everything the API reports about a state (see {@link NetworkEstimate}). */
export function describeEstimate(state: NetworkEstimatorState): NetworkEstimate {
  const estimate = state.estimateKbps;
  const trend = slopeOf(state.history.map((entry) => entry.estimateKbps));
  const horizon = PREDICTION_HORIZON_UPDATES;
  // Bounded by the rule: at most 5 % growth per update (and never above the last report), at most
  // a halving per update (100 % loss).
  const highest = Math.min(
    state.last.available_bandwidth_kbps,
    estimate * (1 + MAX_GROWTH_PER_UPDATE) ** horizon,
  );
  const lowest = Math.max(MIN_ESTIMATE_KBPS, estimate * (1 - LOSS_CUT_SHARE) ** horizon);
  const predictedKbps = Math.min(highest, Math.max(lowest, estimate + trend * horizon));
  const sample: NetworkSample = {
    bandwidthKbps: estimate,
    packetLossPercent: state.last.packet_loss_percent,
    fps: state.last.fps,
  };
  return {
    smoothedKbps: estimate,
    predictedKbps,
    stability: stabilityOf(state.history.map((entry) => entry.reportedKbps)),
    quality: qualityClass(estimate),
    condition: networkCondition(estimate, state.last),
    budgetBytesPerFrame: networkBytesPerFrame(sample),
    sampleCount: state.sampleCount,
    sample,
  };
}
