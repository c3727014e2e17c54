import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorEnvelopeSchema } from '../../../functions/core/contracts/errors.ts';
import { networkEstimateResponseSchema } from '../../../functions/core/contracts/network.ts';
import { createDatabase, type Database } from '../../../functions/platform/db/database.ts';
import { migrate } from '../../../functions/platform/db/migrate.ts';
import { startTestApi, type TestApi } from '../../support/local-api.ts';
import { type OwnPostgres, startOwnPostgres } from '../../support/own-postgres.ts';
import { type OwnRedis, startOwnRedis } from '../../support/own-redis.ts';

// Private servers: killing or stopping them cannot disturb the shared ones.
let postgres: OwnPostgres;
let redis: OwnRedis;
let db: Database;
let api: TestApi;

beforeAll(async () => {
  [postgres, redis] = await Promise.all([startOwnPostgres(), startOwnRedis()]);
  db = createDatabase({ url: postgres.url, connectTimeoutS: 2 });
  await migrate(db.sql);
  api = await startTestApi({
    DATABASE_URL: postgres.url,
    REDIS_URL: redis.url,
    REDIS_KEY_PREFIX: 'aic:',
    BREAKER_OPEN_MS: '200',
    DB_CONNECT_TRIES: '1',
    // The limiter shares this Redis and marks its own degradation; these tests watch the network
    // routes' own marking only.
    RATE_LIMIT_ROUTE_OVERRIDES: JSON.stringify({
      putSessionNetwork: 'exempt',
      getSessionNetwork: 'exempt',
      getSession: 'exempt',
    }),
  });
}, 120_000);

afterAll(async () => {
  await api?.close();
  await db?.close(0);
  await redis?.stop();
  await postgres?.destroy();
});

const user = 'outage-user';
const networkPath = (session: string) => `/api/v1/aic/sessions/${session}/network`;

const put = (session: string, kbps: number) =>
  api.request(networkPath(session), {
    method: 'PUT',
    user,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      available_bandwidth_kbps: kbps,
      rtt_ms: 50,
      packet_loss_percent: 0,
      jitter_ms: 5,
    }),
  });

const rows = async (session: string) => {
  const [row] = await db.sql<{ n: number }[]>`
    select count(*)::int as n from network_samples where session_id = ${session}
  `;
  return row?.n ?? 0;
};

/** Retries `attempt` until it returns true or `timeoutMs` passes. */
async function eventually(attempt: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await attempt())) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await sleep(100);
  }
}

describe('network updates while Redis is down', () => {
  it('answers 200 marked degraded, stores every update and recovers', async () => {
    const session = randomUUID();
    const healthy = await put(session, 2000);
    expect(healthy.status).toBe(200);
    expect(healthy.headers.get('x-aic-degraded')).toBeNull();

    await redis.kill();
    for (const kbps of [2500, 3000]) {
      const response = await put(session, kbps);
      expect(response.status, await response.clone().text()).toBe(200);
      expect(response.headers.get('x-aic-degraded')).toBe('redis');
      networkEstimateResponseSchema.parse(await response.json());
    }
    const read = await api.request(networkPath(session), { user });
    expect(read.status).toBe(200);
    expect(read.headers.get('x-aic-degraded')).toBe('redis');
    expect(networkEstimateResponseSchema.parse(await read.json()).sample_count).toBe(3);
    expect(await rows(session)).toBe(3);

    await redis.restart();
    let recovered: Response | undefined;
    await eventually(async () => {
      recovered = await put(session, 3000);
      return recovered.status === 200 && recovered.headers.get('x-aic-degraded') === null;
    });
    // The restarted Redis is empty: the state was rebuilt from every stored sample.
    const body = networkEstimateResponseSchema.parse(await recovered?.json());
    expect(body.sample_count).toBe(await rows(session));
  });
});

describe('network updates while Postgres is down', () => {
  it('answers 503 and acknowledges nothing it did not store', async () => {
    const session = randomUUID();
    let acknowledged = 0;
    for (const kbps of [1000, 1100, 1200]) {
      const response = await put(session, kbps);
      expect(response.status).toBe(200);
      acknowledged += 1;
    }

    await postgres.stop();
    for (const kbps of [1300, 1400, 1500]) {
      const response = await put(session, kbps);
      const text = await response.text();
      expect(response.status, text).toBe(503);
      expect(errorEnvelopeSchema.parse(JSON.parse(text)).error.code).toBe('DEPENDENCY_UNAVAILABLE');
    }
    await postgres.start();

    await eventually(async () => {
      const response = await put(session, 1600);
      if (response.status === 200) acknowledged += 1;
      return response.status === 200;
    });
    expect(await rows(session)).toBe(acknowledged);
    const read = await api.request(networkPath(session), { user });
    expect(networkEstimateResponseSchema.parse(await read.json()).sample_count).toBe(acknowledged);
  });
});
