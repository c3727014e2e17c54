/**
 * Deadline planning: which candidates one frame's search can still afford in its latency budget,
 * from the model's predicted encode and measure times.
 */
import type { Scored } from './scoring.ts';

/**
 * Predicted times are averages; a try is planned with this much headroom (a garbage collection or a
 * busy thread pool easily adds half), so that the latency budget holds for most frames rather than
 * for the average one.
 */
export const TIME_SAFETY = 1.5;

/**
 * The headroom of a try whose time is known rather than predicted: the same encoding of the same
 * pixels in an earlier frame (`ladder-memory.ts`), so only the machine's own variation is left.
 */
export const KNOWN_TIME_SAFETY = 1.2;

/**
 * Share of the latency budget the search plans to fill: what it cannot plan for (a collection, a
 * busy core, the work after the engine) comes out of the rest.
 */
export const DEADLINE_SHARE = 0.9;

/** Candidates within this factor of the quickest predicted time count as "the fastest". */
export const FASTEST_SHARE = 1.25;

/** Time to plan for encoding and measuring a candidate: its predicted time with headroom, in ms. */
export function costOf(s: Scored): number {
  return TIME_SAFETY * (s.prediction.encodeMs + s.prediction.measureMs);
}

/** The least {@link costOf} in `pool` (`Infinity` for an empty pool). */
export function cheapestCost(pool: readonly Scored[]): number {
  return Math.min(...pool.map(costOf));
}

/** The end of one frame's search, {@link DEADLINE_SHARE} of its latency budget after it starts. */
export class Deadline {
  private readonly at: number;
  /** The whole time from the start of the search to the deadline, in ms. */
  readonly spanMs: number;

  /** Starts the clock: reads `now` once, at the start of the frame's search. */
  constructor(
    private readonly now: () => number,
    maxLatencyMs: number,
  ) {
    this.spanMs = DEADLINE_SHARE * maxLatencyMs;
    this.at = now() + this.spanMs;
  }

  /** Time left until the deadline, in ms (negative once past it). */
  remainingMs(): number {
    return this.at - this.now();
  }

  /**
   * The candidates predicted to finish (encode and measure) in the time left. Before the frame's
   * first encode (`encodesSoFar` 0), when none of those is predicted to meet the floor, the fastest
   * ones instead (within {@link FASTEST_SHARE} of the quickest, among those predicted to meet the
   * floor when there are any): returning the original would miss the byte budget by far more than
   * one quick encode misses the latency budget, and an encode below the floor is discarded.
   */
  affordable(scored: readonly Scored[], encodesSoFar: number): Scored[] {
    const remaining = this.remainingMs();
    const inTime = scored.filter((s) => costOf(s) <= remaining);
    if (encodesSoFar > 0 || scored.length === 0 || inTime.some((s) => s.zFloor >= 0)) {
      return inTime;
    }
    // Quick but hopeless candidates would only waste the one encode: prefer those predicted to meet
    // the floor.
    const likelyValid = scored.filter((s) => s.zFloor >= 0);
    const base = likelyValid.length > 0 ? likelyValid : scored;
    const quickest = cheapestCost(base);
    return base.filter((s) => costOf(s) <= quickest * FASTEST_SHARE);
  }

  /** Whether no candidate costing `cheapest` or more fits in the time left after `s`'s encode. */
  isLastTry(s: Scored, cheapest: number): boolean {
    return this.remainingMs() - TIME_SAFETY * s.prediction.encodeMs < cheapest;
  }

  /** Whether the time left allows a single encode of the cheapest candidate of `pool`. */
  isSingleShot(pool: readonly Scored[]): boolean {
    return pool.length > 0 && this.remainingMs() < 2 * cheapestCost(pool);
  }
}
