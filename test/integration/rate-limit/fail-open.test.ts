import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApi, type TestApi } from '../../support/local-api.ts';
import { type OwnRedis, startOwnRedis } from '../../support/own-redis.ts';
import { createTestDatabase, type TestDatabase } from '../../support/test-database.ts';

const CONFIG_PATH = '/api/v1/aic/config';
const BREAKER_OPEN_MS = 400;

let server: OwnRedis;
let db: TestDatabase;
let api: TestApi;

beforeAll(async () => {
  server = await startOwnRedis();
  db = await createTestDatabase({ migrate: true });
  api = await startTestApi({
    DATABASE_URL: db.url,
    REDIS_URL: server.url,
    REDIS_KEY_PREFIX: `aic-test-rlfault-${randomBytes(3).toString('hex')}:`,
    BREAKER_OPEN_MS: String(BREAKER_OPEN_MS),
    RATE_LIMIT_ROUTE_OVERRIDES: JSON.stringify({ '*': { user: { minute: 6 } } }),
  });
});

afterAll(async () => {
  await api?.close();
  await db?.drop();
  await server?.stop();
});

const getConfig = (user: string) => api.request(CONFIG_PATH, { user });

describe('the rate limiter when Redis fails', () => {
  it('reloads its script when the server has lost it (NOSCRIPT)', async () => {
    expect((await getConfig('noscript')).status).toBe(200);
    const admin = new Redis(server.url);
    await admin.script('FLUSH');
    await admin.quit();
    const response = await getConfig('noscript');
    expect(response.status).toBe(200);
    expect(response.headers.get('x-aic-degraded')).toBeNull();
    expect(response.headers.get('x-ratelimit-remaining')).toBe('4');
  });

  it('fails open with the per-container limit while Redis is down, then recovers', async () => {
    expect((await getConfig('before')).headers.get('x-aic-degraded')).toBeNull();
    await server.kill();

    const statuses: number[] = [];
    for (let i = 0; i < 10; i++) {
      const started = performance.now();
      const response = await getConfig('while-down');
      expect(performance.now() - started).toBeLessThan(500);
      statuses.push(response.status);
      expect(response.headers.get('x-aic-degraded')).toBe('rate-limit');
      expect(response.headers.get('ratelimit-policy')).toContain('"minute";q=6;w=60');
      if (response.status === 429) {
        expect(Number(response.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      }
    }
    // No 5xx: six served by the fallback limit, the rest rejected by it.
    expect(statuses).toEqual([200, 200, 200, 200, 200, 200, 429, 429, 429, 429]);
    const readiness = (await (await api.request('/readiness')).json()) as {
      checks: Record<string, { status: string; detail?: string }>;
    };
    expect(readiness.checks.redis).toMatchObject({
      status: 'degraded',
      detail: 'circuit breaker open',
    });

    await server.restart();
    // After the open period, half-open trials succeed and Redis decides again.
    const deadline = Date.now() + 10_000;
    let recovered: Response | undefined;
    while (Date.now() < deadline) {
      await sleep(100);
      const response = await getConfig('after');
      expect(response.status).toBeLessThan(500);
      if (response.headers.get('x-aic-degraded') === null) {
        recovered = response;
        break;
      }
    }
    expect(recovered?.status).toBe(200);
    for (let i = 0; i < 3; i++) {
      const response = await getConfig('after-recovery');
      expect(response.headers.get('x-aic-degraded')).toBeNull();
      expect(response.headers.get('x-ratelimit-remaining')).toBe(String(5 - i));
    }
    const ready = (await (await api.request('/readiness')).json()) as {
      checks: Record<string, { status: string }>;
    };
    expect(ready.checks.redis?.status).toBe('pass');
  });
});
