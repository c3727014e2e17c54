/**
 * The compression engine (docs/design.md section 4): chooses, for one frame, the encoding with the
 * best measured quality that fits the byte budget, using the session's {@link EngineModel} to guess
 * the right candidate first rather than search the whole grid.
 *
 * Every candidate is scored by the model (`scoring.ts`): how many predicted standard deviations its
 * size is under the budget and its SSIM over the floor, and the probability that both hold.
 * {@link compressFrame} runs the search in phases:
 * 1. {@link startSearch}: the selection rules, the deadline (`deadline.ts`) and the session's model
 *    started on this frame.
 * 1a. {@link tryScreenLadder}, for `screen` frames: the lossless, near-lossless and palette
 *    encodings of `screen-candidates.ts`, at full scale, in order until one fits and meets the
 *    floor. When one does, the lossy search is skipped: nothing it finds beats a fitting ladder
 *    encoding on SSIM at full scale by more than a rounding error, and text stays sharp.
 * 2. {@link searchWithinBudget}: encode the candidate `pickForBudget` names (`next-candidate.ts`),
 *    learn from the result and repeat until an encoding fits and meets the floor, or the give-up
 *    rules (`give-up.ts`) find the rest hopeless. `screen` frames run this on scale 1 first and on
 *    every scale only when scale 1 cannot succeed. Once something meets the floor, further
 *    over-budget encodings are left unmeasured: they only matter if nothing fits.
 * 3. {@link tryBetterFit}: after a fit that used well under the budget (a cold or surprised model),
 *    one try of a candidate the updated model expects to be clearly better.
 * 4. {@link searchAboveFloor}, when nothing fits and the caller could send an encoding over the
 *    budget (not `onlyWithinBudget`): measure the left-over encodings smallest first until one
 *    meets the floor; if none does, search for the smallest candidate that meets it; if one does,
 *    one try of a candidate the model expects to be clearly smaller.
 * 5. {@link decide}: the decision rule (`selectBest`) over everything measured, or a fallback to
 *    the original bytes with its reason.
 *
 * Measured encodings prune the grid (`pruning.ts`). Without limits on attempts or time, the search
 * returns an in-budget encoding whenever one meets the floor, unless the calibrated model rules it
 * out as improbable, and falls back only when no candidate meets the floor. The attempt limit and
 * the latency budget cut it short; it then returns the best valid encoding so far.
 */
import type { CompressionMode, OutputFormat } from '../contracts/config.ts';
import type { FrameBudget } from '../network/budget.ts';
import {
  type Candidate,
  enumerateCandidates,
  type FrameSize,
  type FrameType,
  QUALITY_GRID,
} from './candidates.ts';
import { Deadline } from './deadline.ts';
import {
  FrameSearch,
  type LadderCosts,
  type SearchLoop,
  type StopCause,
  type Trial,
} from './frame-search.ts';
import { budgetOutOfReach, likelierElsewhere } from './give-up.ts';
import { type LadderMemory, NO_LADDER_MEMORY } from './ladder-memory.ts';
import { coldStartModel, type EngineModel, initialModel, predict, startFrame } from './model.ts';
import {
  hedgeFor,
  pickBetterThan,
  pickForBudget,
  pickSmallerThan,
  smallestAboveFloor,
} from './next-candidate.ts';
import type { EnginePort } from './port.ts';
import { type AnyCandidate, type ScreenCandidate, screenCandidates } from './screen-candidates.ts';
import { type MeasuredEncoding, type SelectionRules, selectBest } from './selection.ts';

/** Encodes allowed per frame unless the caller says otherwise. */
export const DEFAULT_MAX_ATTEMPTS = 6;

/** A first fit smaller than this share of the budget earns one try of a better candidate. */
export const IMPROVE_BELOW_BUDGET_SHARE = 0.75;

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
  /**
   * Nothing fits the budget, and the caller sends nothing over it (`onlyWithinBudget`): whether an
   * encoding over the budget would meet the floor was not looked into.
   */
  | 'no_candidate_fits'
  /** No encoding fit the budget, and the smallest one meeting the floor is larger than the input. */
  | 'original_smaller';

/** The options of {@link compressFrame}: the frame, its constraints, the session and the clock. */
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
  /**
   * Encodes the port may run at once, the cores the caller has for them; default 1. From 2, the
   * budget phase encodes a second candidate beside a pick the model is unsure of (`hedgeFor`).
   */
  readonly parallelEncodes?: number;
  /** Whether a `screen` frame tries the screen ladder first; default true. */
  readonly screenLadder?: boolean;
  /**
   * What the ladder's encodings of this content (or of the content a small edit changed) came to
   * in earlier frames (`ladder-memory.ts`); default nothing known.
   */
  readonly ladderMemory?: LadderMemory;
  /**
   * Only full-scale candidates: the caller would rather send nothing now than a downscaled frame
   * (a refinement of a screen while its bucket is still filling); default false.
   */
  readonly fullScaleOnly?: boolean;
  /**
   * Nothing that misses the budget will be sent (the caller drops such a frame): when nothing fits,
   * skip the search for the smallest encoding over the budget; default false.
   */
  readonly onlyWithinBudget?: boolean;
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
  /**
   * Keys of the screen ladder's steps passed over for want of time (`FrameSearch.ladderPassedOver`):
   * a later frame may afford them. Empty or absent when none was, or the ladder was not tried.
   */
  readonly ladderPassedOver?: readonly string[];
}

/** A subset of the candidate grid the budget phase searches on its own. */
type Tier = (candidate: AnyCandidate) => boolean;

const anyScale: Tier = () => true;
const fullScale: Tier = (candidate) => candidate.scale === 1;

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
  const maxAttempts = input.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
  validateInput(input, maxAttempts);
  if (input.policy.mode === 'off') return passthrough(input);
  const candidates = enumerateCandidates(input.frame, input.policy.allowedFormats).filter(
    (candidate) => !input.fullScaleOnly || candidate.scale === 1,
  );
  if (candidates.length === 0) return noCandidates(input);
  const search = startSearch(input, candidates, maxAttempts);
  if (
    input.screenLadder !== false &&
    input.frame.frameType === 'screen' &&
    flatEnoughForLadder(input.port)
  ) {
    const ladder = screenCandidates(input.frame, input.policy.allowedFormats);
    const memory = input.ladderMemory ?? NO_LADDER_MEMORY;
    if ((await tryScreenLadder(search, ladder, input.frame, memory)) === 'found') {
      return decide(search, 'found', input.frame);
    }
  }
  const budgetPhase = await searchWithinBudget(
    search,
    input.model?.observations ?? 0,
    input.onlyWithinBudget !== true,
  );
  let stop = budgetPhase.stop;
  if (stop === 'found') {
    await tryBetterFit(search, budgetPhase.tier);
  } else if (!input.onlyWithinBudget) {
    stop = await searchAboveFloor(search);
  } else if (stop === 'exhausted' || stop === 'infeasible') {
    return decide(search, stop, input.frame, 'no_candidate_fits');
  }
  return decide(search, stop, input.frame);
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

/** The decision of `mode: off`: the original bytes, nothing encoded. */
function passthrough(input: CompressFrameInput): CompressionDecision {
  return {
    status: 'success',
    passthrough: true,
    withinBudget: input.frame.originalBytes <= input.budget.budgetBytes,
    encodeAttempts: 0,
    model: input.model ?? initialModel(),
    trials: [],
  };
}

/** The decision of a policy that allows no format: the original bytes, nothing encoded. */
function noCandidates(input: CompressFrameInput): CompressionDecision {
  return {
    status: 'fallback',
    passthrough: false,
    withinBudget: input.frame.originalBytes <= input.budget.budgetBytes,
    fallbackReason: 'no_candidates',
    encodeAttempts: 0,
    model: input.model ?? initialModel(),
    trials: [],
  };
}

/**
 * Phase 1: plans the frame's search. The deadline's clock starts here, before the frame's activity
 * is read for a session without a model (cold-started from it), so that both count against the
 * latency budget.
 */
function startSearch(
  input: CompressFrameInput,
  candidates: readonly Candidate[],
  maxAttempts: number,
): FrameSearch {
  const { frame, policy, budget, port } = input;
  const rules: SelectionRules = {
    budgetBytes: budget.budgetBytes,
    minQualityScore: policy.minQualityScore,
    frameType: frame.frameType,
  };
  const deadline = new Deadline(input.now, policy.maxLatencyMs);
  const { width, height, frameType, originalBytes } = frame;
  const model: EngineModel = {
    ...startFrame(input.model ?? coldStartModel(port.activity?.())),
    frame: { width, height, frameType, originalBytes },
  };
  const { parallelEncodes } = input;
  return new FrameSearch({
    frame,
    port,
    model,
    candidates,
    rules,
    deadline,
    maxAttempts,
    parallelEncodes,
  });
}

/**
 * The busiest frame (`frameActivity`) the screen ladder is tried on unless it is flat (see
 * {@link MIN_LADDER_FLATNESS}). Lossless and palette coding pay off on flat content, text and UI; a
 * busier frame (a photo or a video inside the shared screen) codes losslessly to many times its
 * budget and many times slower than a lossy encode, which would spend the latency budget on an
 * encoding that cannot be sent.
 */
export const MAX_LADDER_ACTIVITY = 3;

/**
 * The share of exactly equal neighbours (`frameFlatness`) from which a frame is tried on the ladder
 * however busy: a page of dense text is as busy as a photo, but its flat background codes
 * losslessly to a fraction of the lossy size that keeps it readable. Rendered screens measure
 * about 0.9, camera content under 0.45.
 */
export const MIN_LADDER_FLATNESS = 0.6;

/** Whether the frame is flat enough for the ladder; a port that cannot tell allows it. */
function flatEnoughForLadder(port: EnginePort): boolean {
  const activity = port.activity?.();
  if (activity === undefined || activity <= MAX_LADDER_ACTIVITY) return true;
  const flatness = port.flatness?.();
  return flatness !== undefined && flatness >= MIN_LADDER_FLATNESS;
}

/**
 * Phase 1a, for `screen` frames: the screen ladder (`FrameSearch.tryLadder`), with what `memory`
 * knows of it, while the deadline affords its steps. Lossless WebP is expected to take at most what
 * the model expects of a lossy WebP encode of the frame at full scale, which lossless WebP of text
 * and UI takes; a measurement as long as the quickest the model expects of one at full scale. Busy
 * content (a video inside the shared screen) codes losslessly far more slowly, which only the
 * encode itself reveals: the later steps then expect their share of what it took.
 */
async function tryScreenLadder(
  search: FrameSearch,
  ladder: readonly ScreenCandidate[],
  frame: FrameSize,
  memory: LadderMemory,
): Promise<StopCause> {
  const top = Math.max(...QUALITY_GRID);
  const atTop = search.candidates.filter((c) => c.scale === 1 && c.quality === top);
  const basis = atTop.find((c) => c.format === 'webp') ?? atTop[0];
  if (ladder.length === 0 || basis === undefined) return 'exhausted';
  // A measurement decodes an image of the frame's size whatever its format: the time the session
  // learnt best (the quickest, its most measured format's) stands for the ladder's.
  const measureMs = Math.min(...atTop.map((c) => predict(search.model, c, frame).measureMs));
  const costs: LadderCosts = { encodeMs: predict(search.model, basis, frame).encodeMs, measureMs };
  return search.tryLadder(ladder, costs, memory);
}

/**
 * Phase 2, the budget phase: searches each tier (scale 1, then every scale, for `screen`; every
 * scale at once otherwise) for an encoding that fits and meets the floor. `sessionObservations`
 * (the session's model before this frame) says how far the give-up rules may trust the model.
 * Returns why the last tier searched stopped, and that tier.
 */
async function searchWithinBudget(
  search: FrameSearch,
  sessionObservations: number,
  sendsOverBudget: boolean,
): Promise<{ stop: StopCause; tier: Tier }> {
  const tiers = search.rules.frameType === 'screen' ? [fullScale, anyScale] : [anyScale];
  let stop: StopCause = 'exhausted';
  let tier = anyScale;
  for (const [i, inTier] of tiers.entries()) {
    tier = inTier;
    const loop = budgetLoop(search, inTier, tiers[i + 1], sessionObservations, sendsOverBudget);
    stop = await search.run(loop);
    // A tier that ran out of time may still leave affordable (smaller) candidates in the next one.
    if (stop === 'found' || stop === 'attempts') break;
  }
  return { stop, tier };
}

/** The budget phase's loop over one tier; `next` is the wider tier searched after it, if any. */
function budgetLoop(
  search: FrameSearch,
  inTier: Tier,
  next: Tier | undefined,
  sessionObservations: number,
  sendsOverBudget: boolean,
): SearchLoop {
  const eligible = (c: Candidate) => search.mayFit(c) && search.mayMeetFloor(c);
  return {
    eligible: (c) => inTier(c) && eligible(c),
    pick: (pool) => pickForBudget(search, pool, sendsOverBudget),
    hedge: (pool, pick) => hedgeFor(pool, pick, search.deadline),
    done: () => search.hasFit(inTier),
    measureOverBudget: false,
    giveUp: (pool) =>
      budgetOutOfReach(search, pool, sessionObservations) ||
      (next !== undefined && likelierElsewhere(search, pool, (c) => next(c) && eligible(c))),
  };
}

/**
 * Phase 3, after a fit: when the best fit uses less than {@link IMPROVE_BELOW_BUDGET_SHARE} of the
 * budget, one try, in the tier it was found in, of a candidate the updated model is sure fits and
 * expects to be clearly better (`pickBetterThan`).
 */
async function tryBetterFit(search: FrameSearch, tier: Tier): Promise<void> {
  const first = selectBest(search.measured, search.rules);
  if (first && first.chosen.bytes < IMPROVE_BELOW_BUDGET_SHARE * search.rules.budgetBytes) {
    await search.tryOnce({
      eligible: (c) => tier(c) && search.mayFit(c) && search.mayMeetFloor(c),
      pick: pickBetterThan(first.chosen.ssim, search.deadline),
      measureOverBudget: false,
    });
  }
}

/**
 * Phase 4, when nothing fits: the smallest encoding that meets the floor. Measures the over-budget
 * encodings left unmeasured; with none of them valid, searches for the smallest candidate that
 * meets the floor; with one, and time left, one try of a candidate the model expects to be clearly
 * smaller (`pickSmallerThan`). Returns why the search stopped.
 */
async function searchAboveFloor(search: FrameSearch): Promise<StopCause> {
  const stop = await search.measureUnmeasured();
  const held = selectBest(search.measured, search.rules);
  if (held === undefined) {
    return search.run({
      eligible: (c) => search.mayMeetFloor(c),
      pick: smallestAboveFloor,
      done: () => search.hasValid(),
      measureOverBudget: true,
    });
  }
  if (stop !== 'latency') {
    await search.tryOnce({
      eligible: (c) => search.mayMeetFloor(c),
      pick: pickSmallerThan(held.chosen.bytes),
      measureOverBudget: true,
    });
  }
  return stop;
}

/**
 * Phase 5: the decision rule over everything measured. An encoding over the budget that is no
 * smaller than the input loses to the original (exact quality, fewer bytes); with no valid
 * encoding, the frame falls back for `reason` when given, else the reason `stop` and the failures
 * give.
 */
function decide(
  search: FrameSearch,
  stop: StopCause,
  frame: EngineFrame,
  reason?: FallbackReason,
): CompressionDecision {
  const selection = selectBest(search.measured, search.rules);
  const originalFits = frame.originalBytes <= search.rules.budgetBytes;
  const common = {
    passthrough: false,
    encodeAttempts: search.attempts,
    model: search.model,
    trials: search.trials,
    ladderPassedOver: search.ladderPassedOver,
  };
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
    fallbackReason: reason ?? fallbackReason(stop, search),
  };
}

function fallbackReason(stop: StopCause, search: FrameSearch): FallbackReason {
  if (search.measured.length === 0 && search.failures > 0) return 'encoder_error';
  if (stop === 'latency') return 'latency_budget_exhausted';
  if (stop === 'attempts') return 'attempt_limit_reached';
  return search.failures > 0 ? 'encoder_error' : 'quality_floor_unreachable';
}
