import type { LimitPlan } from './policy.ts';
import { checkAndRecord, type LimitDecision, type WindowCounts } from './sliding-window.ts';

/** Default cap on the identities one container tracks while degraded. */
export const DEFAULT_FALLBACK_MAX_IDENTITIES = 10_000;

/**
 * The per-container limiter used while Redis is unavailable (breaker open, errors, timeouts, or no
 * Redis configured). It applies the same plans with the same algorithm in memory, so one container
 * cannot be driven without limit; across N containers an identity gets at most N times its quota.
 *
 * Memory is bounded: at most `maxIdentities` identity-and-scope entries (least recently used
 * evicted first), each with at most SUB_BUCKETS + 1 counters per window. An evicted identity starts
 * from zero again, which can only admit more, never reject wrongly.
 */
export class FallbackLimiter {
  readonly #maxIdentities: number;
  // Map iteration order is insertion order: re-inserting on use keeps the oldest entry first.
  readonly #entries = new Map<string, WindowCounts[]>();

  constructor(maxIdentities = DEFAULT_FALLBACK_MAX_IDENTITIES) {
    if (!Number.isInteger(maxIdentities) || maxIdentities < 1) {
      throw new RangeError(`maxIdentities must be a positive integer, got ${maxIdentities}`);
    }
    this.#maxIdentities = maxIdentities;
  }

  /** Identities currently tracked. */
  get size(): number {
    return this.#entries.size;
  }

  /** Checks and (if every window admits it) records one request of `plan` at `nowMs`. */
  check(plan: LimitPlan, nowMs: number, cost = 1): LimitDecision {
    const key = `${plan.identity.kind}:${plan.identity.value}:${plan.scope}:${plan.windows
      .map((w) => w.seconds)
      .join(',')}`;
    let states = this.#entries.get(key);
    if (states === undefined) {
      states = plan.windows.map(() => new Map<number, number>());
    } else {
      this.#entries.delete(key);
    }
    this.#entries.set(key, states);
    while (this.#entries.size > this.#maxIdentities) {
      const oldest = this.#entries.keys().next().value as string;
      this.#entries.delete(oldest);
    }
    return checkAndRecord(states, plan.windows, nowMs, cost);
  }
}
