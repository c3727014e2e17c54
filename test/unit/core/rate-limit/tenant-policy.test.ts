import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { routeList } from '../../../../functions/core/contracts/routes.ts';
import {
  buildRateLimitPolicies,
  planFor,
  policyOf,
  sessionPlanFor,
} from '../../../../functions/core/rate-limit/policy.ts';
import { loadSettings } from '../../../../functions/platform/settings.ts';

const ROUTE_IDS = routeList.map((route) => route.id);
const windowsOf = (plan: { windows: readonly { name: string; limit: number }[] } | undefined) =>
  Object.fromEntries((plan?.windows ?? []).map((w) => [w.name, w.limit]));

describe('tenant rate-limit policies', () => {
  it('give a tenant of TENANT_RATE_LIMITS its own limits and everyone else the defaults', () => {
    const policies = buildRateLimitPolicies(
      { compress: { user: { hour: 300_000 } } },
      { 'media-server-1': { compress: { user: { minute: 360_000 } } } },
      ROUTE_IDS,
    );
    const media = planFor(policyOf(policies, 'media-server-1'), 'compress', {
      userId: 'media-server-1',
    });
    // The tenant's rule is merged over the service's overrides, not instead of them.
    expect(windowsOf(media)).toEqual({ minute: 360_000, hour: 300_000, day: 1_728_000 });
    const other = planFor(policyOf(policies, 'alice'), 'compress', { userId: 'alice' });
    expect(windowsOf(other)).toEqual({ minute: 3600, hour: 300_000, day: 1_728_000 });
    expect(policyOf(policies, undefined)).toBe(policies.default);
  });

  it('count every session of a tenant on its own windows, on compress only', () => {
    const { default: policy } = buildRateLimitPolicies({}, {}, ROUTE_IDS);
    const plan = sessionPlanFor(policy, 'compress', 'tenant', 'session-a');
    expect(plan?.identity).toEqual({ kind: 'session', value: 'tenant:session-a' });
    expect(windowsOf(plan)).toEqual({ second: 90, minute: 3600 });
    expect(sessionPlanFor(policy, 'getConfig', 'tenant', 'session-a')).toBeUndefined();
  });

  it('let RATE_LIMIT_ROUTE_OVERRIDES change or drop the session windows', () => {
    const { default: policy } = buildRateLimitPolicies(
      { compress: { session: { second: 5, minute: null } } },
      {},
      ROUTE_IDS,
    );
    expect(windowsOf(sessionPlanFor(policy, 'compress', 't', 's'))).toEqual({ second: 5 });
  });

  it('name the tenant and the field of a bad value at start', () => {
    expect(() =>
      buildRateLimitPolicies({}, { 'media-server-1': { nope: 'exempt' } }, ROUTE_IDS),
    ).toThrow(/TENANT_RATE_LIMITS\.media-server-1\.nope: unknown route id/);
    expect(() =>
      loadSettings({ TENANT_RATE_LIMITS: '{"t":{"compress":{"user":{"minute":-1}}}}' }),
    ).toThrow(/TENANT_RATE_LIMITS/);
  });

  it('never give one tenant’s limits to another, whatever the tenants configured', () => {
    fc.assert(
      fc.property(
        fc.dictionary(
          fc.string({ minLength: 1, maxLength: 8 }),
          fc.integer({ min: 1, max: 1_000_000 }),
          { maxKeys: 6 },
        ),
        fc.string({ minLength: 1, maxLength: 8 }),
        (minutes, caller) => {
          const tenants = Object.fromEntries(
            Object.entries(minutes).map(([tenant, minute]) => [
              tenant,
              { compress: { user: { minute } } },
            ]),
          );
          const policies = buildRateLimitPolicies({}, tenants, ROUTE_IDS);
          const plan = planFor(policyOf(policies, caller), 'compress', { userId: caller });
          const expected = Object.hasOwn(minutes, caller) ? minutes[caller] : 3600;
          expect(windowsOf(plan).minute).toBe(expected);
        },
      ),
    );
  });
});
