import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { routeList } from '../../../../functions/core/contracts/routes.ts';
import {
  buildRateLimitPolicy,
  DEFAULT_SCOPE,
  planFor,
  type RouteLimits,
} from '../../../../functions/core/rate-limit/policy.ts';
import { loadSettings } from '../../../../functions/platform/settings.ts';

const ROUTE_IDS = routeList.map((route) => route.id);
const build = (overrides = {}) => buildRateLimitPolicy(overrides, ROUTE_IDS);
const limits = (windows: readonly { name: string; seconds: number; limit: number }[]) =>
  Object.fromEntries(windows.map((w) => [w.name, [w.limit, w.seconds]]));

describe('the default rate-limit policy', () => {
  const policy = build();

  it('limits a user to 60 a minute, 3600 an hour and 86400 a day on a shared quota', () => {
    const plan = planFor(policy, 'getConfig', { userId: 'alice', sourceIp: '10.0.0.1' });
    expect(plan?.identity).toEqual({ kind: 'user', value: 'alice' });
    expect(plan?.scope).toBe(DEFAULT_SCOPE);
    expect(limits(plan?.windows ?? [])).toEqual({
      minute: [60, 60],
      hour: [3600, 3600],
      day: [86_400, 86_400],
    });
    expect(planFor(policy, 'putConfig', { userId: 'alice' })?.scope).toBe(DEFAULT_SCOPE);
  });

  it('limits an unauthenticated caller by source IP to 30 a minute and 900 an hour', () => {
    const plan = planFor(build({ health: { ip: {} } }), 'health', { sourceIp: '203.0.113.9' });
    expect(plan?.identity).toEqual({ kind: 'ip', value: '203.0.113.9' });
    expect(limits(plan?.windows ?? [])).toEqual({ minute: [30, 60], hour: [900, 3600] });
  });

  it('gives compress its own quota of at least 30 frames a second for a whole day', () => {
    const plan = planFor(policy, 'compress', { userId: 'alice' });
    expect(plan?.scope).toBe('compress');
    const byName = limits(plan?.windows ?? []);
    expect(byName.minute?.[0]).toBeGreaterThanOrEqual(30 * 60);
    expect(byName.hour?.[0]).toBeGreaterThanOrEqual(30 * 3600);
    expect(byName.day?.[0]).toBeGreaterThanOrEqual(30 * 3600 * 8);
  });

  it('exempts the probes and requests without a route', () => {
    for (const id of ['health', 'liveness', 'readiness']) {
      expect(planFor(policy, id, { sourceIp: '10.0.0.1' })).toBeUndefined();
    }
    expect(planFor(policy, undefined, { sourceIp: '10.0.0.1' })).toBeUndefined();
  });
});

describe('rate-limit overrides', () => {
  it('merge windows by name, add custom windows and drop windows set to null', () => {
    const policy = build({
      compress: { user: { minute: 6000, day: null, burst: { limit: 200, window_s: 1 } } },
    });
    const rule = policy.routes.get('compress') as RouteLimits;
    expect(limits(rule.user)).toEqual({
      burst: [200, 1],
      minute: [6000, 60],
      hour: [216_000, 3600],
    });
    expect(rule.user.map((w) => w.seconds)).toEqual([1, 60, 3600]);
  });

  it('change the default rule with the * key, for every route without its own', () => {
    const policy = build({ '*': { user: { minute: 5 } } });
    expect(planFor(policy, 'getConfig', { userId: 'a' })?.windows[0]?.limit).toBe(5);
    expect(planFor(policy, 'compress', { userId: 'a' })?.windows[0]?.limit).toBe(3600);
  });

  it('give an overridden route its own quota', () => {
    const policy = build({ postConfig: { user: { minute: 5 } } });
    expect(planFor(policy, 'postConfig', { userId: 'a' })?.scope).toBe('postConfig');
    expect(planFor(policy, 'putConfig', { userId: 'a' })?.scope).toBe(DEFAULT_SCOPE);
  });

  it('can exempt a route', () => {
    expect(planFor(build({ getConfig: 'exempt' }), 'getConfig', { userId: 'a' })).toBeUndefined();
  });

  it('fail loudly, naming the field, on an unknown route or a window without a length', () => {
    expect(() => build({ nope: 'exempt' })).toThrow(
      /RATE_LIMIT_ROUTE_OVERRIDES\.nope: unknown route/,
    );
    expect(() => build({ compress: { user: { burst: 5 } } })).toThrow(
      /RATE_LIMIT_ROUTE_OVERRIDES\.compress\.user\.burst/,
    );
    expect(() => build({ compress: { user: { sixty: { limit: 1, window_s: 60 } } } })).toThrow(
      /RATE_LIMIT_ROUTE_OVERRIDES\.compress\.user: two windows have the same length/,
    );
  });

  it('are validated when the environment is read, naming the variable', () => {
    const bad = (value: string) => () => loadSettings({ RATE_LIMIT_ROUTE_OVERRIDES: value });
    expect(bad('{not json')).toThrow(/RATE_LIMIT_ROUTE_OVERRIDES: not valid JSON/);
    expect(bad('{"compress":{"user":{"minute":-1}}}')).toThrow(
      /RATE_LIMIT_ROUTE_OVERRIDES\.compress\.user\.minute/,
    );
    expect(bad('{"compress":{"users":{}}}')).toThrow(/RATE_LIMIT_ROUTE_OVERRIDES\.compress/);
    expect(loadSettings({}).RATE_LIMIT_ROUTE_OVERRIDES).toBeUndefined();
    expect(
      loadSettings({ RATE_LIMIT_ROUTE_OVERRIDES: '{"getConfig":"exempt"}' })
        .RATE_LIMIT_ROUTE_OVERRIDES,
    ).toEqual({ getConfig: 'exempt' });
  });
});

describe('identity', () => {
  it('is the user when there is one and the source IP otherwise, never empty', () => {
    const policy = build({ '*': { ip: { minute: 3 } } });
    fc.assert(
      fc.property(
        fc.option(fc.string({ minLength: 1, maxLength: 128 }), { nil: undefined }),
        fc.option(fc.oneof(fc.ipV4(), fc.ipV6(), fc.constant('')), { nil: undefined }),
        (userId, sourceIp) => {
          const plan = planFor(policy, 'getConfig', { userId, sourceIp });
          if (userId !== undefined) expect(plan?.identity).toEqual({ kind: 'user', value: userId });
          else expect(plan?.identity).toEqual({ kind: 'ip', value: sourceIp || 'unknown' });
          expect(plan?.windows.length).toBeGreaterThan(0);
        },
      ),
    );
  });
});
