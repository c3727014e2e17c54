/**
 * `npm run bench:network`: `PUT /api/v1/aic/sessions/{id}/network` through the local runtime that
 * `npm start` runs (a child process: route matching, JWT check, the Lambda handler with its whole
 * middleware chain and the rate limiter, Postgres and Redis), driven by autocannon at a fixed rate.
 * The updates are spread over enough users that none reaches the per-user limit, so every request
 * is an admitted one. It uses a private database on the shared Postgres and a private key prefix on
 * the shared Redis, and removes both at the end.
 *
 * Environment: BENCH_RATE (requests/s, 200), BENCH_DURATION_S (30), BENCH_USERS (400),
 * BENCH_SESSIONS_PER_USER (3), BENCH_CONNECTIONS (32), BENCH_REDIS_URL (redis://127.0.0.1:6379),
 * DB_POOL_MAX of the local runtime (8).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { jwtSettingsFromEnv, signToken } from '../../functions/platform/jwt.ts';
import { autocannon } from '../support/autocannon.ts';
import { spawnLocalRuntime } from '../support/local-runtime-process.ts';
import { deleteKeysWithPrefix } from '../support/redis-keys.ts';
import { createTestDatabase } from '../support/test-database.ts';
import { ms, summarise } from './stats.ts';

const RATE = Number(process.env.BENCH_RATE ?? 200);
const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 30);
const USERS = Number(process.env.BENCH_USERS ?? 400);
const SESSIONS_PER_USER = Number(process.env.BENCH_SESSIONS_PER_USER ?? 3);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
const PREFIX = `aic-bench-network-${process.pid}-${randomBytes(3).toString('hex')}:`;
const GOAL_P95_MS = 10;

async function main(): Promise<void> {
  const db = await createTestDatabase();
  const env = {
    REDIS_URL,
    DATABASE_URL: db.url,
    REDIS_KEY_PREFIX: PREFIX,
    AIC_JWT_SECRET: process.env.AIC_JWT_SECRET ?? randomBytes(32).toString('hex'),
    // One local process serves every concurrent request, which Lambda spreads over containers with
    // a pool of 2 each; a pool of 8 stands in for a few of them.
    DB_POOL_MAX: process.env.DB_POOL_MAX ?? '8',
  };
  const runtime = await spawnLocalRuntime(env);
  const { url } = runtime;
  try {
    const jwt = jwtSettingsFromEnv({ ...process.env, ...env });
    const users = await Promise.all(
      Array.from({ length: USERS }, async (_, i) => ({
        authorization: `Bearer ${await signToken(`bench-${process.pid}-${i}`, jwt, 3600)}`,
        sessions: Array.from({ length: SESSIONS_PER_USER }, () => randomUUID()),
      })),
    );

    let sent = 0;
    const samples: number[] = [];
    const statuses = new Map<number, number>();
    const instance = autocannon({
      url,
      connections: CONNECTIONS,
      overallRate: RATE,
      duration: DURATION_S,
      requests: [
        {
          setupRequest: (request) => {
            // Round-robin over users, then over each user's sessions.
            const n = sent++;
            const user = users[n % USERS] as (typeof users)[number];
            const session = user.sessions[Math.floor(n / USERS) % SESSIONS_PER_USER];
            return {
              ...request,
              method: 'PUT',
              path: `/api/v1/aic/sessions/${session}/network`,
              headers: { authorization: user.authorization, 'content-type': 'application/json' },
              body: JSON.stringify({
                available_bandwidth_kbps: 1000 + ((n * 37) % 9000),
                rtt_ms: 20 + (n % 80),
                packet_loss_percent: (n % 7) * 0.5,
                jitter_ms: n % 15,
                fps: 30,
              }),
            };
          },
        },
      ],
    });
    instance.on('response', (_client, statusCode, _bytes, responseTimeMs) => {
      samples.push(responseTimeMs);
      statuses.set(statusCode, (statuses.get(statusCode) ?? 0) + 1);
    });
    const result = await instance;

    const latency = summarise(samples);
    const [row] = await db.sql<{ n: number }[]>`select count(*)::int as n from network_samples`;
    const perUser = Math.ceil(result.requests.total / USERS);
    console.log(
      `PUT /sessions/{id}/network through the local runtime: ${RATE} req/s for ${DURATION_S} s, ` +
        `${CONNECTIONS} connections, ${USERS} users x ${SESSIONS_PER_USER} sessions ` +
        `(at most ${perUser} requests per user)`,
    );
    console.table({
      latency: {
        p50: ms(latency.p50),
        p95: ms(latency.p95),
        p99: ms(latency.p99),
        'autocannon p50': `${result.latency.p50} ms`,
        'autocannon p99': `${result.latency.p99} ms`,
      },
    });
    const errors = result.errors + result.timeouts + result.non2xx;
    console.log(
      `requests ${result.requests.total} (${result.requests.average.toFixed(1)}/s), responses by ` +
        `status ${JSON.stringify(Object.fromEntries(statuses))}, errors ${result.errors}, ` +
        `timeouts ${result.timeouts}, non-2xx ${result.non2xx}; rows stored ${row?.n}`,
    );
    const met = latency.p95 <= GOAL_P95_MS && errors === 0;
    console.log(
      `goal p95 <= ${GOAL_P95_MS} ms and 0 errors: ${met ? 'met' : 'NOT met'} (p95 ${ms(latency.p95)}, ${errors} errors)`,
    );
    if (!met) process.exitCode = 1;
  } finally {
    await runtime.stop();
    await db.drop();
    await deleteKeysWithPrefix(PREFIX, REDIS_URL);
  }
}

await main();
