/**
 * `npm run bench:network`: `PUT /api/v1/aic/sessions/{id}/network` through the local runtime that
 * `npm start` runs (a child process: route matching, JWT check, the Lambda handler with its whole
 * middleware chain and the rate limiter, Postgres and Redis) at a fixed rate. The updates are
 * spread over enough users that none reaches the per-user limit, so every request is an admitted
 * one. It uses a private database on the shared Postgres and a private key prefix on the shared
 * Redis, and removes both at the end.
 *
 * The load has a constant arrival rate (`test/support/paced-load.ts`): request n leaves at n / rate
 * seconds over a pool of keep-alive connections. `BENCH_DRIVER=autocannon` uses autocannon's
 * `overallRate` instead, which sends each connection's per-second quota back to back at the top of
 * every second: bursts of `BENCH_CONNECTIONS` concurrent requests, then silence.
 *
 * The headline p50/p95/p99 are client-observed latencies. Beside them it prints the runtime's own
 * view (`test/support/runtime-probe.ts`: headers parsed to response sent, event-loop delay, CPU per
 * request, requests in flight at arrival), the generator's own lag, and the load average, because
 * this runs on a small shared machine.
 *
 * Environment: BENCH_RATE (requests/s, 200), BENCH_DURATION_S (30), BENCH_USERS (400),
 * BENCH_SESSIONS_PER_USER (3), BENCH_CONNECTIONS (32), BENCH_DRIVER (`paced` or `autocannon`),
 * BENCH_REDIS_URL (redis://127.0.0.1:6379), DB_POOL_MAX of the local runtime (8).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { readFile, rm } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { jwtSettingsFromEnv, signToken } from '../functions/platform/jwt.ts';
import { autocannon } from '../test/support/autocannon.ts';
import { spawnLocalRuntime } from '../test/support/local-runtime-process.ts';
import { type PacedRequest, pacedLoad } from '../test/support/paced-load.ts';
import { deleteKeysWithPrefix } from '../test/support/redis-keys.ts';
import type { RuntimeProbeReport } from '../test/support/runtime-probe.ts';
import { createTestDatabase } from '../test/support/test-database.ts';
import { ms, summarise } from './stats.ts';

const RATE = Number(process.env.BENCH_RATE ?? 200);
const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 30);
const USERS = Number(process.env.BENCH_USERS ?? 400);
const SESSIONS_PER_USER = Number(process.env.BENCH_SESSIONS_PER_USER ?? 3);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const DRIVER = process.env.BENCH_DRIVER ?? 'paced';
const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
const PREFIX = `aic-bench-network-${process.pid}-${randomBytes(3).toString('hex')}:`;
const GOAL_P95_MS = 10;

/** What one run of a driver measured on the client. */
interface ClientRun {
  latenciesMs: number[];
  statuses: Map<number, number>;
  sent: number;
  errors: number;
  timeouts: number;
  /** Paced driver only: how late requests left against their schedule. */
  issueLagMs?: number[];
}

/** autocannon with `overallRate`: per-connection quotas refilled once a second (bursts). */
async function runAutocannon(
  url: string,
  request: (n: number) => PacedRequest,
): Promise<ClientRun> {
  let sent = 0;
  const run: ClientRun = { latenciesMs: [], statuses: new Map(), sent: 0, errors: 0, timeouts: 0 };
  const instance = autocannon({
    url,
    connections: CONNECTIONS,
    overallRate: RATE,
    duration: DURATION_S,
    requests: [{ setupRequest: (base) => ({ ...base, ...request(sent++) }) }],
  });
  // Its own percentiles correct for coordinated omission with an expected interval of
  // ceil(1 / per-connection rate) ms, which adds made-up samples here; the raw ones are kept.
  instance.on('response', (_client, statusCode, _bytes, responseTimeMs) => {
    run.latenciesMs.push(responseTimeMs);
    run.statuses.set(statusCode, (run.statuses.get(statusCode) ?? 0) + 1);
  });
  const result = await instance;
  return { ...run, sent: result.requests.total, errors: result.errors, timeouts: result.timeouts };
}

const row = (samples: readonly number[]) => {
  const s = summarise(samples);
  return { p50: ms(s.p50), p95: ms(s.p95), p99: ms(s.p99), max: ms(Math.max(...samples)) };
};

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
  const probeFile = join(tmpdir(), `${PREFIX.replace(/:$/, '')}-probe.json`);
  const runtime = await spawnLocalRuntime(
    { ...env, AIC_RUNTIME_PROBE_FILE: probeFile },
    undefined,
    ['test/support/runtime-probe.ts'],
  );
  const { url } = runtime;
  try {
    const jwt = jwtSettingsFromEnv({ ...process.env, ...env });
    const users = await Promise.all(
      Array.from({ length: USERS }, async (_, i) => ({
        authorization: `Bearer ${await signToken(`bench-${process.pid}-${i}`, jwt, 3600)}`,
        sessions: Array.from({ length: SESSIONS_PER_USER }, () => randomUUID()),
      })),
    );

    const request = (n: number): PacedRequest => {
      // Round-robin over users, then over each user's sessions.
      const user = users[n % USERS] as (typeof users)[number];
      const session = user.sessions[Math.floor(n / USERS) % SESSIONS_PER_USER];
      return {
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
    };

    const loadBefore = loadavg();
    const run =
      DRIVER === 'autocannon'
        ? await runAutocannon(url, request)
        : await pacedLoad({
            url,
            rate: RATE,
            durationS: DURATION_S,
            connections: CONNECTIONS,
            request,
          });
    const loadAfter = loadavg();
    await runtime.stop();
    const probe = JSON.parse(await readFile(probeFile, 'utf8')) as RuntimeProbeReport;

    const [stored] = await db.sql<{ n: number }[]>`select count(*)::int as n from network_samples`;
    const non2xx = [...run.statuses].reduce(
      (n, [status, count]) => n + (status >= 300 ? count : 0),
      0,
    );
    const errors = run.errors + run.timeouts + non2xx;
    const client = summarise(run.latenciesMs);
    const inFlight = summarise(probe.inFlightAtArrival);
    const perUser = Math.ceil(run.sent / USERS);
    console.log(
      `PUT /sessions/{id}/network through the local runtime: ${RATE} req/s for ${DURATION_S} s, ` +
        `${CONNECTIONS} connections, ${USERS} users x ${SESSIONS_PER_USER} sessions ` +
        `(at most ${perUser} requests per user), ` +
        (DRIVER === 'autocannon'
          ? 'autocannon overallRate (per-second bursts)'
          : `constant arrival rate (one request every ${(1000 / RATE).toFixed(1)} ms)`),
    );
    console.table({
      'client (headline)': row(run.latenciesMs),
      'runtime: headers to response': row(probe.serverMs),
    });
    console.log(
      `runtime: event-loop delay p99 ${ms(probe.eventLoopDelayMs.p99)} (max ` +
        `${ms(probe.eventLoopDelayMs.max)}), CPU ${ms(probe.cpuMs / probe.serverMs.length)} per ` +
        `request, requests in flight at arrival p50 ${inFlight.p50} / p95 ${inFlight.p95}` +
        (run.issueLagMs ? `; generator lag p99 ${ms(summarise(run.issueLagMs).p99)}` : ''),
    );
    console.log(
      `machine: ${availableParallelism()} cores, load average ${loadBefore[0]?.toFixed(2)} before, ` +
        `${loadAfter[0]?.toFixed(2)} after (1 min)`,
    );
    console.log(
      `requests ${run.sent}, responses by status ${JSON.stringify(Object.fromEntries(run.statuses))}, ` +
        `errors ${run.errors}, timeouts ${run.timeouts}, non-2xx ${non2xx}; rows stored ${stored?.n}`,
    );
    const met = client.p95 <= GOAL_P95_MS && errors === 0;
    console.log(
      `goal p95 <= ${GOAL_P95_MS} ms (client-observed) and 0 errors: ${met ? 'met' : 'NOT met'} ` +
        `(p95 ${ms(client.p95)}, ${errors} errors)`,
    );
    if (!met) process.exitCode = 1;
  } finally {
    await runtime.stop();
    await rm(probeFile, { force: true });
    await db.drop();
    await deleteKeysWithPrefix(PREFIX, REDIS_URL);
  }
}

await main();
