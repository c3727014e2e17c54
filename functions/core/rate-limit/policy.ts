import { z } from 'zod';
import type { RateWindow } from './sliding-window.ts';

/**
 * Rate-limit policy (docs/design.md section 2.9): which windows apply to a request, given its route
 * and caller. Limits are per identity: the tenant on authenticated routes, else the source IP of the
 * request context; a frame also counts against its session's own windows (per stream, under the
 * tenant's quota). Routes share one default quota per identity unless they have a rule of their own
 * (built in, or from `RATE_LIMIT_ROUTE_OVERRIDES`), in which case they count separately. A tenant
 * may have limits of its own (`TENANT_RATE_LIMITS`).
 */

/** Who a quota belongs to: a tenant (`user`), a source IP, or one session of a tenant. */
export type IdentityKind = 'user' | 'ip' | 'session';

/** The caller a request is counted against. */
export interface Identity {
  readonly kind: IdentityKind;
  readonly value: string;
}

/** The windows of a route, per identity kind (`session`: per session of a tenant; may be empty). */
export interface RouteLimits {
  readonly user: readonly RateWindow[];
  readonly ip: readonly RateWindow[];
  readonly session: readonly RateWindow[];
}

/** A route's rule: its limits, or `exempt` (never limited). */
export type RouteRule = RouteLimits | 'exempt';

/** The resolved policy of the service. */
export interface RateLimitPolicy {
  /** Rule of every route without one of its own; those routes share one quota per identity. */
  readonly default: RouteRule;
  /** Routes with a rule of their own, by route id; each counts on its own quota. */
  readonly routes: ReadonlyMap<string, RouteRule>;
}

/** What one request is checked against. */
export interface LimitPlan {
  readonly identity: Identity;
  /** {@link DEFAULT_SCOPE} for the shared default quota, else the id of a route with its own. */
  readonly scope: string;
  readonly windows: readonly RateWindow[];
}

/** Key of the default rule in the overrides and the scope of the shared quota. */
export const DEFAULT_SCOPE = '*';

/** Window lengths that a bare number may refer to by name in the overrides. */
export const NAMED_WINDOWS: Readonly<Record<string, number>> = {
  second: 1,
  minute: 60,
  hour: 3600,
  day: 86_400,
};

/** Longest window accepted: a week (keys live at most this long plus one sub-bucket). */
export const MAX_WINDOW_SECONDS = 7 * 86_400;

/** Per user, docs/design.md section 2: 60/min, 3600/h, 86400/day. */
export const DEFAULT_USER_WINDOWS: readonly RateWindow[] = [
  { name: 'minute', seconds: 60, limit: 60 },
  { name: 'hour', seconds: 3600, limit: 3600 },
  { name: 'day', seconds: 86_400, limit: 86_400 },
];

/** Per source IP on unauthenticated routes, docs/design.md section 2: 30/min, 900/h. */
export const DEFAULT_IP_WINDOWS: readonly RateWindow[] = [
  { name: 'minute', seconds: 60, limit: 30 },
  { name: 'hour', seconds: 3600, limit: 900 },
];

/**
 * Per user on `compress`, which carries video: one request per frame. Sized for two 30 fps streams
 * at once (camera and screen share): 3600/min, the same sustained for a whole hour (216 000/h),
 * and eight hours of that a day (1 728 000/day).
 */
export const COMPRESS_USER_WINDOWS: readonly RateWindow[] = [
  { name: 'minute', seconds: 60, limit: 3600 },
  { name: 'hour', seconds: 3600, limit: 216_000 },
  { name: 'day', seconds: 86_400, limit: 1_728_000 },
];

/**
 * Per session on `compress`: one stream, up to 60 fps sustained (3600/min) with bursts of 90 frames
 * in a second, so that no stream of a tenant takes the whole of the tenant's quota.
 */
export const COMPRESS_SESSION_WINDOWS: readonly RateWindow[] = [
  { name: 'second', seconds: 1, limit: 90 },
  { name: 'minute', seconds: 60, limit: 3600 },
];

/**
 * Rules built into the service: the video route's own quota, and the probes of load balancers and
 * orchestrators, which must never be throttled.
 */
export const BUILT_IN_RULES: Readonly<Record<string, RouteRule>> = {
  compress: {
    user: COMPRESS_USER_WINDOWS,
    ip: DEFAULT_IP_WINDOWS,
    session: COMPRESS_SESSION_WINDOWS,
  },
  health: 'exempt',
  liveness: 'exempt',
  readiness: 'exempt',
};

/** Limits of a route without a rule of its own: per tenant and per IP; none per session. */
const DEFAULT_LIMITS: RouteLimits = {
  user: DEFAULT_USER_WINDOWS,
  ip: DEFAULT_IP_WINDOWS,
  session: [],
};

const positiveInt = z.number().int().positive();

/** One window in the overrides: a limit (named windows only), `{ limit, window_s }`, or null. */
const windowOverrideSchema = z.union([
  positiveInt.max(1_000_000_000),
  z
    .object({
      limit: positiveInt.max(1_000_000_000),
      window_s: positiveInt.max(MAX_WINDOW_SECONDS),
    })
    .strict(),
  z.null(),
]);

/** Window names become `RateLimit` policy names: a short token keeps the header well-formed. */
const windowMapSchema = z.record(
  z.string().regex(/^[a-z][a-z0-9_-]{0,31}$/, 'window names are lower-case tokens'),
  windowOverrideSchema,
);

const routeOverrideSchema = z.union([
  z.literal('exempt'),
  z
    .object({
      user: windowMapSchema.optional(),
      ip: windowMapSchema.optional(),
      session: windowMapSchema.optional(),
    })
    .strict(),
]);

/**
 * `RATE_LIMIT_ROUTE_OVERRIDES`: JSON keyed by route id (or `*` for the default rule). A route's
 * value is `"exempt"` or per identity kind a map of window name to a limit, `{limit, window_s}`, or
 * `null` (drop that window). Windows merge by name into the route's built-in rule, or the default.
 *
 * @example {"compress":{"user":{"minute":6000}},"getConfig":{"user":{"burst":{"limit":5,"window_s":2}}}}
 */
export const rateLimitOverridesSchema = z.record(z.string().min(1), routeOverrideSchema);

/** Parsed `RATE_LIMIT_ROUTE_OVERRIDES`. */
export type RateLimitOverrides = z.infer<typeof rateLimitOverridesSchema>;

type WindowOverrides = z.infer<typeof windowMapSchema>;

function mergeWindows(
  base: readonly RateWindow[],
  overrides: WindowOverrides | undefined,
  path: string,
): RateWindow[] {
  const byName = new Map(base.map((window) => [window.name, window]));
  for (const [name, value] of Object.entries(overrides ?? {})) {
    if (value === null) {
      byName.delete(name);
    } else if (typeof value === 'number') {
      const seconds = byName.get(name)?.seconds ?? NAMED_WINDOWS[name];
      if (seconds === undefined) {
        throw new Error(
          `${path}.${name}: a custom window needs {"limit", "window_s"}; a bare number works for ${Object.keys(NAMED_WINDOWS).join(', ')}`,
        );
      }
      byName.set(name, { name, seconds, limit: value });
    } else {
      byName.set(name, { name, seconds: value.window_s, limit: value.limit });
    }
  }
  const windows = [...byName.values()].sort((a, b) => a.seconds - b.seconds);
  const lengths = new Set(windows.map((window) => window.seconds));
  if (lengths.size !== windows.length) {
    throw new Error(`${path}: two windows have the same length`);
  }
  return windows;
}

function applyOverride(
  base: RouteRule,
  override: RateLimitOverrides[string] | undefined,
  path: string,
): RouteRule {
  if (override === undefined) return base;
  if (override === 'exempt') return 'exempt';
  // An exempt rule that is given limits starts from the service defaults.
  const from = base === 'exempt' ? DEFAULT_LIMITS : base;
  return {
    user: mergeWindows(from.user, override.user, `${path}.user`),
    ip: mergeWindows(from.ip, override.ip, `${path}.ip`),
    session: mergeWindows(from.session, override.session, `${path}.session`),
  };
}

/**
 * Builds the policy from the defaults, {@link BUILT_IN_RULES} and the overrides. Called at cold
 * start: a bad value throws, naming the field (`RATE_LIMIT_ROUTE_OVERRIDES.<route>.<kind>.<window>`).
 *
 * @param routeIds every route id the service has; an override of any other id is an error.
 */
export function buildRateLimitPolicy(
  overrides: RateLimitOverrides = {},
  routeIds: readonly string[] = Object.keys(BUILT_IN_RULES),
  field = 'RATE_LIMIT_ROUTE_OVERRIDES',
): RateLimitPolicy {
  const known = new Set(routeIds);
  for (const id of Object.keys(overrides)) {
    if (id !== DEFAULT_SCOPE && !known.has(id)) {
      throw new Error(
        `${field}.${id}: unknown route id; use one of ${DEFAULT_SCOPE}, ${routeIds.join(', ')}`,
      );
    }
  }
  const defaults = applyOverride(
    DEFAULT_LIMITS,
    overrides[DEFAULT_SCOPE],
    `${field}.${DEFAULT_SCOPE}`,
  );
  const routes = new Map<string, RouteRule>();
  for (const id of new Set([...Object.keys(BUILT_IN_RULES), ...Object.keys(overrides)])) {
    if (id === DEFAULT_SCOPE || !known.has(id)) continue;
    const builtIn = BUILT_IN_RULES[id];
    const override = overrides[id];
    // A route overridden without a built-in rule starts from the (overridden) default limits.
    routes.set(id, applyOverride(builtIn ?? defaults, override, `${field}.${id}`));
  }
  return { default: defaults, routes };
}

/**
 * The plan of one request, or `undefined` when it is not limited: no route (API Gateway's
 * `$default`: 404, 405 and CORS preflights, answered from memory), an exempt route, or no window
 * left for the caller's identity kind.
 *
 * @param caller `userId` is the tenant set by the auth middleware on authenticated routes;
 *   `sourceIp` must come from the request context, never from a client header.
 */
export function planFor(
  policy: RateLimitPolicy,
  routeId: string | undefined,
  caller: { userId?: string | undefined; sourceIp?: string | undefined },
): LimitPlan | undefined {
  if (routeId === undefined) return undefined;
  const own = policy.routes.get(routeId);
  const rule = own ?? policy.default;
  if (rule === 'exempt') return undefined;
  const identity: Identity =
    caller.userId !== undefined
      ? { kind: 'user', value: caller.userId }
      : { kind: 'ip', value: caller.sourceIp || 'unknown' };
  const windows = rule[identity.kind];
  if (windows.length === 0) return undefined;
  return { identity, scope: own === undefined ? DEFAULT_SCOPE : routeId, windows };
}

/**
 * The plan of one frame against its session's windows (`rule.session` of the route), or
 * `undefined` when the route has none: every session of a tenant counts on its own, under the
 * tenant's quota, which {@link planFor} checks.
 */
export function sessionPlanFor(
  policy: RateLimitPolicy,
  routeId: string,
  userId: string,
  sessionId: string,
): LimitPlan | undefined {
  const rule = policy.routes.get(routeId) ?? policy.default;
  if (rule === 'exempt' || rule.session.length === 0) return undefined;
  return {
    identity: { kind: 'session', value: `${userId}:${sessionId}` },
    scope: routeId,
    windows: rule.session,
  };
}

/**
 * `TENANT_RATE_LIMITS`: JSON keyed by tenant, each value in the form of
 * `RATE_LIMIT_ROUTE_OVERRIDES`, merged over it for that tenant only (a media server's app client
 * may send many streams; an end user keeps the defaults).
 *
 * @example {"media-server-1":{"compress":{"user":{"minute":360000,"hour":21600000}}}}
 */
export const tenantRateLimitsSchema = z.record(
  z.string().min(1).max(256),
  rateLimitOverridesSchema,
);

/** Parsed `TENANT_RATE_LIMITS`. */
export type TenantRateLimits = z.infer<typeof tenantRateLimitsSchema>;

/** The service's policy, and the policies of the tenants with limits of their own. */
export interface RateLimitPolicies {
  readonly default: RateLimitPolicy;
  readonly tenants: ReadonlyMap<string, RateLimitPolicy>;
}

/** `base` with `extra` merged in, route by route and identity kind by kind. */
function mergeOverrides(base: RateLimitOverrides, extra: RateLimitOverrides): RateLimitOverrides {
  const merged: RateLimitOverrides = { ...base };
  for (const [route, rule] of Object.entries(extra)) {
    const under = merged[route];
    merged[route] =
      rule === 'exempt' || under === undefined || under === 'exempt'
        ? rule
        : {
            user: { ...under.user, ...rule.user },
            ip: { ...under.ip, ...rule.ip },
            session: { ...under.session, ...rule.session },
          };
  }
  return merged;
}

/**
 * Builds the service's policy and one per tenant of `tenants` (called at cold start: a bad value
 * throws, naming the field).
 */
export function buildRateLimitPolicies(
  overrides: RateLimitOverrides = {},
  tenants: TenantRateLimits = {},
  routeIds: readonly string[] = Object.keys(BUILT_IN_RULES),
): RateLimitPolicies {
  const byTenant = new Map<string, RateLimitPolicy>();
  for (const [tenant, extra] of Object.entries(tenants)) {
    const field = `TENANT_RATE_LIMITS.${tenant}`;
    byTenant.set(tenant, buildRateLimitPolicy(mergeOverrides(overrides, extra), routeIds, field));
  }
  return { default: buildRateLimitPolicy(overrides, routeIds), tenants: byTenant };
}

/** The policy that applies to `userId` (a tenant), or to an anonymous caller. */
export function policyOf(policies: RateLimitPolicies, userId: string | undefined): RateLimitPolicy {
  return (userId === undefined ? undefined : policies.tenants.get(userId)) ?? policies.default;
}
