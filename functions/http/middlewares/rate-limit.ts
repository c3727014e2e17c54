import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { RateLimitError } from '../../core/errors.ts';
import { FallbackLimiter } from '../../core/rate-limit/fallback-limiter.ts';
import { rateLimitHeaders, retryAfterSeconds } from '../../core/rate-limit/headers.ts';
import {
  type LimitPlan,
  planFor,
  policyOf,
  type RateLimitPolicies,
} from '../../core/rate-limit/policy.ts';
import type { LimitDecision } from '../../core/rate-limit/sliding-window.ts';
import { logger, metrics } from '../../platform/observability.ts';
import { rateLimitPoliciesOf } from '../../platform/rate-limit-policies.ts';
import type { GuardedFailureReason, GuardedRedis } from '../../platform/redis/guarded-redis.ts';
import { checkRateLimit } from '../../platform/redis/rate-limit.ts';
import { getRuntime } from '../../platform/runtime.ts';
import { loadSettings, type Settings } from '../../platform/settings.ts';
import type { HttpMiddleware } from './types.ts';

/** Marks a response whose rate limit was decided without Redis. */
export const DEGRADED_HEADER = 'X-AIC-Degraded';

/** Why a decision was taken by the per-container fallback instead of Redis. */
export type DegradedReason = GuardedFailureReason | 'not_configured' | 'runtime_unavailable';

/** Options of {@link rateLimitMiddleware}; everything defaults to the container's runtime. */
export interface RateLimitMiddlewareOptions {
  /** Parsed environment (the policy and the fallback's size come from it). */
  settings?: Settings;
  /**
   * The policies; default: built from `settings.RATE_LIMIT_ROUTE_OVERRIDES`,
   * `settings.TENANT_RATE_LIMITS` and the route table.
   */
  policies?: RateLimitPolicies;
  /** The guarded Redis, or undefined when none is configured; default: the runtime's. */
  redis?: () => Promise<GuardedRedis | undefined>;
  /** The limiter used while Redis is unavailable; default: one per container. */
  fallback?: FallbackLimiter;
}

let containerFallback: FallbackLimiter | undefined;
let degradedSince: { reason: DegradedReason } | undefined;

/** One fallback limiter per container, shared by every function handler it runs. */
function sharedFallback(settings: Settings): FallbackLimiter {
  containerFallback ??= new FallbackLimiter(settings.RATE_LIMIT_FALLBACK_MAX_IDENTITIES);
  return containerFallback;
}

async function runtimeRedis(): Promise<GuardedRedis | undefined> {
  return (await getRuntime()).redis;
}

/** Logs when this container starts and stops deciding without Redis (not on every request). */
function noteMode(reason: DegradedReason | undefined): void {
  if (reason !== undefined && degradedSince?.reason !== reason) {
    logger.warn('Rate limiting degraded: failing open with the per-container limit', { reason });
    degradedSince = { reason };
  } else if (reason === undefined && degradedSince !== undefined) {
    logger.info('Rate limiting restored: Redis decides again', { was: degradedSince.reason });
    degradedSince = undefined;
  }
}

/**
 * Rate limiting of every route (docs/design.md section 2), after authentication and before the body is
 * read. One Lua call checks and records all windows of the request's plan in Redis; on allow the
 * rate-limit fields are added to the response, on reject it throws {@link RateLimitError} (429
 * with `Retry-After`, the same fields, the error envelope). The fields go through
 * `aic.responseHeaders`, so errors raised later carry them too.
 *
 * Fail-open: when Redis errs, times out, sits behind an open breaker, is not configured, or the
 * runtime cannot start, the request is decided by the bounded per-container fallback limiter,
 * marked `X-AIC-Degraded: rate-limit` and counted in the `RateLimitDegraded` metric.
 *
 * @throws Error at creation when `RATE_LIMIT_ROUTE_OVERRIDES` or `TENANT_RATE_LIMITS` names an
 *   unknown route or an invalid window (cold start fails loudly).
 */
export function rateLimitMiddleware(options: RateLimitMiddlewareOptions = {}): HttpMiddleware {
  const settings = options.settings ?? loadSettings();
  const policies = options.policies ?? rateLimitPoliciesOf(settings);
  const redisOf = options.redis ?? runtimeRedis;
  const fallback = options.fallback ?? sharedFallback(settings);

  const decide = async (
    plan: LimitPlan,
  ): Promise<{ decision: LimitDecision; degraded?: DegradedReason }> => {
    let reason: DegradedReason;
    const redis = await redisOf().then(
      (value) => value ?? ('not_configured' as const),
      () => 'runtime_unavailable' as const,
    );
    if (typeof redis === 'string') {
      reason = redis;
    } else {
      const result = await checkRateLimit(redis, plan);
      if (result.ok) return { decision: result.value };
      reason = result.reason;
    }
    return { decision: fallback.check(plan, Date.now()), degraded: reason };
  };

  return {
    name: 'rateLimit',
    before: async (request) => {
      const { aic } = request.context;
      const plan = planFor(policyOf(policies, aic.userId), aic.route?.id, {
        userId: aic.userId,
        // Only API Gateway's view of the peer: X-Forwarded-For and friends are client-supplied.
        sourceIp: request.event.requestContext?.http?.sourceIp,
      });
      if (plan === undefined) return;
      const started = performance.now();
      const { decision, degraded } = await decide(plan);
      noteMode(degraded);
      metrics.addMetric(
        'RateLimitCheckLatency',
        MetricUnit.Milliseconds,
        Math.round((performance.now() - started) * 1000) / 1000,
      );
      Object.assign(aic.responseHeaders, rateLimitHeaders(decision));
      if (degraded !== undefined) {
        const marked = aic.responseHeaders[DEGRADED_HEADER];
        aic.responseHeaders[DEGRADED_HEADER] = marked ? `${marked}, rate-limit` : 'rate-limit';
        metrics.addMetric('RateLimitDegraded', MetricUnit.Count, 1);
      }
      if (decision.allowed) {
        metrics.addMetric('RateLimitAllowed', MetricUnit.Count, 1);
        return;
      }
      metrics.addMetric('RateLimitRejected', MetricUnit.Count, 1);
      throw new RateLimitError(retryAfterSeconds(decision));
    },
  };
}
