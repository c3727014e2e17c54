/**
 * The encoding recommended for a session's next frame: the candidate the engine itself would try
 * first. It runs {@link compressFrame} with the same model, policy and budget, through a port that
 * encodes nothing and with an attempt limit of one, and reports the engine's first trial. There is
 * no second copy of the selection rules to drift from the engine's.
 */
import type { CompressionMode, OutputFormat } from '../contracts/config.ts';
import { frameBudget } from '../network/budget.ts';
import type { FrameSize, FrameType } from './candidates.ts';
import { compressFrame, type EnginePolicy } from './engine.ts';
import type { EngineModel } from './model.ts';
import type { EnginePort } from './port.ts';
import { isScreenCandidate } from './screen-candidates.ts';

/** The frame assumed when the session's frame size is unknown: 720p video. */
export const DEFAULT_RECOMMENDATION_FRAME: FrameSize & { readonly frameType: FrameType } = {
  width: 1280,
  height: 720,
  frameType: 'video',
};

/** What the engine would try first. `format: null`: it would send the original untouched. */
export interface Recommendation {
  readonly mode: CompressionMode;
  readonly format: OutputFormat | null;
  /** Encoder quality; null with `format: null`. */
  readonly quality: number | null;
  /** Scale of each dimension (1 with `format: null`). */
  readonly scale: number;
}

/** Inputs of {@link recommendEncoding}: what /compress would pass the engine for this session. */
export interface RecommendationInput {
  readonly policy: EnginePolicy;
  /** The session's learned model when the policy is predictive, else `undefined` (the priors). */
  readonly model: EngineModel | undefined;
  /** The frame's byte budget. */
  readonly budgetBytes: number;
  /**
   * The frame type to plan for; default the type of the frame planned for. That frame is the
   * session's latest, from the model (its size and original size, whose ratio cap then limits the
   * budget as /compress does), else {@link DEFAULT_RECOMMENDATION_FRAME}.
   */
  readonly frameType?: FrameType;
}

const refuse = () => Promise.reject(new Error('planning only: nothing is encoded'));

/** A port that refuses every call: the engine's first choice is all the plan needs. */
const planningPort: EnginePort = { encode: refuse, measure: refuse };

/**
 * The candidate {@link compressFrame} tries first for this input. The clock is frozen at the start
 * of the frame, so the whole latency budget is available to the plan; /compress has used a few
 * microseconds of it by then, which only matters for a candidate predicted to take the budget to
 * the microsecond.
 */
export async function recommendEncoding(input: RecommendationInput): Promise<Recommendation> {
  const latest = input.model?.frame;
  const frame = latest ?? DEFAULT_RECOMMENDATION_FRAME;
  // With the latest frame's size known, the budget is capped by the target ratio as /compress caps
  // it; unknown, no passthrough fits and only the network share counts.
  const originalBytes = latest?.originalBytes ?? Number.POSITIVE_INFINITY;
  const budgetBytes = latest
    ? Math.min(
        input.budgetBytes,
        frameBudget({
          originalBytes: latest.originalBytes,
          targetCompressionRatio: input.policy.targetCompressionRatio,
        }).budgetBytes,
      )
    : input.budgetBytes;
  const decision = await compressFrame({
    frame: { ...frame, frameType: input.frameType ?? frame.frameType, originalBytes },
    policy: input.policy,
    budget: { budgetBytes },
    model: input.model,
    port: planningPort,
    now: () => 0,
    maxAttempts: 1,
    // A recommendation names a lossy format x quality x scale; the screen ladder is outside it.
    screenLadder: false,
  });
  const first = decision.trials[0]?.candidate;
  return first && !isScreenCandidate(first)
    ? { mode: input.policy.mode, format: first.format, quality: first.quality, scale: first.scale }
    : { mode: input.policy.mode, format: null, quality: null, scale: 1 };
}
