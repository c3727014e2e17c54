import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DelayProxy, startDelayProxy } from '../../support/delay-proxy.ts';
import { startTestApi, type TestApi } from '../../support/local-api.ts';
import { type OwnRedis, startOwnRedis } from '../../support/own-redis.ts';
import { createTestDatabase, type TestDatabase } from '../../support/test-database.ts';
import { startTraffic, statusCounts } from './traffic.ts';

/**
 * Redis reached through a proxy that starts adding 300 ms to every reply in the middle of traffic:
 * the limiter's command timeout trips, requests are answered 200 and marked degraded (not failed,
 * not held for the delay), the breaker opens; when the delay goes away, Redis decides again.
 */

const COMMAND_TIMEOUT_MS = 100;
const DELAY_MS = 300;
const BREAKER_OPEN_MS = 1000;

let redis: OwnRedis;
let proxy: DelayProxy;
let db: TestDatabase;
let api: TestApi;

beforeAll(async () => {
  [redis, db] = await Promise.all([startOwnRedis(), createTestDatabase({ migrate: true })]);
  proxy = await startDelayProxy(redis.port);
  api = await startTestApi({
    DATABASE_URL: db.url,
    REDIS_URL: proxy.url,
    REDIS_KEY_PREFIX: 'aic:',
    REDIS_COMMAND_TIMEOUT_MS: String(COMMAND_TIMEOUT_MS),
    BREAKER_OPEN_MS: String(BREAKER_OPEN_MS),
    RATE_LIMIT_ROUTE_OVERRIDES: JSON.stringify({ '*': { user: { minute: 100_000 } } }),
  });
}, 60_000);

afterAll(async () => {
  await api?.close();
  await proxy?.close();
  await db?.drop();
  await redis?.stop();
});

describe('a slow Redis', () => {
  it('trips the limiter timeout: degraded answers, never failed or held, then recovery', async () => {
    for (let i = 0; i < 3; i++) await api.request('/api/v1/aic/config', { user: 'warm-up' });
    const traffic = startTraffic(3, (worker) => ({
      label: 'getConfig',
      send: () => api.request('/api/v1/aic/config', { user: `slow-redis-${worker}` }),
    }));

    await sleep(800);
    const slowFrom = traffic.elapsed();
    proxy.delayMs = DELAY_MS;
    await sleep(2000);
    const slowUntil = traffic.elapsed();
    proxy.delayMs = 0;
    // The breaker's open period, its half-open trials, and some traffic after.
    await sleep(BREAKER_OPEN_MS + 2500);
    const outcomes = await traffic.stop();

    const counts = statusCounts(outcomes);
    const slow = outcomes.filter((o) => o.at > slowFrom + 2 * DELAY_MS && o.at < slowUntil);
    const tail = outcomes.filter((o) => o.at > (outcomes.at(-1)?.at ?? 0) - 500);
    const slowest = Math.round(Math.max(...slow.map((o) => o.latencyMs)));
    console.info(
      `[fault] slow redis: ${outcomes.length} requests ${JSON.stringify(counts)}, degraded ${outcomes.filter((o) => o.degraded).length}, slowest while slow ${slowest} ms`,
    );
    expect(counts).toEqual({ 200: outcomes.length });
    expect(outcomes.filter((o) => o.at < slowFrom && o.degraded)).toEqual([]);
    expect(slow.length).toBeGreaterThan(0);
    expect(slow.filter((o) => o.degraded !== 'rate-limit')).toEqual([]);
    // Held at most about the command timeout, never for the Redis delay.
    expect(slowest).toBeLessThan(DELAY_MS);
    expect(tail.length).toBeGreaterThan(0);
    expect(tail.filter((o) => o.degraded)).toEqual([]);
  }, 30_000);
});
