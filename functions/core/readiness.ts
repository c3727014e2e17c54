import type { CheckResult, ReadinessResponse } from './contracts/health.ts';

/**
 * Combines readiness checks: any `fail` makes the service not ready (503); a `degraded` check (Redis
 * down: rate limiting fails open) keeps it ready but says so.
 */
export function readinessOf(checks: ReadinessResponse['checks']): ReadinessResponse {
  const results: CheckResult[] = Object.values(checks);
  const status = results.some((check) => check.status === 'fail')
    ? 'not_ready'
    : results.some((check) => check.status === 'degraded')
      ? 'degraded'
      : 'ready';
  return { status, checks };
}
