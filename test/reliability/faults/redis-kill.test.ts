import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApi, type TestApi } from '../../support/local-api.ts';
import { type OwnRedis, startOwnRedis } from '../../support/own-redis.ts';
import { createTestDatabase, type TestDatabase } from '../../support/test-database.ts';
import { type Outcome, startTraffic, statusCounts } from './traffic.ts';

/**
 * Redis is SIGKILLed in the middle of mixed traffic (config reads, network updates and reads) and
 * restarted: no request may fail, the ones decided without Redis are marked degraded, the breaker
 * opens (readiness says so) and, once Redis is back, closes again and nothing is degraded.
 */

const BREAKER_OPEN_MS = 1000;

let redis: OwnRedis;
let db: TestDatabase;
let api: TestApi;

beforeAll(async () => {
  [redis, db] = await Promise.all([startOwnRedis(), createTestDatabase({ migrate: true })]);
  api = await startTestApi({
    DATABASE_URL: db.url,
    REDIS_URL: redis.url,
    REDIS_KEY_PREFIX: 'aic:',
    BREAKER_OPEN_MS: String(BREAKER_OPEN_MS),
    // A kill is the fault here, not slowness: room for a busy 2-core machine.
    REDIS_COMMAND_TIMEOUT_MS: '250',
    // High enough that the fallback limiter never rejects this traffic either.
    RATE_LIMIT_ROUTE_OVERRIDES: JSON.stringify({ '*': { user: { minute: 100_000 } } }),
  });
}, 60_000);

afterAll(async () => {
  await api?.close();
  await db?.drop();
  await redis?.stop();
});

const sessions = [randomUUID(), randomUUID()];
const networkBody = (kbps: number) =>
  JSON.stringify({
    available_bandwidth_kbps: kbps,
    rtt_ms: 40,
    packet_loss_percent: 0,
    jitter_ms: 4,
  });

async function redisCheck(): Promise<{ status: string; detail?: string }> {
  const body = (await (await api.request('/readiness')).json()) as {
    checks: Record<string, { status: string; detail?: string }>;
  };
  return body.checks.redis ?? { status: 'missing' };
}

describe('Redis killed and restarted under traffic', () => {
  it('answers every request, marks the degraded ones, opens the breaker and recovers', async () => {
    // Warm up: connection, script load, first queries.
    for (let i = 0; i < 3; i++) await api.request('/api/v1/aic/config', { user: 'warm-up' });
    const traffic = startTraffic(4, (worker, sequence) => {
      const session = sessions[worker % 2] as string;
      const path = `/api/v1/aic/sessions/${session}/network`;
      const user = `redis-fault-${worker % 2}`;
      if (sequence % 3 === 0)
        return { label: 'getConfig', send: () => api.request('/api/v1/aic/config', { user }) };
      if (sequence % 3 === 1)
        return {
          label: 'putNetwork',
          send: () =>
            api.request(path, {
              method: 'PUT',
              user,
              headers: { 'content-type': 'application/json' },
              body: networkBody(1000 + sequence),
            }),
        };
      return { label: 'getNetwork', send: () => api.request(path, { user }) };
    });

    await sleep(1000);
    const killedAt = traffic.elapsed();
    await redis.kill();
    await sleep(1500);
    const whileDown = await redisCheck();
    const restartedAt = traffic.elapsed();
    await redis.restart();

    // Wait for the half-open trials to close the breaker, then keep the traffic going a little.
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline && (await redisCheck()).status !== 'pass') await sleep(100);
    const recoveredAt = traffic.elapsed();
    await sleep(1000);
    const outcomes = await traffic.stop();

    const label = JSON.stringify(statusCounts(outcomes));
    console.info(
      `[fault] redis kill: ${outcomes.length} requests ${label}, degraded ${outcomes.filter((o) => o.degraded).length}, recovered ${Math.round(recoveredAt - restartedAt)} ms after restart`,
    );
    expect(
      outcomes.filter((o) => o.status >= 500),
      label,
    ).toEqual([]);
    expect(
      outcomes.every((o) => o.status === 200),
      label,
    ).toBe(true);

    const before = outcomes.filter((o) => o.at < killedAt);
    const during = outcomes.filter((o) => o.at > killedAt + 200 && o.at < restartedAt);
    const after = outcomes.filter((o: Outcome) => o.at > recoveredAt + 300);
    expect(before.length).toBeGreaterThan(0);
    expect(before.filter((o) => o.degraded)).toEqual([]);
    expect(during.length).toBeGreaterThan(0);
    expect(during.filter((o) => !o.degraded)).toEqual([]);
    expect(whileDown).toMatchObject({ status: 'degraded', detail: 'circuit breaker open' });
    expect(recoveredAt - restartedAt).toBeLessThan(BREAKER_OPEN_MS + 5000);
    expect(after.length).toBeGreaterThan(0);
    expect(after.filter((o) => o.degraded)).toEqual([]);
  }, 30_000);
});
