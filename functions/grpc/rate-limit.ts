/**
 * The HTTP API's rate limiter applied to gRPC: the same policies (built-in rules,
 * `RATE_LIMIT_ROUTE_OVERRIDES` and `TENANT_RATE_LIMITS`), the same Lua script in Redis, the same fail-open fallback. Each RPC
 * counts against the route its HTTP twin uses, and every frame of a `CompressStream` counts as
 * one `compress` request, so switching transports neither gains nor loses quota.
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { RateLimitError } from '../core/errors.ts';
import { FallbackLimiter } from '../core/rate-limit/fallback-limiter.ts';
import { rateLimitHeaders, retryAfterSeconds } from '../core/rate-limit/headers.ts';
import { planFor, policyOf } from '../core/rate-limit/policy.ts';
import { metrics } from '../platform/observability.ts';
import { rateLimitPoliciesOf } from '../platform/rate-limit-policies.ts';
import type { GuardedRedis } from '../platform/redis/guarded-redis.ts';
import { checkRateLimit } from '../platform/redis/rate-limit.ts';
import type { Settings } from '../platform/settings.ts';

/** The HTTP route whose quota each RPC uses. */
export const RPC_ROUTES = {
  CompressFrame: 'compress',
  CompressStream: 'compress',
  GetCompressionHints: 'getSessionNetwork',
  AnalyzeNetworkConditions: 'getSessionNetwork',
  UpdateNetworkConditions: 'putSessionNetwork',
} as const;

/** Rate-limit metadata of an admitted call, lower-case HTTP field names. */
export type RateLimitMetadata = Record<string, string>;

/**
 * Checks and records one request of `userId` on `routeId`. Returns the rate-limit fields to send
 * (plus `x-aic-degraded` when Redis did not decide).
 *
 * @throws RateLimitError (RESOURCE_EXHAUSTED, `retry-after` and the same fields) when over a limit.
 */
export type GrpcRateLimiter = (routeId: string, userId: string) => Promise<RateLimitMetadata>;

const lowerCase = (fields: Record<string, string>) =>
  Object.fromEntries(Object.entries(fields).map(([k, v]) => [k.toLowerCase(), v]));

/** A limiter over the runtime's guarded Redis (undefined: not configured, per-process fallback). */
export function createGrpcRateLimiter(
  settings: Settings,
  redis: GuardedRedis | undefined,
): GrpcRateLimiter {
  const policies = rateLimitPoliciesOf(settings);
  const fallback = new FallbackLimiter(settings.RATE_LIMIT_FALLBACK_MAX_IDENTITIES);
  return async (routeId, userId) => {
    const plan = planFor(policyOf(policies, userId), routeId, { userId });
    if (plan === undefined) return {};
    const result = redis ? await checkRateLimit(redis, plan) : undefined;
    const decision = result?.ok ? result.value : fallback.check(plan, Date.now());
    const fields = lowerCase(rateLimitHeaders(decision));
    if (!result?.ok) {
      fields['x-aic-degraded'] = 'rate-limit';
      metrics.addMetric('RateLimitDegraded', MetricUnit.Count, 1);
    }
    if (decision.allowed) return fields;
    metrics.addMetric('RateLimitRejected', MetricUnit.Count, 1);
    throw new RateLimitError(retryAfterSeconds(decision), { headers: fields });
  };
}
