import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readinessResponseSchema } from '../../../functions/core/contracts/health.ts';
import { createDatabase } from '../../../functions/platform/db/database.ts';
import { migrate } from '../../../functions/platform/db/migrate.ts';
import { startTestApi, type TestApi } from '../../support/local-api.ts';
import { type OwnPostgres, startOwnPostgres } from '../../support/own-postgres.ts';
import { type OwnRedis, startOwnRedis } from '../../support/own-redis.ts';

// Readiness against servers this file starts and stops itself: the shared ones are never touched.
let pg: OwnPostgres;
let redis: OwnRedis;
let api: TestApi;

beforeAll(async () => {
  [pg, redis] = await Promise.all([startOwnPostgres(), startOwnRedis()]);
  const db = createDatabase({ url: pg.url, poolMax: 1 });
  await migrate(db.sql);
  await db.close();
  api = await startTestApi({
    DATABASE_URL: pg.url,
    REDIS_URL: redis.url,
    DB_CONNECT_TRIES: '2',
    DB_CONNECT_BASE_DELAY_MS: '50',
    // Each request probes here, so each state change shows at once; the cache has its own file.
    READINESS_CACHE_MS: '0',
  });
}, 60_000);

afterAll(async () => {
  await api?.close();
  await Promise.all([pg?.destroy(), redis?.stop()]);
});

async function readiness() {
  const response = await api.request('/readiness');
  return { status: response.status, body: readinessResponseSchema.parse(await response.json()) };
}

async function eventually<T>(
  probe: () => Promise<T>,
  accept: (value: T) => boolean,
  timeoutMs = 10_000,
) {
  const deadline = Date.now() + timeoutMs;
  let last = await probe();
  while (!accept(last) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    last = await probe();
  }
  return last;
}

describe('readiness', () => {
  it('is 200 and ready when Postgres, Redis and initialisation pass', async () => {
    const { status, body } = await readiness();
    expect(status).toBe(200);
    expect(body.status).toBe('ready');
    expect(Object.values(body.checks).map((check) => check.status)).toEqual([
      'pass',
      'pass',
      'pass',
    ]);
  });

  it('reports Redis down as degraded, still 200', async () => {
    await redis.kill();
    const { status, body } = await readiness();
    expect(status).toBe(200);
    expect(body.status).toBe('degraded');
    expect(body.checks.redis.status).toBe('degraded');
    await redis.restart();
  });

  it('turns 503 while its Postgres is stopped and 200 again after it restarts, without a restart of the runtime', async () => {
    await pg.stop();
    const down = await readiness();
    expect(down.status).toBe(503);
    expect(down.body.status).toBe('not_ready');
    expect(down.body.checks.postgres.status).toBe('fail');

    await pg.start();
    const up = await eventually(readiness, (r) => r.status === 200);
    expect(up.status).toBe(200);
    expect(up.body.checks.postgres.status).toBe('pass');
  });

  it('never touches a dependency for liveness', async () => {
    await pg.stop();
    const response = await api.request('/liveness');
    expect(response.status).toBe(200);
    await pg.start();
  });
});
