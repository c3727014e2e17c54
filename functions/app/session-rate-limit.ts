/**
 * The per-session limit of frames (docs/design.md section 2.9): each session of a tenant, one
 * stream, counts its frames against windows of its own (`compress.session`), under the tenant's
 * quota that the transports check. Checked for every frame, whatever its transport, before the
 * frame is decoded; fails open to the process's own memory like the transports' limiter.
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { RateLimitError } from '../core/errors.ts';
import { FallbackLimiter } from '../core/rate-limit/fallback-limiter.ts';
import { rateLimitHeaders, retryAfterSeconds } from '../core/rate-limit/headers.ts';
import { policyOf, sessionPlanFor } from '../core/rate-limit/policy.ts';
import { metrics } from '../platform/observability.ts';
import { rateLimitPoliciesOf } from '../platform/rate-limit-policies.ts';
import { checkRateLimit } from '../platform/redis/rate-limit.ts';
import type { Runtime } from '../platform/runtime.ts';
import type { Settings } from '../platform/settings.ts';

// The per-process fallback while Redis cannot decide, one per settings object.
const fallbacks = new WeakMap<Settings, FallbackLimiter>();

function fallbackOf(settings: Settings): FallbackLimiter {
  let fallback = fallbacks.get(settings);
  if (!fallback) {
    fallback = new FallbackLimiter(settings.RATE_LIMIT_FALLBACK_MAX_IDENTITIES);
    fallbacks.set(settings, fallback);
  }
  return fallback;
}

/**
 * Counts one frame of `userId`'s session `sessionId`.
 *
 * @throws RateLimitError (429 / RESOURCE_EXHAUSTED, with `Retry-After`) when the session is over
 *   one of its windows.
 */
export async function admitSessionFrame(
  runtime: Runtime,
  userId: string,
  sessionId: string,
): Promise<void> {
  const policies = rateLimitPoliciesOf(runtime.settings);
  const fallback = fallbackOf(runtime.settings);
  const plan = sessionPlanFor(policyOf(policies, userId), 'compress', userId, sessionId);
  if (plan === undefined) return;
  const result = runtime.redis ? await checkRateLimit(runtime.redis, plan) : undefined;
  const decision = result?.ok ? result.value : fallback.check(plan, Date.now());
  if (decision.allowed) return;
  metrics.addMetric('RateLimitRejected', MetricUnit.Count, 1);
  throw new RateLimitError(retryAfterSeconds(decision), { headers: rateLimitHeaders(decision) });
}
