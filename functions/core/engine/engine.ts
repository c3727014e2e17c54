/**
 * The compression engine (docs/design.md section 4): chooses, for one frame, the encoding with the best
 * measured quality that fits the byte budget, using the session's {@link EngineModel} to guess the
 * right candidate first instead of searching the grid.
 *
 * Every candidate is scored by the model: how many predicted standard deviations its size is under
 * the budget (`zBytes`) and its SSIM over the floor (`zFloor`), and the probability that both hold.
 * The search, in order:
 * 1. Budget phase. Encode the candidate with the highest predicted SSIM among those sure (by
 *    {@link CONFIDENCE_Z}) to fit and meet the floor, counting SSIM one deviation optimistically so
 *    that a safe but unmeasured scale or format gets tried; when none is sure, the one most likely
 *    to do both, or, when even that is unlikely (below {@link EXPLORE_PROBABILITY}), the one most
 *    likely to fit among those sure of the floor by {@link FLOOR_MARGIN_Z} (the rule's answer when
 *    nothing fits). Learn from the result and repeat until an encoding fits
 *    and meets the floor, or the model, calibrated by an over-budget encode of this frame, gives
 *    every remaining candidate less than {@link GIVE_UP_PROBABILITY}. `screen` frames run this on
 *    scale 1 first and on every scale only when scale 1 cannot succeed. Once something meets the
 *    floor, further over-budget encodings are left unmeasured: they only matter if nothing fits.
 *    A candidate that is the last encode the time allows must be sure of the budget by
 *    {@link SINGLE_SHOT_Z} rather than {@link CONFIDENCE_Z}.
 * 2. After a fit that used well under the budget (a cold or surprised model): one try of a
 *    candidate the updated model expects to be clearly better.
 * 3. When nothing fits: measure the left-over encodings smallest first until one meets the floor;
 *    if none does, search for the smallest candidate that meets it; if one does, one try of a
 *    candidate the model expects to be clearly smaller.
 * The final choice is {@link selectBest} over everything measured.
 *
 * Pruning assumes what encoders do: at a fixed format, output size grows with quality and scale, and
 * SSIM (measured at the input's resolution) grows with them too. So an encoding over the budget
 * rules out every candidate of its format with at least its quality and scale, and one under the
 * floor every candidate with at most both. Without limits on attempts or time, the search returns
 * an in-budget encoding whenever one meets the floor, unless the calibrated model rules it out as
 * improbable, and falls back only when no candidate meets the floor. The attempt limit and the
 * latency budget cut it short; it then returns the best valid encoding so far.
 */
import type { CompressionMode, OutputFormat } from '../contracts/config.ts';
import type { FrameBudget } from '../network/budget.ts';
import {
  type Candidate,
  candidateKey,
  enumerateCandidates,
  type FrameSize,
  type FrameType,
} from './candidates.ts';
import {
  coldStartModel,
  type EngineModel,
  initialModel,
  observeEncode,
  observeMeasurement,
  type Prediction,
  predict,
  startFrame,
} from './model.ts';
import type { Encoded, EnginePort, Measurement } from './port.ts';
import { type MeasuredEncoding, type SelectionRules, selectBest } from './selection.ts';

/** Encodes allowed per frame unless the caller says otherwise. */
export const DEFAULT_MAX_ATTEMPTS = 6;

/** Safety margin, in predicted standard deviations, before a candidate counts as a sure fit. */
export const CONFIDENCE_Z = 1;

/**
 * Margin on the byte budget, in predicted standard deviations, for a candidate that is the last
 * encode the latency budget allows: a miss cannot be corrected, so it aims at about 98 %
 * confidence instead of {@link CONFIDENCE_Z}'s 84 %.
 */
export const SINGLE_SHOT_Z = 2;

/** A first fit smaller than this share of the budget earns one try of a better candidate. */
export const IMPROVE_BELOW_BUDGET_SHARE = 0.75;

/**
 * Once the model is calibrated (an encode of this frame over the budget, or the session's earlier
 * frames), the budget phase ends when no remaining candidate has this probability of fitting and
 * meeting the floor.
 */
export const GIVE_UP_PROBABILITY = 0.02;

/**
 * Observations (encodes and measurements) after which the session's model counts as calibrated for
 * giving up on the budget without first spending an encode of this frame on it, when the latency
 * budget leaves time for one encode only: a frame whose budget the session has shown to be out of
 * reach then goes straight to the smallest encoding that meets the floor.
 */
export const CALIBRATED_OBSERVATIONS = 6;

/** Below this probability of success, the budget phase stops exploring and aims at the floor. */
export const EXPLORE_PROBABILITY = 0.1;

/**
 * Margin on the floor when the budget cannot be met and the frame aims at the smallest encoding
 * that meets the floor: wider than {@link CONFIDENCE_Z}, because missing the floor costs another
 * encode while a little margin only costs bytes the frame is over budget by anyway.
 */
export const FLOOR_MARGIN_Z = 1.5;

/** Candidates within this factor of the quickest predicted time count as "the fastest". */
export const FASTEST_SHARE = 1.25;

/** Smallest predicted SSIM gain worth the extra try of step 2. */
const MIN_SSIM_GAIN = 0.005;

/** Step 3 tries a smaller candidate only when it is predicted under this share of the best one. */
const SHRINK_BELOW_SHARE = 0.75;

/** Smallest `1 - SSIM` the floor is compared in (a floor of 1 would otherwise be -Infinity). */
const MIN_DISTORTION = 1e-6;

/** The frame to compress, as decoded by the caller. */
export interface EngineFrame extends FrameSize {
  /** Size of the frame as received, in bytes. */
  readonly originalBytes: number;
  readonly frameType: FrameType;
}

/** The policy fields the engine reads (docs/design.md section 2, config). */
export interface EnginePolicy {
  readonly mode: CompressionMode;
  /** Informational here: the ratio cap is already part of the byte budget (see `frameBudget`). */
  readonly targetCompressionRatio: number;
  /** SSIM floor, 0..1. */
  readonly minQualityScore: number;
  /** Latency budget of the search (encodes and measurements), in ms. */
  readonly maxLatencyMs: number;
  readonly allowedFormats: readonly OutputFormat[];
}

/** Why a frame fell back to its original bytes. */
export type FallbackReason =
  /** Every candidate that could meet the SSIM floor was tried or ruled out, and none did. */
  | 'quality_floor_unreachable'
  /** The latency budget ran out before an encoding met the floor. */
  | 'latency_budget_exhausted'
  /** The attempt limit was reached before an encoding met the floor. */
  | 'attempt_limit_reached'
  /** The encoder or the measurement failed, and nothing else met the floor. */
  | 'encoder_error'
  /** The policy allows no format. */
  | 'no_candidates'
  /** No encoding fit the budget, and the smallest one meeting the floor is larger than the input. */
  | 'original_smaller';

/** One encode the engine tried, with its measurement when it took one. */
export interface Trial {
  readonly candidate: Candidate;
  readonly encoded?: Encoded;
  readonly measurement?: Measurement;
  readonly error?: 'encode_failed' | 'measure_failed';
}

/** Inputs of {@link compressFrame}. */
export interface CompressFrameInput {
  readonly frame: EngineFrame;
  readonly policy: EnginePolicy;
  /** The frame's byte budget (from `frameBudget`). */
  readonly budget: Pick<FrameBudget, 'budgetBytes'>;
  /** The session's learned model; `undefined` starts from the priors. */
  readonly model: EngineModel | undefined;
  readonly port: EnginePort;
  /** Monotonic clock in ms; the latency budget is counted from the first call. */
  readonly now: () => number;
  /** Most encodes for this frame, default {@link DEFAULT_MAX_ATTEMPTS}; `Infinity` for no limit. */
  readonly maxAttempts?: number;
}

/** What the engine decided for one frame. */
export interface CompressionDecision {
  /** `fallback`: the caller returns the original bytes. */
  readonly status: 'success' | 'fallback';
  /** `mode: off`: nothing was encoded and the caller returns the original bytes. */
  readonly passthrough: boolean;
  /**
   * The encoding to return (the adapter holds it under `chosen.id`); absent on passthrough and
   * fallback.
   */
  readonly chosen?: MeasuredEncoding;
  /** Whether the bytes the caller returns fit the budget. */
  readonly withinBudget: boolean;
  readonly fallbackReason?: FallbackReason;
  /** Calls to `port.encode`, failed ones included. */
  readonly encodeAttempts: number;
  /** The model updated with this frame's observations; store it for the session's next frame. */
  readonly model: EngineModel;
  /** Every encode tried, in order. */
  readonly trials: readonly Trial[];
}

type StopCause = 'found' | 'exhausted' | 'infeasible' | 'latency' | 'attempts';

interface Scored {
  readonly candidate: Candidate;
  readonly prediction: Prediction;
  /** Standard deviations by which the predicted size is under the budget. */
  readonly zBytes: number;
  /** Standard deviations by which the predicted SSIM is over the floor. */
  readonly zFloor: number;
  /** Predicted probability of fitting the budget and meeting the floor (taken as independent). */
  readonly success: number;
}

interface MutableTrial {
  candidate: Candidate;
  encoded?: Encoded;
  measurement?: Measurement;
  error?: 'encode_failed' | 'measure_failed';
}

/** Standard normal CDF (Abramowitz and Stegun 7.1.26, error below 1.5e-7). */
function normalCdf(z: number): number {
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

function argmax<T>(items: readonly T[], value: (item: T) => number): T | undefined {
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

/**
 * Predicted SSIMs closer than this count as equal when picking a candidate: no viewer sees the
 * difference, and the smaller candidate is the safer bet on the budget (a still shot otherwise
 * keeps reaching for quality 95, whose size the smooth curves underestimate, for 0.001 of SSIM).
 */
const SSIM_RESOLUTION = 0.001;

/**
 * The highest optimistic SSIM (one standard deviation better than predicted, to
 * {@link SSIM_RESOLUTION}), then the smaller predicted size. Optimism makes the search try, at no
 * extra encode, a safe candidate whose quality the model is unsure of, so that it cannot stay stuck
 * on a wrong guess about a scale or a format it has never measured.
 */
function highestPredictedSsim(pool: readonly Scored[]): Scored | undefined {
  return argmax(pool, (s) => {
    const optimistic = 1 - Math.exp(s.prediction.logDistortion - s.prediction.logDistortionSd);
    return Math.floor(optimistic / SSIM_RESOLUTION) - 1e-6 * s.prediction.logBytes;
  });
}

/**
 * Predicted times are averages; a try is planned with this much headroom (a garbage collection or a
 * busy thread pool easily adds half), so that the latency budget holds for most frames rather than
 * for the average one. `npm run bench:compress` measured 1.5 against 1.25: median latency 12.9 ms
 * instead of 14.5 ms at 640x360, with the same share of frames within budget.
 */
export const TIME_SAFETY = 1.5;

/**
 * Share of the latency budget the search plans to fill: what it cannot plan for (a collection, a
 * busy core, the work after the engine) comes out of the rest. `npm run bench:compress`: the p95
 * of decode + engine at 640x360 about 1 ms lower, frames within budget unchanged.
 */
export const DEADLINE_SHARE = 0.9;

/** Time to plan for encoding and measuring a candidate: its predicted time with headroom, in ms. */
function costOf(s: Scored): number {
  return TIME_SAFETY * (s.prediction.encodeMs + s.prediction.measureMs);
}

/** The smallest candidate sure to meet the floor, else the one most likely to meet it. */
function smallestAboveFloor(pool: readonly Scored[]): Scored | undefined {
  const sure = pool.filter((s) => s.zFloor >= FLOOR_MARGIN_Z);
  if (sure.length === 0) return argmax(pool, (s) => s.zFloor);
  return argmax(sure, (s) => -s.prediction.logBytes);
}

/** The model a session without one starts from: centred on the frame's activity when known. */
function coldModel(port: EnginePort): EngineModel {
  return coldStartModel(port.activity?.());
}

/** The mutable state of one frame's search. */
class FrameSearch {
  model: EngineModel;
  readonly trials: MutableTrial[] = [];
  readonly measured: MeasuredEncoding[] = [];
  attempts = 0;
  failures = 0;
  private readonly tried = new Set<string>();
  private readonly failedFormats = new Set<OutputFormat>();
  private readonly overBudget: Candidate[] = [];
  private readonly underFloor: Candidate[] = [];
  private readonly unmeasured: MutableTrial[] = [];
  private readonly logBudget: number;
  private readonly logMaxDistortion: number;

  constructor(
    private readonly input: CompressFrameInput,
    private readonly candidates: readonly Candidate[],
    private readonly rules: SelectionRules,
    private readonly deadline: number,
    private readonly maxAttempts: number,
  ) {
    const { width, height, frameType, originalBytes } = input.frame;
    this.model = {
      ...startFrame(input.model ?? coldModel(input.port)),
      frame: { width, height, frameType, originalBytes },
    };
    this.logBudget = rules.budgetBytes > 0 ? Math.log(rules.budgetBytes) : Number.NEGATIVE_INFINITY;
    this.logMaxDistortion = Math.log(Math.max(MIN_DISTORTION, 1 - rules.minQualityScore));
  }

  /** Not tried yet, and its format has not failed in this frame. */
  isOpen(candidate: Candidate): boolean {
    return !this.tried.has(candidateKey(candidate)) && !this.failedFormats.has(candidate.format);
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

  hasFit(inTier: (candidate: Candidate) => boolean): boolean {
    return this.measured.some(
      (e) =>
        e.ssim >= this.rules.minQualityScore &&
        e.bytes <= this.rules.budgetBytes &&
        inTier(e.candidate),
    );
  }

  hasValid(): boolean {
    return this.measured.some((e) => e.ssim >= this.rules.minQualityScore);
  }

  remainingMs(): number {
    return this.deadline - this.input.now();
  }

  score(candidate: Candidate): Scored {
    const prediction = predict(this.model, candidate, this.input.frame);
    const zBytes = (this.logBudget - prediction.logBytes) / prediction.logBytesSd;
    const zFloor = (this.logMaxDistortion - prediction.logDistortion) / prediction.logDistortionSd;
    return {
      candidate,
      prediction,
      zBytes,
      zFloor,
      success: normalCdf(zBytes) * normalCdf(zFloor),
    };
  }

  /**
   * The candidates predicted to finish (encode and measure) in the time left. Before the frame's
   * first encode, when none of those is predicted to meet the floor, the fastest ones instead
   * (within {@link FASTEST_SHARE} of the quickest, among those predicted to meet the floor when
   * there are any): returning the original would miss the byte budget by far more than one quick
   * encode misses the latency budget, and an encode below the floor is discarded.
   */
  affordable(scored: readonly Scored[]): Scored[] {
    const remaining = this.remainingMs();
    const inTime = scored.filter((s) => costOf(s) <= remaining);
    if (this.attempts > 0 || scored.length === 0 || inTime.some((s) => s.zFloor >= 0)) {
      return inTime;
    }
    // Quick but hopeless candidates would only waste the one encode: prefer those predicted to meet
    // the floor.
    const likelyValid = scored.filter((s) => s.zFloor >= 0);
    const base = likelyValid.length > 0 ? likelyValid : scored;
    const quickest = Math.min(...base.map(costOf));
    return base.filter((s) => costOf(s) <= quickest * FASTEST_SHARE);
  }

  /**
   * Sure to fit and meet the floor: by {@link CONFIDENCE_Z}, or by {@link SINGLE_SHOT_Z} on the
   * budget when it is the last try (see {@link FrameSearch.isLastTry}). `cheapest` is the least
   * predicted cost (encode and measure) among the candidates in question.
   */
  isSure(s: Scored, cheapest: number): boolean {
    const margin = this.isLastTry(s, cheapest) ? SINGLE_SHOT_Z : CONFIDENCE_Z;
    return s.zBytes >= margin && s.zFloor >= CONFIDENCE_Z;
  }

  /** Whether no candidate costing `cheapest` or more fits in the time left after `s`'s encode. */
  isLastTry(s: Scored, cheapest: number): boolean {
    return this.remainingMs() - TIME_SAFETY * s.prediction.encodeMs < cheapest;
  }

  /** The budget phase's pick (see the module comment, step 1). */
  pickForBudget(pool: readonly Scored[]): Scored | undefined {
    const cheapest = Math.min(...pool.map(costOf));
    const sure = pool.filter((s) => this.isSure(s, cheapest));
    if (sure.length > 0) return highestPredictedSsim(sure);
    const likeliest = argmax(pool, (s) => s.success);
    if (likeliest !== undefined && this.isLastTry(likeliest, cheapest) && !this.hasValid()) {
      // Missing the floor on the last try sends the original; missing the budget only sends a
      // larger encoding. So the last try must be sure of the floor, and then likeliest to fit.
      const sureOfFloor = pool.filter((s) => s.zFloor >= CONFIDENCE_Z);
      if (likeliest.zFloor < CONFIDENCE_Z && sureOfFloor.length > 0) {
        return argmax(sureOfFloor, (s) => s.zBytes);
      }
    }
    if (likeliest === undefined || likeliest.success >= EXPLORE_PROBABILITY || this.hasValid()) {
      return likeliest;
    }
    const sureOfFloor = pool.filter((s) => s.zFloor >= FLOOR_MARGIN_Z);
    return sureOfFloor.length > 0 ? argmax(sureOfFloor, (s) => s.zBytes) : likeliest;
  }

  /**
   * Whether the calibrated model sees no way to fit. Calibrated by the session's earlier frames
   * (see {@link CALIBRATED_OBSERVATIONS}), and then either by an over-budget encode of this frame
   * or, when the time left allows a single encode, by those frames alone, so that encode goes to
   * the smallest valid candidate. A session's first frame never gives up: one encode of it teaches
   * the content's level, not how its quality falls with scale, and a cold model sure of the latter
   * would miss an in-budget encoding that exists.
   */
  budgetOutOfReach(pool: readonly Scored[]): boolean {
    const calibrated =
      (this.input.model?.observations ?? 0) >= CALIBRATED_OBSERVATIONS &&
      (this.overBudget.length > 0 || this.isSingleShot(pool));
    return calibrated && pool.every((s) => s.success < GIVE_UP_PROBABILITY);
  }

  /** Whether the time left allows a single encode of the cheapest candidate of `pool`. */
  isSingleShot(pool: readonly Scored[]): boolean {
    return pool.length > 0 && this.remainingMs() < 2 * Math.min(...pool.map(costOf));
  }

  /**
   * Whether, with time for a single encode, a tier is unlikely to succeed (no candidate of `pool`
   * reaches {@link EXPLORE_PROBABILITY}) while the wider tier `wider` offers a likelier candidate:
   * a screen frame whose full-scale encodes the model expects to miss the budget spends its one
   * encode on a downscale instead. With time for more, the tier is searched until it cannot
   * succeed, as the screen rule says.
   */
  likelierElsewhere(pool: readonly Scored[], wider: (candidate: Candidate) => boolean): boolean {
    if (!this.isSingleShot(pool)) return false;
    const best = Math.max(...pool.map((s) => s.success));
    if (best >= EXPLORE_PROBABILITY) return false;
    const others = this.affordable(
      this.candidates.filter((c) => this.isOpen(c) && wider(c)).map((c) => this.score(c)),
    );
    return others.some((s) => s.success > best);
  }

  /**
   * Encodes one candidate picked from the open, eligible, affordable ones until `done`, the pool
   * runs dry, `giveUp` says the rest is hopeless, or a limit is hit.
   */
  async run(
    eligible: (candidate: Candidate) => boolean,
    pick: (pool: readonly Scored[]) => Scored | undefined,
    done: () => boolean,
    measureOverBudget: boolean,
    giveUp: (pool: readonly Scored[]) => boolean = () => false,
  ): Promise<StopCause> {
    for (;;) {
      if (done()) return 'found';
      const open = this.candidates.filter((c) => this.isOpen(c) && eligible(c));
      if (open.length === 0) return 'exhausted';
      if (this.attempts >= this.maxAttempts) return 'attempts';
      const affordable = this.affordable(open.map((c) => this.score(c)));
      if (affordable.length > 0 && giveUp(affordable)) return 'infeasible';
      const next = pick(affordable);
      if (next === undefined) return 'latency';
      await this.attempt(next.candidate, measureOverBudget);
    }
  }

  /** At most one encode, of the candidate `pick` names among the open, eligible, affordable ones. */
  async tryOnce(
    eligible: (candidate: Candidate) => boolean,
    pick: (pool: readonly Scored[]) => Scored | undefined,
    measureOverBudget: boolean,
  ): Promise<void> {
    if (this.attempts >= this.maxAttempts) return;
    const pool = this.affordable(
      this.candidates.filter((c) => this.isOpen(c) && eligible(c)).map((c) => this.score(c)),
    );
    const next = pick(pool);
    if (next !== undefined) await this.attempt(next.candidate, measureOverBudget);
  }

  async attempt(candidate: Candidate, measureOverBudget: boolean): Promise<void> {
    this.tried.add(candidateKey(candidate));
    this.attempts += 1;
    const trial: MutableTrial = { candidate };
    this.trials.push(trial);
    try {
      trial.encoded = await this.input.port.encode(candidate);
    } catch {
      // A format whose encoder fails once is not retried in this frame (e.g. AVIF unavailable).
      trial.error = 'encode_failed';
      this.failures += 1;
      this.failedFormats.add(candidate.format);
      return;
    }
    this.model = observeEncode(this.model, candidate, trial.encoded);
    if (trial.encoded.bytes > this.rules.budgetBytes) {
      this.overBudget.push(candidate);
      // Until something meets the floor, an over-budget encoding may be the answer, and its SSIM
      // calibrates the model on this frame (skipping it costs more encodes than it saves); after
      // that it can wait (see measureUnmeasured).
      if (!measureOverBudget && this.hasValid()) {
        this.unmeasured.push(trial);
        return;
      }
    }
    await this.measure(trial);
  }

  async measure(trial: MutableTrial): Promise<void> {
    const encoded = trial.encoded;
    if (encoded === undefined) return;
    try {
      trial.measurement = await this.input.port.measure(encoded);
    } catch {
      trial.error = 'measure_failed';
      this.failures += 1;
      return;
    }
    const measurement = trial.measurement;
    this.model = observeMeasurement(this.model, trial.candidate, this.input.frame, measurement);
    if (measurement.ssim < this.rules.minQualityScore) this.underFloor.push(trial.candidate);
    this.measured.push({ ...encoded, ...measurement });
  }

  /** Measures the over-budget encodings smallest first, until one meets the floor. */
  async measureUnmeasured(): Promise<StopCause> {
    const bySize = [...this.unmeasured].sort(
      (a, b) => (a.encoded?.bytes ?? 0) - (b.encoded?.bytes ?? 0),
    );
    for (const trial of bySize) {
      const bytes = trial.encoded?.bytes ?? 0;
      const smallerValid = this.measured.some(
        (e) => e.ssim >= this.rules.minQualityScore && e.bytes <= bytes,
      );
      if (smallerValid) return 'found';
      const prediction = predict(this.model, trial.candidate, this.input.frame);
      if (prediction.measureMs > this.remainingMs()) return 'latency';
      await this.measure(trial);
    }
    return this.hasValid() ? 'found' : 'exhausted';
  }
}

function validateInput(input: CompressFrameInput, maxAttempts: number): void {
  const { frame, policy, budget } = input;
  if (!Number.isInteger(frame.width) || frame.width < 1) {
    throw new RangeError(`frame width must be a positive integer, got ${frame.width}`);
  }
  if (!Number.isInteger(frame.height) || frame.height < 1) {
    throw new RangeError(`frame height must be a positive integer, got ${frame.height}`);
  }
  if (!(budget.budgetBytes >= 0)) {
    throw new RangeError(`budgetBytes must be >= 0, got ${budget.budgetBytes}`);
  }
  if (!(policy.maxLatencyMs > 0)) {
    throw new RangeError(`maxLatencyMs must be positive, got ${policy.maxLatencyMs}`);
  }
  if (!(maxAttempts >= 1)) {
    throw new RangeError(`maxAttempts must be at least 1, got ${maxAttempts}`);
  }
}

/**
 * Compresses one frame under the policy and budget (docs/design.md section 4), through `port`.
 *
 * - `mode: off`: passthrough, nothing encoded, the model unchanged.
 * - Otherwise the search described in this module's comment; the decision carries the model
 *   updated with every encode and measurement, to be stored for the session's next frame.
 *
 * @throws RangeError on a frame, budget, latency budget or attempt limit that makes no sense.
 */
export async function compressFrame(input: CompressFrameInput): Promise<CompressionDecision> {
  const { frame, policy, budget } = input;
  const maxAttempts = input.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
  validateInput(input, maxAttempts);
  const originalFits = frame.originalBytes <= budget.budgetBytes;
  if (policy.mode === 'off') {
    return {
      status: 'success',
      passthrough: true,
      withinBudget: originalFits,
      encodeAttempts: 0,
      model: input.model ?? initialModel(),
      trials: [],
    };
  }
  const candidates = enumerateCandidates(frame, policy.allowedFormats);
  if (candidates.length === 0) {
    return {
      status: 'fallback',
      passthrough: false,
      withinBudget: originalFits,
      fallbackReason: 'no_candidates',
      encodeAttempts: 0,
      model: input.model ?? initialModel(),
      trials: [],
    };
  }
  const rules: SelectionRules = {
    budgetBytes: budget.budgetBytes,
    minQualityScore: policy.minQualityScore,
    frameType: frame.frameType,
  };
  const search = new FrameSearch(
    input,
    candidates,
    rules,
    input.now() + DEADLINE_SHARE * policy.maxLatencyMs,
    maxAttempts,
  );

  const anyScale = (_: Candidate) => true;
  const tiers =
    frame.frameType === 'screen' ? [(c: Candidate) => c.scale === 1, anyScale] : [anyScale];
  let stop: StopCause = 'exhausted';
  let tier = anyScale;
  for (const [i, inTier] of tiers.entries()) {
    tier = inTier;
    const eligible = (c: Candidate) => search.mayFit(c) && search.mayMeetFloor(c);
    const next = tiers[i + 1];
    stop = await search.run(
      (c) => inTier(c) && eligible(c),
      (pool) => search.pickForBudget(pool),
      () => search.hasFit(inTier),
      false,
      (pool) =>
        search.budgetOutOfReach(pool) ||
        (next !== undefined && search.likelierElsewhere(pool, (c) => next(c) && eligible(c))),
    );
    // A tier that ran out of time may still leave affordable (smaller) candidates in the next one.
    if (stop === 'found' || stop === 'attempts') break;
  }

  if (stop === 'found') {
    const first = selectBest(search.measured, rules);
    if (first && first.chosen.bytes < IMPROVE_BELOW_BUDGET_SHARE * rules.budgetBytes) {
      const inTier = tier;
      const target = first.chosen.ssim + MIN_SSIM_GAIN;
      await search.tryOnce(
        (c) => inTier(c) && search.mayFit(c) && search.mayMeetFloor(c),
        (pool) => {
          const cheapest = Math.min(...pool.map(costOf));
          return highestPredictedSsim(
            pool.filter((s) => search.isSure(s, cheapest) && s.prediction.ssim >= target),
          );
        },
        false,
      );
    }
  } else {
    stop = await search.measureUnmeasured();
    const held = selectBest(search.measured, rules);
    if (held === undefined) {
      stop = await search.run(
        (c) => search.mayMeetFloor(c),
        smallestAboveFloor,
        () => search.hasValid(),
        true,
      );
    } else if (stop !== 'latency') {
      const target = Math.log(SHRINK_BELOW_SHARE * held.chosen.bytes);
      await search.tryOnce(
        (c) => search.mayMeetFloor(c),
        (pool) =>
          smallestAboveFloor(
            pool.filter((s) => s.zFloor >= FLOOR_MARGIN_Z && s.prediction.logBytes < target),
          ),
        true,
      );
    }
  }

  const selection = selectBest(search.measured, rules);
  const common = {
    passthrough: false,
    encodeAttempts: search.attempts,
    model: search.model,
    trials: search.trials,
  };
  // Nothing fit the budget and the smallest valid encoding is no smaller than the input: the
  // original (exact quality, fewer bytes) is the better frame to send.
  if (selection && !selection.withinBudget && selection.chosen.bytes >= frame.originalBytes) {
    return {
      ...common,
      status: 'fallback',
      withinBudget: originalFits,
      fallbackReason: 'original_smaller',
    };
  }
  if (selection) {
    return {
      ...common,
      status: 'success',
      chosen: selection.chosen,
      withinBudget: selection.withinBudget,
    };
  }
  return {
    ...common,
    status: 'fallback',
    withinBudget: originalFits,
    fallbackReason: fallbackReason(stop, search),
  };
}

function fallbackReason(stop: StopCause, search: FrameSearch): FallbackReason {
  if (search.measured.length === 0 && search.failures > 0) return 'encoder_error';
  if (stop === 'latency') return 'latency_budget_exhausted';
  if (stop === 'attempts') return 'attempt_limit_reached';
  return search.failures > 0 ? 'encoder_error' : 'quality_floor_unreachable';
}
