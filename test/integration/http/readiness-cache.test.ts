import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase } from '../../../functions/platform/db/database.ts';
import { migrate } from '../../../functions/platform/db/migrate.ts';
import { READINESS_FAILURE_CACHE_MS } from '../../../functions/platform/readiness.ts';
import { startTestApi, type TestApi } from '../../support/local-api.ts';
import { type OwnPostgres, startOwnPostgres } from '../../support/own-postgres.ts';
import { type OwnRedis, startOwnRedis } from '../../support/own-redis.ts';

// A readiness flood against servers this file owns: the Redis PINGs the server has answered count
// the probes (each probe pings Redis once and queries Postgres once).
const CACHE_MS = 2000;

let pg: OwnPostgres;
let redis: OwnRedis;
let admin: Redis;
let api: TestApi;

beforeAll(async () => {
  [pg, redis] = await Promise.all([startOwnPostgres(), startOwnRedis()]);
  const db = createDatabase({ url: pg.url, poolMax: 1 });
  await migrate(db.sql);
  await db.close();
  admin = new Redis(redis.url);
  api = await startTestApi({
    DATABASE_URL: pg.url,
    REDIS_URL: redis.url,
    DB_CONNECT_TRIES: '2',
    DB_CONNECT_BASE_DELAY_MS: '50',
    READINESS_CACHE_MS: String(CACHE_MS),
  });
}, 60_000);

afterAll(async () => {
  await api?.close();
  admin?.disconnect();
  await Promise.all([pg?.destroy(), redis?.stop()]);
});

/** PINGs the Redis server has answered so far. */
async function pings(): Promise<number> {
  const stats = await admin.info('commandstats');
  return Number(/cmdstat_ping:calls=(\d+)/.exec(stats)?.[1] ?? 0);
}

/** `count` concurrent `/readiness` requests; their statuses and how many probes they caused. */
async function flood(count: number): Promise<{ statuses: number[]; probes: number }> {
  const before = await pings();
  const responses = await Promise.all(
    Array.from({ length: count }, () => api.request('/readiness')),
  );
  await Promise.all(responses.map((response) => response.arrayBuffer()));
  return {
    statuses: responses.map((response) => response.status),
    probes: (await pings()) - before,
  };
}

describe('readiness under a flood', () => {
  it('answers 100 concurrent requests with one probe, and the next ones from the cache', async () => {
    expect((await api.request('/readiness')).status).toBe(200);
    await sleep(CACHE_MS + 100);

    const first = await flood(100);
    expect(first.statuses).toEqual(Array(100).fill(200));
    expect(first.probes).toBe(1);

    const cached = await flood(100);
    expect(cached.statuses).toEqual(Array(100).fill(200));
    expect(cached.probes).toBe(0);
  });

  it('caches a not_ready answer too, but only briefly', async () => {
    await pg.stop();
    await sleep(CACHE_MS + 100);

    const down = await flood(50);
    expect(down.statuses).toEqual(Array(50).fill(503));
    expect(down.probes).toBe(1);
    expect((await flood(50)).probes).toBe(0);

    // Well before the period of a ready answer ends, a failure is probed again.
    await sleep(READINESS_FAILURE_CACHE_MS + 100);
    const again = await flood(50);
    expect(again.statuses).toEqual(Array(50).fill(503));
    expect(again.probes).toBe(1);

    await pg.start();
    await sleep(READINESS_FAILURE_CACHE_MS + 100);
    const deadline = Date.now() + 10_000;
    let status = 0;
    while (status !== 200 && Date.now() < deadline) {
      status = (await api.request('/readiness')).status;
      if (status !== 200) await sleep(200);
    }
    expect(status).toBe(200);
  }, 30_000);
});
