/**
 * The service's rate-limit policies from the settings (`RATE_LIMIT_ROUTE_OVERRIDES`,
 * `TENANT_RATE_LIMITS`) over the route table: the one place every limiter (the HTTP middleware,
 * the gRPC limiter, the per-session frame limit) gets them from.
 */
import { routeList } from '../core/contracts/routes.ts';
import { buildRateLimitPolicies, type RateLimitPolicies } from '../core/rate-limit/policy.ts';
import type { Settings } from './settings.ts';

const built = new WeakMap<Settings, RateLimitPolicies>();

/**
 * The policies of `settings`, built once per settings object.
 *
 * @throws Error naming the field when an override names an unknown route or an invalid window.
 */
export function rateLimitPoliciesOf(settings: Settings): RateLimitPolicies {
  let policies = built.get(settings);
  if (!policies) {
    policies = buildRateLimitPolicies(
      settings.RATE_LIMIT_ROUTE_OVERRIDES,
      settings.TENANT_RATE_LIMITS,
      routeList.map((route) => route.id),
    );
    built.set(settings, policies);
  }
  return policies;
}
