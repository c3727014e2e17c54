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
 * The headline p50/p95/p99 are client-observed latencies. Beside them the page gives the runtime's
 * own view (`test/support/runtime-probe.ts`: headers parsed to response sent, event-loop delay, CPU
 * per request, requests in flight at arrival) and the generator's own lag. The baseline is a
 * runtime of its own answering `GET /liveness` (no token, no database) at the same rate, before.
 *
 * Environment: BENCH_RATE (requests/s, 200), BENCH_DURATION_S (30), BENCH_BASELINE_DURATION_S (10),
 * BENCH_USERS (400), BENCH_SESSIONS_PER_USER (3), BENCH_CONNECTIONS (32), BENCH_DRIVER (`paced` or
 * `autocannon`), BENCH_REDIS_URL (redis://127.0.0.1:6379), DB_POOL_MAX of the local runtime (8).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jwtSettingsFromEnv, signToken } from '../functions/platform/jwt.ts';
import { autocannon } from '../test/support/autocannon.ts';
import { spawnLocalRuntime } from '../test/support/local-runtime-process.ts';
import { type PacedRequest, pacedLoad } from '../test/support/paced-load.ts';
import { deleteKeysWithPrefix } from '../test/support/redis-keys.ts';
import type { RuntimeProbeReport } from '../test/support/runtime-probe.ts';
import { createTestDatabase } from '../test/support/test-database.ts';
import { count, ms, times } from './format.ts';
import { markdownTable, startRun, writeBenchmarkPage } from './report-page.ts';
import { summarise } from './stats.ts';

const RATE = Number(process.env.BENCH_RATE ?? 200);
const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 30);
const BASELINE_DURATION_S = Number(process.env.BENCH_BASELINE_DURATION_S ?? 10);
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
  durationS: number,
  request: (n: number) => PacedRequest,
): Promise<ClientRun> {
  let sent = 0;
  const run: ClientRun = { latenciesMs: [], statuses: new Map(), sent: 0, errors: 0, timeouts: 0 };
  const instance = autocannon({
    url,
    connections: CONNECTIONS,
    overallRate: RATE,
    duration: durationS,
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

/** Sends `request(n)` at {@link RATE} for `durationS` with the configured driver. */
function drive(
  url: string,
  durationS: number,
  request: (n: number) => PacedRequest,
): Promise<ClientRun> {
  if (DRIVER === 'autocannon') return runAutocannon(url, durationS, request);
  return pacedLoad({ url, rate: RATE, durationS, connections: CONNECTIONS, request });
}

/** Errors of a run: connection errors, timeouts and any answer other than 2xx. */
function errorsOf(run: ClientRun): number {
  const non2xx = [...run.statuses].reduce((n, [status, seen]) => n + (status >= 300 ? seen : 0), 0);
  return run.errors + run.timeouts + non2xx;
}

type User = { authorization: string; sessions: string[] };

async function signUsers(env: Record<string, string>): Promise<User[]> {
  const jwt = jwtSettingsFromEnv({ ...process.env, ...env });
  return Promise.all(
    Array.from({ length: USERS }, async (_, i) => ({
      authorization: `Bearer ${await signToken(`bench-${process.pid}-${i}`, jwt, 3600)}`,
      sessions: Array.from({ length: SESSIONS_PER_USER }, () => randomUUID()),
    })),
  );
}

/** The `n`-th network update: round-robin over users, then over each user's sessions. */
function updateRequest(users: readonly User[]): (n: number) => PacedRequest {
  return (n) => {
    const user = users[n % USERS] as User;
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
}

/** The baseline: a runtime of its own answering `GET /liveness` at the same rate. */
async function measureBaseline(env: Record<string, string>): Promise<ClientRun> {
  const runtime = await spawnLocalRuntime(env);
  try {
    return await drive(runtime.url, BASELINE_DURATION_S, () => ({
      method: 'GET',
      path: '/liveness',
      headers: {},
    }));
  } finally {
    await runtime.stop();
  }
}

/** The updates through a runtime with the probe preloaded; the probe's report once it exited. */
async function measureUpdates(env: Record<string, string>, users: readonly User[]) {
  const probeFile = join(tmpdir(), `${PREFIX.replace(/:$/, '')}-probe.json`);
  const runtime = await spawnLocalRuntime(
    { ...env, AIC_RUNTIME_PROBE_FILE: probeFile },
    undefined,
    ['test/support/runtime-probe.ts'],
  );
  try {
    const run = await drive(runtime.url, DURATION_S, updateRequest(users));
    await runtime.stop();
    const probe = JSON.parse(await readFile(probeFile, 'utf8')) as RuntimeProbeReport;
    return { run, probe };
  } finally {
    await runtime.stop();
    await rm(probeFile, { force: true });
  }
}

const latencyRow = (label: string, samples: readonly number[]) => {
  const s = summarise(samples);
  return [label, ms(s.p50, 2), ms(s.p95, 2), ms(s.p99, 2), ms(s.max, 1)];
};

interface NetworkResults {
  baseline: ClientRun;
  updates: ClientRun;
  probe: RuntimeProbeReport;
  storedRows: number;
}

async function writePage(run: ReturnType<typeof startRun>, r: NetworkResults): Promise<boolean> {
  const client = summarise(r.updates.latenciesMs);
  const base = summarise(r.baseline.latenciesMs);
  const errors = errorsOf(r.updates);
  const inFlight = summarise(r.probe.inFlightAtArrival);
  const statuses = JSON.stringify(Object.fromEntries(r.updates.statuses));
  const goals = [
    {
      goal: 'client-observed p95 of `PUT /sessions/{id}/network`',
      measured: ms(client.p95, 2),
      target: `<= ${GOAL_P95_MS} ms`,
      met: client.p95 <= GOAL_P95_MS,
    },
    {
      goal: 'errors (no answer, timeout, not 2xx)',
      measured: count(errors),
      target: '0',
      met: errors === 0,
    },
  ];
  const arrival =
    DRIVER === 'autocannon'
      ? "autocannon's `overallRate` (per-second bursts)"
      : `a constant arrival rate (one request every ${(1000 / RATE).toFixed(1)} ms)`;
  await writeBenchmarkPage(run, {
    name: 'network',
    title: 'Network updates',
    source: 'bench/network.ts',
    measures: `\`PUT /api/v1/aic/sessions/{id}/network\` through the local runtime that \`npm start\` runs (route matching, JWT check, the Lambda handler with its middleware chain and the rate limiter, Postgres and Redis), at ${RATE} requests/s for ${DURATION_S} s.`,
    goals,
    baseline: `A runtime of its own answering \`GET /liveness\` (no token, no database, no Redis) at the same rate for ${BASELINE_DURATION_S} s, before the updates: client p50 ${ms(base.p50, 2)}, p95 ${ms(base.p95, 2)}. A network update's p95 is ${times(client.p95 / base.p95, 1)} that, and its p50 ${times(client.p50 / base.p50, 1)}.`,
    results: [
      {
        heading: 'Latency',
        body: [
          ...markdownTable(
            ['', 'p50', 'p95', 'p99', 'max'],
            [
              latencyRow('client (headline)', r.updates.latenciesMs),
              latencyRow('runtime: headers to response', r.probe.serverMs),
              latencyRow('baseline: `GET /liveness`, client', r.baseline.latenciesMs),
            ],
          ),
          '',
          `${count(r.updates.sent)} requests, answers by status ${statuses}, ${count(r.updates.errors)} connection errors, ${count(r.updates.timeouts)} timeouts; ${count(r.storedRows)} rows stored.`,
        ],
      },
      {
        heading: 'The runtime under the load',
        body: [
          `Event-loop delay p99 ${ms(r.probe.eventLoopDelayMs.p99, 2)} (max ${ms(r.probe.eventLoopDelayMs.max, 1)}); CPU ${ms(r.probe.cpuMs / r.probe.serverMs.length, 2)} per request; requests already in flight when one arrived: p50 ${inFlight.p50}, p95 ${inFlight.p95}${r.updates.issueLagMs ? `; the generator sent its requests late by ${ms(summarise(r.updates.issueLagMs).p99, 2)} at p99` : ''}.`,
        ],
      },
    ],
    method: `The load has ${arrival} over at most ${CONNECTIONS} keep-alive connections (\`test/support/paced-load.ts\`): request n leaves at n / rate seconds, and a request that finds every connection busy waits, which counts in its latency. The updates are spread over ${count(USERS)} users x ${SESSIONS_PER_USER} sessions (at most ${Math.ceil(r.updates.sent / USERS)} requests per user), so nobody reaches the per-user limit and every request is an admitted one. The runtime is a child process, as \`npm start\` runs it, with a pool of ${process.env.DB_POOL_MAX ?? 8} Postgres connections standing in for a few Lambda containers; a probe preloaded into it (\`test/support/runtime-probe.ts\`) times each request from its parsed headers to its response through Node's HTTP diagnostics channels. It uses a private database on the shared Postgres and a private key prefix on the shared Redis, and removes both. On AWS each request has a Lambda container of its own; here one process on a shared machine serves them all, so the tail moves with whatever else runs. With \`BENCH_DRIVER=autocannon\` every second opens with one request per connection at once, which measures draining a burst instead.`,
  });
  return goals.every((g) => g.met);
}

async function main(): Promise<void> {
  const run = startRun();
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
  try {
    const baseline = await measureBaseline(env);
    const { run: updates, probe } = await measureUpdates(env, await signUsers(env));
    const [stored] = await db.sql<{ n: number }[]>`select count(*)::int as n from network_samples`;
    const met = await writePage(run, { baseline, updates, probe, storedRows: stored?.n ?? 0 });
    if (!met) process.exitCode = 1;
  } finally {
    await db.drop();
    await deleteKeysWithPrefix(PREFIX, REDIS_URL);
  }
}

await main();
