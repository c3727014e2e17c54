/**
 * `npm run load`: mixed traffic (compress, network updates and reads, dashboard reads) against the
 * local runtime started the way `npm start` starts it (functions/local/main.ts, its own process, a
 * fresh database on the shared Postgres, the shared Redis under a private prefix), for
 * LOAD_DURATION_S seconds (60). Prints rps, p50/p95/p99 per route, errors, and the server's RSS
 * over time; exits 1 on any error or when RSS grows more than 10 % after the warm-up.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { jwtSettingsFromEnv, signToken } from '../functions/platform/jwt.ts';
import { type AutocannonRequest, autocannon } from '../test/support/autocannon.ts';
import { encodeFrame } from '../test/support/frames.ts';
import { spawnLocalRuntime } from '../test/support/local-runtime-process.ts';
import { createTestDatabase } from '../test/support/test-database.ts';
import { summarise } from './stats.ts';

const DURATION_S = Number(process.env.LOAD_DURATION_S ?? 60);
const WARM_UP_S = Number(process.env.LOAD_WARM_UP_S ?? Math.max(10, Math.round(DURATION_S / 4)));
const RSS_SAMPLE_MS = 1000;
const MAX_RSS_GROWTH = 0.1;
const REDIS_URL = process.env.LOAD_REDIS_URL ?? 'redis://127.0.0.1:6379';
const PREFIX = `aic-load-${process.pid}-${randomBytes(3).toString('hex')}:`;

/** One kind of traffic: how many connections send it and what each request is. */
interface Stream {
  name: string;
  connections: number;
  next: (n: number) => AutocannonRequest;
}

/** Resident set size of `pid` in MiB, from /proc. */
function rssMiB(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) / 1024 : Number.NaN;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

async function deleteKeys(): Promise<void> {
  const redis = new Redis(REDIS_URL);
  let cursor = '0';
  try {
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${PREFIX}*`, 'COUNT', 1000);
      if (keys.length > 0) await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

function streams(authorization: string[], frames: string[]): Stream[] {
  const user = (n: number) => authorization[n % authorization.length] as string;
  const sessions = Array.from({ length: 16 }, () => randomUUID());
  const session = (n: number) => sessions[n % sessions.length] as string;
  const json = { 'content-type': 'application/json' };
  return [
    {
      name: 'POST /compress',
      connections: 2,
      next: (n) => ({
        method: 'POST',
        path: '/api/v1/aic/compress',
        headers: { ...json, authorization: user(n) },
        body: JSON.stringify({
          session_id: session(n),
          frame_number: n,
          frame_data: frames[n % frames.length],
        }),
      }),
    },
    {
      name: 'PUT /sessions/{id}/network',
      connections: 2,
      next: (n) => ({
        method: 'PUT',
        path: `/api/v1/aic/sessions/${session(n)}/network`,
        headers: { ...json, authorization: user(n) },
        body: JSON.stringify({
          available_bandwidth_kbps: 500 + ((n * 37) % 9000),
          rtt_ms: 20 + (n % 80),
          packet_loss_percent: (n % 7) * 0.5,
          jitter_ms: n % 15,
        }),
      }),
    },
    {
      name: 'GET /sessions/{id}/network',
      connections: 1,
      // Sessions the update stream has written by now; the first requests may find none (404).
      next: (n) => ({
        method: 'GET',
        path: `/api/v1/aic/sessions/${session(n)}/network`,
        headers: { authorization: user(n) },
      }),
    },
    {
      name: 'GET /performance/summary',
      connections: 1,
      next: (n) => ({
        method: 'GET',
        path: '/api/v1/aic/performance/summary?hours=24',
        headers: { authorization: user(n) },
      }),
    },
    {
      name: 'GET /stats/bandwidth-savings',
      connections: 1,
      next: (n) => ({
        method: 'GET',
        path: '/api/v1/aic/stats/bandwidth-savings?days=7',
        headers: { authorization: user(n) },
      }),
    },
    {
      name: 'GET /metrics',
      connections: 1,
      next: (n) => ({
        method: 'GET',
        path: '/api/v1/aic/metrics?limit=50',
        headers: { authorization: user(n) },
      }),
    },
  ];
}

async function main(): Promise<void> {
  const db = await createTestDatabase();
  const env = {
    AIC_LOCAL_STATE_DIR: join(tmpdir(), `aic-load-${process.pid}`),
    DATABASE_URL: db.url,
    REDIS_URL,
    REDIS_KEY_PREFIX: PREFIX,
    AIC_JWT_SECRET: process.env.AIC_JWT_SECRET ?? randomBytes(32).toString('hex'),
    POWERTOOLS_LOG_LEVEL: process.env.POWERTOOLS_LOG_LEVEL ?? 'WARN',
    // The load is judged on the handlers, not on the limiter turning it away.
    RATE_LIMIT_ROUTE_OVERRIDES: '{"*":"exempt","compress":"exempt"}',
    DB_POOL_MAX: process.env.DB_POOL_MAX ?? '8',
  };
  const runtime = await spawnLocalRuntime(env);
  const { url, child } = runtime;
  try {
    const jwt = jwtSettingsFromEnv({ ...process.env, ...env });
    const authorization = await Promise.all(
      Array.from(
        { length: 8 },
        async (_, i) => `Bearer ${await signToken(`load-${i}`, jwt, 7200)}`,
      ),
    );
    const frames = await Promise.all(
      [1, 2, 3].map(async (seed) =>
        (
          await encodeFrame('scene', { width: 640, height: 360, seed, offsetX: seed * 40 })
        ).toString('base64'),
      ),
    );
    console.log(
      `load: ${DURATION_S} s of mixed traffic against ${url} (pid ${child.pid}), warm-up ${WARM_UP_S} s`,
    );

    const rss: { at: number; mib: number }[] = [];
    const started = performance.now();
    const sampler = setInterval(() => {
      if (child.pid) rss.push({ at: (performance.now() - started) / 1000, mib: rssMiB(child.pid) });
    }, RSS_SAMPLE_MS);

    const results = await Promise.all(
      streams(authorization, frames).map(async (stream) => {
        let n = 0;
        const samples: number[] = [];
        const statuses: Record<number, number> = {};
        const instance = autocannon({
          url,
          connections: stream.connections,
          duration: DURATION_S,
          requests: [
            {
              setupRequest: (request) => {
                const next = stream.next(n++);
                return { ...request, ...next, headers: { ...request.headers, ...next.headers } };
              },
            },
          ],
        });
        instance.on('response', (_client, status, _bytes, ms) => {
          samples.push(ms);
          statuses[status] = (statuses[status] ?? 0) + 1;
        });
        const result = await instance;
        return { stream, samples, statuses, result };
      }),
    );
    clearInterval(sampler);

    let failures = 0;
    console.log(
      '\nroute                           requests     rps     p50     p95     p99  statuses',
    );
    for (const { stream, samples, statuses, result } of results) {
      const latency = summarise(samples);
      const bad =
        Object.entries(statuses)
          .filter(
            ([status]) =>
              Number(status) >= 500 || (Number(status) >= 400 && Number(status) !== 404),
          )
          .reduce((sum, [, count]) => sum + count, 0) +
        result.errors +
        result.timeouts;
      failures += bad;
      console.log(
        `${stream.name.padEnd(30)} ${String(latency.n).padStart(9)} ${(latency.n / DURATION_S).toFixed(1).padStart(7)} ${latency.p50.toFixed(1).padStart(7)} ${latency.p95.toFixed(1).padStart(7)} ${latency.p99.toFixed(1).padStart(7)}  ${JSON.stringify(statuses)} errors ${result.errors} timeouts ${result.timeouts}`,
      );
    }
    const total = results.reduce((sum, r) => sum + r.samples.length, 0);
    console.log(
      `total ${total} requests, ${(total / DURATION_S).toFixed(1)} rps, ${failures} errors (latencies in ms)`,
    );

    console.log('\nRSS of the server (MiB):');
    for (const sample of rss.filter((_, i) => i % 5 === 0)) {
      console.log(`  t=${sample.at.toFixed(0).padStart(4)} s  ${sample.mib.toFixed(1)}`);
    }
    const afterWarmUp = rss.filter((s) => s.at >= WARM_UP_S);
    const window = Math.max(1, Math.round(afterWarmUp.length / 10));
    const baseline = median(afterWarmUp.slice(0, window).map((s) => s.mib));
    const final = median(afterWarmUp.slice(-window).map((s) => s.mib));
    const growth = final / baseline - 1;
    console.log(
      `RSS after warm-up ${baseline.toFixed(1)} MiB, at the end ${final.toFixed(1)} MiB, growth ${(growth * 100).toFixed(1)} % (limit ${MAX_RSS_GROWTH * 100} %)`,
    );
    const met = failures === 0 && growth <= MAX_RSS_GROWTH;
    console.log(`goal 0 errors and RSS growth <= 10 %: ${met ? 'met' : 'NOT met'}`);
    if (!met) process.exitCode = 1;
  } finally {
    await runtime.stop();
    await db.drop();
    await deleteKeys();
  }
}

await main();
