import type { LimitDecision, WindowOutcome } from './sliding-window.ts';

/**
 * Response fields of a rate-limit decision: the widespread `X-RateLimit-*` trio for the most
 * constrained window and the IETF fields (draft-ietf-httpapi-ratelimit-headers-11) for all of
 * them, e.g. `RateLimit-Policy: "minute";q=60;w=60, "hour";q=3600;w=3600` and
 * `RateLimit: "minute";r=59;t=58, "hour";r=3599;t=3598`. All times are delta seconds, rounded up,
 * so no client clock is involved.
 */

/** Whole seconds, rounded up and at least 1, of a positive duration in ms. */
export function ceilSeconds(ms: number): number {
  return Math.max(1, Math.ceil(ms / 1000));
}

/**
 * The window the `X-RateLimit-*` fields describe: when rejected, the rejecting window that frees
 * up last (the one that decides `Retry-After`); otherwise the one with the least quota left,
 * preferring the one that takes longer to reset.
 */
export function bindingWindow(decision: LimitDecision): WindowOutcome {
  const [first, ...rest] = decision.windows;
  if (first === undefined) throw new Error('a limit decision has at least one window');
  if (!decision.allowed) {
    return rest.reduce((worst, w) => (w.retryAfterMs > worst.retryAfterMs ? w : worst), first);
  }
  return rest.reduce(
    (worst, w) =>
      w.remaining < worst.remaining ||
      (w.remaining === worst.remaining && w.resetMs > worst.resetMs)
        ? w
        : worst,
    first,
  );
}

/** `Retry-After` of a rejected request: seconds until every window admits it. */
export function retryAfterSeconds(decision: LimitDecision): number {
  return ceilSeconds(Math.max(0, ...decision.windows.map((w) => w.retryAfterMs)));
}

/** The rate-limit response fields of a decision (without `Retry-After`, which the 429 error sets). */
export function rateLimitHeaders(decision: LimitDecision): Record<string, string> {
  const binding = bindingWindow(decision);
  return {
    'X-RateLimit-Limit': String(binding.window.limit),
    'X-RateLimit-Remaining': String(binding.remaining),
    'X-RateLimit-Reset': String(ceilSeconds(binding.resetMs)),
    'RateLimit-Policy': decision.windows
      .map(({ window }) => `"${window.name}";q=${window.limit};w=${window.seconds}`)
      .join(', '),
    RateLimit: decision.windows
      .map((w) => `"${w.window.name}";r=${w.remaining};t=${ceilSeconds(w.resetMs)}`)
      .join(', '),
  };
}
