import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { routes } from '../../../functions/core/contracts/routes.ts';
import { AicError, RateLimitError } from '../../../functions/core/errors.ts';
import { FallbackLimiter } from '../../../functions/core/rate-limit/fallback-limiter.ts';
import { buildRateLimitPolicy } from '../../../functions/core/rate-limit/policy.ts';
import { rateLimitMiddleware } from '../../../functions/http/middlewares/rate-limit.ts';
import type { HttpRequest } from '../../../functions/http/middlewares/types.ts';
import { metrics } from '../../../functions/platform/observability.ts';
import {
  createGuardedRedis,
  type GuardedRedis,
} from '../../../functions/platform/redis/guarded-redis.ts';
import { loadSettings } from '../../../functions/platform/settings.ts';

const PREFIX = `aic-test-rlmw-${process.pid}-${randomBytes(3).toString('hex')}:`;
const REDIS_URL = 'redis://127.0.0.1:6379';
const settings = loadSettings({});
const policy = buildRateLimitPolicy({ '*': { user: { minute: 2 }, ip: { minute: 2 } } }, [
  'getConfig',
  'health',
]);
const policies = { default: policy, tenants: new Map() };

let guarded: GuardedRedis;
let admin: Redis;

beforeAll(() => {
  guarded = createGuardedRedis({ url: REDIS_URL, keyPrefix: PREFIX, commandTimeoutMs: 1_000 });
  admin = new Redis(REDIS_URL);
});

afterAll(async () => {
  const keys = await admin.keys(`${PREFIX}*`);
  if (keys.length > 0) await admin.del(...keys);
  await admin.quit();
  await guarded.close();
});

/** A middy request as the chain has it after auth. */
function request(options: { userId?: string; sourceIp?: string; xff?: string }): HttpRequest {
  return {
    event: {
      headers: options.xff ? { 'x-forwarded-for': options.xff } : {},
      requestContext: { http: { sourceIp: options.sourceIp ?? '192.0.2.1' } },
    },
    context: {
      aic: {
        requestId: 'r',
        startedAt: 0,
        input: {},
        responseHeaders: {},
        route: routes.getConfig,
        ...(options.userId ? { userId: options.userId } : {}),
      },
    },
    response: undefined,
    error: undefined,
    internal: {},
  } as unknown as HttpRequest;
}

async function run(
  middleware: ReturnType<typeof rateLimitMiddleware>,
  req: HttpRequest,
): Promise<AicError | undefined> {
  try {
    await (middleware.before as (r: HttpRequest) => Promise<void>)(req);
    return undefined;
  } catch (error) {
    if (error instanceof AicError) return error;
    throw error;
  }
}

describe('the rate-limit middleware', () => {
  it('counts allowed and rejected decisions and throws a 429 with Retry-After', async () => {
    const added = vi.spyOn(metrics, 'addMetric');
    const middleware = rateLimitMiddleware({ settings, policies, redis: async () => guarded });
    const first = request({ userId: 'metrics-user' });
    expect(await run(middleware, first)).toBeUndefined();
    expect(first.context.aic.responseHeaders).toMatchObject({
      'X-RateLimit-Limit': '2',
      'X-RateLimit-Remaining': '1',
    });
    await run(middleware, request({ userId: 'metrics-user' }));
    const third = request({ userId: 'metrics-user' });
    const error = await run(middleware, third);
    expect(error).toBeInstanceOf(RateLimitError);
    expect(error?.httpStatus).toBe(429);
    expect(Number(error?.headers?.['Retry-After'])).toBeGreaterThanOrEqual(1);
    expect(third.context.aic.responseHeaders['X-RateLimit-Remaining']).toBe('0');
    const names = added.mock.calls.map(([name]) => name);
    expect(names.filter((n) => n === 'RateLimitAllowed')).toHaveLength(2);
    expect(names.filter((n) => n === 'RateLimitRejected')).toHaveLength(1);
    expect(names.filter((n) => n === 'RateLimitCheckLatency')).toHaveLength(3);
    expect(names).not.toContain('RateLimitDegraded');
    added.mockRestore();
  });

  it('keys anonymous callers by the request context address, not X-Forwarded-For', async () => {
    const middleware = rateLimitMiddleware({ settings, policies, redis: async () => guarded });
    const ip = '198.51.100.23';
    expect(await run(middleware, request({ sourceIp: ip, xff: '10.0.0.1' }))).toBeUndefined();
    expect(await run(middleware, request({ sourceIp: ip, xff: '10.0.0.2' }))).toBeUndefined();
    expect(await run(middleware, request({ sourceIp: ip, xff: '10.0.0.3' }))).toBeInstanceOf(
      RateLimitError,
    );
    expect(await run(middleware, request({ sourceIp: '198.51.100.24' }))).toBeUndefined();
    expect(await admin.exists(`${PREFIX}rl:{ip:198.51.100.23}:*`)).toBe(1);
  });

  it('behaves as degraded, with the fallback limit, when no Redis is configured', async () => {
    const added = vi.spyOn(metrics, 'addMetric');
    const middleware = rateLimitMiddleware({
      settings,
      policies,
      redis: async () => undefined,
      fallback: new FallbackLimiter(100),
    });
    const first = request({ userId: 'no-redis' });
    expect(await run(middleware, first)).toBeUndefined();
    expect(first.context.aic.responseHeaders['X-AIC-Degraded']).toBe('rate-limit');
    await run(middleware, request({ userId: 'no-redis' }));
    const third = request({ userId: 'no-redis' });
    expect(await run(middleware, third)).toBeInstanceOf(RateLimitError);
    expect(third.context.aic.responseHeaders['X-AIC-Degraded']).toBe('rate-limit');
    expect(added.mock.calls.filter(([name]) => name === 'RateLimitDegraded')).toHaveLength(3);
    added.mockRestore();
  });

  it('fails open when the runtime cannot start', async () => {
    const middleware = rateLimitMiddleware({
      settings,
      policies,
      redis: () => Promise.reject(new Error('Postgres is down')),
      fallback: new FallbackLimiter(100),
    });
    const req = request({ userId: 'no-runtime' });
    expect(await run(middleware, req)).toBeUndefined();
    expect(req.context.aic.responseHeaders['X-AIC-Degraded']).toBe('rate-limit');
  });

  it('fails loudly at creation on an override of an unknown route', () => {
    const bad = loadSettings({ RATE_LIMIT_ROUTE_OVERRIDES: '{"getConfg":"exempt"}' });
    expect(() => rateLimitMiddleware({ settings: bad })).toThrow(
      /RATE_LIMIT_ROUTE_OVERRIDES\.getConfg: unknown route id/,
    );
  });
});
