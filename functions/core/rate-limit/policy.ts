import { z } from 'zod';
import type { RateWindow } from './sliding-window.ts';

/**
 * Rate-limit policy (docs/design.md section 2): which windows apply to a request, given its route and
 * caller. Limits are per identity: the JWT `sub` on authenticated routes, else the source IP of the
 * request context. Routes share one default quota per identity unless they have a rule of their own
 * (built in, or from `RATE_LIMIT_ROUTE_OVERRIDES`), in which case they count separately.
 */

/** Who a quota belongs to. */
export type IdentityKind = 'user' | 'ip';

/** The caller a request is counted against. */
export interface Identity {
  readonly kind: IdentityKind;
  readonly value: string;
}

/** The windows of a route, per identity kind. */
export interface RouteLimits {
  readonly user: readonly RateWindow[];
  readonly ip: readonly RateWindow[];
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
 * Rules built into the service: the video route's own quota, and the probes of load balancers and
 * orchestrators, which must never be throttled.
 */
export const BUILT_IN_RULES: Readonly<Record<string, RouteRule>> = {
  compress: { user: COMPRESS_USER_WINDOWS, ip: DEFAULT_IP_WINDOWS },
  health: 'exempt',
  liveness: 'exempt',
  readiness: 'exempt',
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
  z.object({ user: windowMapSchema.optional(), ip: windowMapSchema.optional() }).strict(),
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
  const from = base === 'exempt' ? { user: DEFAULT_USER_WINDOWS, ip: DEFAULT_IP_WINDOWS } : base;
  return {
    user: mergeWindows(from.user, override.user, `${path}.user`),
    ip: mergeWindows(from.ip, override.ip, `${path}.ip`),
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
    { user: DEFAULT_USER_WINDOWS, ip: DEFAULT_IP_WINDOWS },
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
 * @param caller `userId` is the JWT `sub` set by the auth middleware on authenticated routes;
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
