/**
 * Exponential backoff schedules (pure: no timers here; callers decide how to wait).
 */

/** How often to try something and how long to wait between tries. */
export interface RetryPolicy {
  /** Total number of tries, the first one included (an integer of at least 1). */
  tries: number;
  /** Wait before the second try; every later wait doubles. */
  baseDelayMs: number;
  /** No wait is ever longer than this. */
  maxDelayMs: number;
}

/** Start-up retry of a dependency (docs/design.md section 5): 5 tries, 1 s doubling, capped at 30 s. */
export const DEFAULT_CONNECT_RETRY: Readonly<RetryPolicy> = Object.freeze({
  tries: 5,
  baseDelayMs: 1000,
  maxDelayMs: 30_000,
});

/**
 * The waits between consecutive tries: `tries - 1` delays, the i-th (from 0) being
 * `min(maxDelayMs, baseDelayMs * 2^i)`. The default policy gives `[1000, 2000, 4000, 8000]`.
 *
 * @throws RangeError when `tries` is not a positive integer or a delay is negative or not finite.
 */
export function backoffDelays(policy: RetryPolicy): number[] {
  const { tries, baseDelayMs, maxDelayMs } = policy;
  if (!Number.isSafeInteger(tries) || tries < 1) {
    throw new RangeError(`tries must be a positive integer, got ${tries}`);
  }
  if (!Number.isFinite(baseDelayMs) || baseDelayMs < 0) {
    throw new RangeError(`baseDelayMs must be a finite number >= 0, got ${baseDelayMs}`);
  }
  if (!Number.isFinite(maxDelayMs) || maxDelayMs < 0) {
    throw new RangeError(`maxDelayMs must be a finite number >= 0, got ${maxDelayMs}`);
  }
  const delays: number[] = [];
  // Doubling the capped value (rather than computing base * 2^i) never overflows to Infinity.
  let delay = Math.min(maxDelayMs, baseDelayMs);
  for (let i = 0; i < tries - 1; i++) {
    delays.push(delay);
    delay = Math.min(maxDelayMs, delay * 2);
  }
  return delays;
}
