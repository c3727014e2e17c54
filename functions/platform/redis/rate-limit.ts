import type { Redis } from 'ioredis';
import type { LimitPlan } from '../../core/rate-limit/policy.ts';
import {
  type LimitDecision,
  SUB_BUCKETS,
  type WindowOutcome,
} from '../../core/rate-limit/sliding-window.ts';
import type { GuardedRedis, GuardedResult } from './guarded-redis.ts';
import { RATE_LIMIT_LUA } from './rate-limit-script.ts';
import { redisScript, runScript } from './script.ts';

const RATE_LIMIT_SCRIPT = redisScript(RATE_LIMIT_LUA);

/** Namespace of limiter keys under the client's `keyPrefix`. */
export const RATE_LIMIT_KEY_NAMESPACE = 'rl:';

const KEY_KINDS = { user: 'u', ip: 'ip', session: 's' } as const;

/**
 * The Redis key of a plan, holding all its windows: `rl:{<u|ip|s>:<identity>}:<scope>`. The identity
 * is URI-encoded, so a `sub` cannot inject `{`, `}` or `:`; the braces make it the hash tag, so
 * the key lives in the identity's Redis Cluster slot.
 */
export function rateLimitKey(plan: LimitPlan): string {
  const kind = KEY_KINDS[plan.identity.kind];
  return `${RATE_LIMIT_KEY_NAMESPACE}{${kind}:${encodeURIComponent(plan.identity.value)}}:${encodeURIComponent(plan.scope)}`;
}

function toDecision(plan: LimitPlan, reply: unknown): LimitDecision {
  if (!Array.isArray(reply) || reply.length !== 1 + 5 * plan.windows.length) {
    throw new Error('unexpected reply from the rate-limit script');
  }
  const values = reply.map(Number);
  const windows: WindowOutcome[] = plan.windows.map((window, i) => {
    const at = 1 + 5 * i;
    return {
      window,
      allowed: values[at] === 1,
      remaining: values[at + 2] as number,
      resetMs: values[at + 3] as number,
      retryAfterMs: values[at + 4] as number,
    };
  });
  return { allowed: values[0] === 1, windows };
}

/**
 * Runs the limiter script for one request on a plain client ({@link runScript}). Throws on any
 * Redis failure; {@link checkRateLimit} is the fail-open wrapper.
 */
export async function evalRateLimit(
  redis: Redis,
  plan: LimitPlan,
  cost = 1,
): Promise<LimitDecision> {
  const args: (string | number)[] = [cost, SUB_BUCKETS];
  for (const window of plan.windows) args.push(window.limit, window.seconds * 1000);
  const reply = await runScript(redis, RATE_LIMIT_SCRIPT, [rateLimitKey(plan)], args);
  return toDecision(plan, reply);
}

/**
 * Checks and records one request through the circuit breaker. Never throws: a Redis that is down,
 * slow (past the command timeout) or behind an open breaker yields `ok: false` with the reason, and
 * the caller fails open.
 */
export function checkRateLimit(
  guarded: GuardedRedis,
  plan: LimitPlan,
  cost = 1,
): Promise<GuardedResult<LimitDecision>> {
  return guarded.run((redis) => evalRateLimit(redis, plan, cost));
}
