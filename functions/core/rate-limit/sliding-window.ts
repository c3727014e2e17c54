/**
 * The sliding-window algorithm of the rate limiter, as pure functions over explicit time.
 *
 * Choice: a sliding window *counter over sub-buckets*, not an exact log and not the two-bucket
 * weighted estimate. Each window of length W is cut into {@link SUB_BUCKETS} sub-buckets of
 * g = W / {@link SUB_BUCKETS}; a request is counted in the sub-bucket of its arrival and stays
 * counted until that whole sub-bucket has slid out of the window, i.e. for between W and W + g.
 *
 * Error bound, stated as two guarantees the property tests check:
 * - never over-admits: in every span of length W at most `limit` requests are admitted (the
 *   partially expired oldest sub-bucket is counted in full, so the count is never an underestimate);
 * - under-admits by at most one sub-bucket of time: a request is rejected only when `limit` or more
 *   requests were admitted within the last W + g, so quota comes back at most g = W / 20 (5 %) late
 *   (3 s for a minute, 3 min for an hour, 72 min for a day).
 * An exact log would need memory proportional to the limit (86 400 entries per user and day, and
 * millions on the video route); this needs at most SUB_BUCKETS + 1 counters per window. The
 * two-bucket weighted counter is smaller still but can admit up to 2 x limit in a span of W.
 *
 * The Redis Lua script (`platform/redis/rate-limit-script.ts`) implements exactly these functions;
 * the per-container fallback limiter uses them directly.
 */

/** Sub-buckets per window; W / SUB_BUCKETS is the time resolution of every window. */
export const SUB_BUCKETS = 20;

/** One window of a quota: at most `limit` requests in any span of `seconds`. */
export interface RateWindow {
  /** Policy name in the `RateLimit` fields, e.g. `minute`. */
  readonly name: string;
  /** Window length in whole seconds (the IETF `w` parameter has no sub-second precision). */
  readonly seconds: number;
  readonly limit: number;
}

/** Requests recorded per sub-bucket index (`floor(timeMs / subBucketMs)`). */
export type WindowCounts = Map<number, number>;

/** How one window judged one request. */
export interface WindowOutcome {
  readonly window: RateWindow;
  /** Whether this window alone would admit the request. */
  readonly allowed: boolean;
  /** Quota left after this request (the request itself deducted only if it was recorded). */
  readonly remaining: number;
  /** ms until the oldest counted request leaves the window, i.e. until quota starts to return. */
  readonly resetMs: number;
  /** ms until this window admits the request; 0 when it admits it now. */
  readonly retryAfterMs: number;
}

/** The verdict on one request over all windows of its plan. */
export interface LimitDecision {
  /** True only when every window admits the request; only then is it recorded. */
  readonly allowed: boolean;
  readonly windows: readonly WindowOutcome[];
}

/** Length of one sub-bucket in ms (an integer for any whole number of seconds). */
export function subBucketMs(window: Pick<RateWindow, 'seconds'>): number {
  return (window.seconds * 1000) / SUB_BUCKETS;
}

/** When the sub-bucket `index` has slid out of the window entirely (ms). */
function expiresAt(index: number, granularityMs: number): number {
  return (index + SUB_BUCKETS + 1) * granularityMs;
}

/** The live sub-buckets of a window at `nowMs`, oldest first, and their total. */
interface Inspection {
  readonly current: number;
  readonly live: readonly (readonly [index: number, count: number])[];
  readonly total: number;
}

/** Drops sub-buckets that have left the window and sums the rest. Mutates `counts` (pruning). */
function inspect(counts: WindowCounts, window: RateWindow, nowMs: number): Inspection {
  const g = subBucketMs(window);
  const current = Math.floor(nowMs / g);
  const oldest = current - SUB_BUCKETS;
  const live: [number, number][] = [];
  let total = 0;
  for (const [index, count] of counts) {
    if (index < oldest) counts.delete(index);
    else {
      live.push([index, count]);
      total += count;
    }
  }
  live.sort((a, b) => a[0] - b[0]);
  return { current, live, total };
}

function outcome(
  seen: Inspection,
  window: RateWindow,
  nowMs: number,
  cost: number,
  recorded: boolean,
): WindowOutcome {
  const g = subBucketMs(window);
  const allowed = seen.total + cost <= window.limit;
  const used = seen.total + (recorded ? cost : 0);
  const oldestIndex = Math.min(
    seen.live[0]?.[0] ?? seen.current,
    recorded ? seen.current : Infinity,
  );
  const resetMs = expiresAt(oldestIndex, g) - nowMs;
  let retryAfterMs = 0;
  if (!allowed) {
    // Wait until enough of the oldest sub-buckets have expired to fit this request.
    const needed = seen.total + cost - window.limit;
    let freed = 0;
    retryAfterMs = window.seconds * 1000 + g;
    for (const [index, count] of seen.live) {
      freed += count;
      if (freed >= needed) {
        retryAfterMs = expiresAt(index, g) - nowMs;
        break;
      }
    }
  }
  return {
    window,
    allowed,
    remaining: Math.max(0, window.limit - used),
    resetMs,
    retryAfterMs,
  };
}

/**
 * Checks one request of `cost` units against every window at `nowMs` and records it in all of
 * them only if all admit it (a rejected request consumes no quota). `states[i]` holds the counts
 * of `windows[i]` and is updated in place.
 */
export function checkAndRecord(
  states: readonly WindowCounts[],
  windows: readonly RateWindow[],
  nowMs: number,
  cost = 1,
): LimitDecision {
  const seen = windows.map((window, i) => inspect(states[i] as WindowCounts, window, nowMs));
  const allowed = windows.every(
    (window, i) => (seen[i] as Inspection).total + cost <= window.limit,
  );
  if (allowed) {
    for (const [i, state] of states.entries()) {
      const current = (seen[i] as Inspection).current;
      state.set(current, (state.get(current) ?? 0) + cost);
    }
  }
  return {
    allowed,
    windows: windows.map((window, i) =>
      outcome(seen[i] as Inspection, window, nowMs, cost, allowed),
    ),
  };
}
