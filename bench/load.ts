/**
 * `npm run load`: mixed traffic (compress, network updates and reads, dashboard reads) against the
 * local runtime started the way `npm start` starts it (functions/local/main.ts, its own process, a
 * fresh database on the shared Postgres, the shared Redis under a private prefix), for
 * LOAD_DURATION_S seconds (60). Writes rps, p50/p95/p99 per route, errors, and the server's RSS
 * over time to docs/benchmarks/load.md; exits 1 on any error or when RSS grows more than 10 %
 * after the warm-up.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jwtSettingsFromEnv, signToken } from '../functions/platform/jwt.ts';
import { type AutocannonRequest, autocannon } from '../test/support/autocannon.ts';
import { encodeFrame } from '../test/support/frames.ts';
import { spawnLocalRuntime } from '../test/support/local-runtime-process.ts';
import { deleteKeysWithPrefix } from '../test/support/redis-keys.ts';
import { createTestDatabase } from '../test/support/test-database.ts';
import { count, fixed, pct } from './format.ts';
import { type BenchmarkRun, markdownTable, startRun, writeBenchmarkPage } from './report-page.ts';
import { median, summarise } from './stats.ts';

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

/** What one stream measured. */
interface StreamResult {
  stream: Stream;
  samples: number[];
  statuses: Record<number, number>;
  errors: number;
  timeouts: number;
}

/** Runs one stream for the whole duration with autocannon. */
async function runStream(url: string, stream: Stream): Promise<StreamResult> {
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
  return { stream, samples, statuses, errors: result.errors, timeouts: result.timeouts };
}

/** Failures of a stream: 5xx, 4xx other than a 404 for a session not written yet, errors. */
function failuresOf(r: StreamResult): number {
  const bad = Object.entries(r.statuses)
    .filter(
      ([status]) => Number(status) >= 500 || (Number(status) >= 400 && Number(status) !== 404),
    )
    .reduce((sum, [, seen]) => sum + seen, 0);
  return bad + r.errors + r.timeouts;
}

type RssSample = { at: number; mib: number };

/** Every stream at once against the runtime, its RSS sampled every second meanwhile. */
async function drive(
  runtime: { url: string; child: { pid?: number } },
  env: Record<string, string>,
) {
  const jwt = jwtSettingsFromEnv({ ...process.env, ...env });
  const authorization = await Promise.all(
    Array.from({ length: 8 }, async (_, i) => `Bearer ${await signToken(`load-${i}`, jwt, 7200)}`),
  );
  const frames = await Promise.all(
    [1, 2, 3].map(async (seed) =>
      (await encodeFrame('scene', { width: 640, height: 360, seed, offsetX: seed * 40 })).toString(
        'base64',
      ),
    ),
  );
  const rss: RssSample[] = [];
  const started = performance.now();
  const pid = runtime.child.pid;
  const sampler = setInterval(() => {
    if (pid) rss.push({ at: (performance.now() - started) / 1000, mib: rssMiB(pid) });
  }, RSS_SAMPLE_MS);
  try {
    const results = await Promise.all(
      streams(authorization, frames).map((stream) => runStream(runtime.url, stream)),
    );
    return { results, rss };
  } finally {
    clearInterval(sampler);
  }
}

/** RSS just after the warm-up (the baseline) and at the end: medians of a tenth of the samples. */
function rssGrowth(rss: readonly RssSample[]) {
  const afterWarmUp = rss.filter((s) => s.at >= WARM_UP_S);
  const window = Math.max(1, Math.round(afterWarmUp.length / 10));
  const baseline = median(afterWarmUp.slice(0, window).map((s) => s.mib));
  const final = median(afterWarmUp.slice(-window).map((s) => s.mib));
  return { baseline, final, growth: final / baseline - 1 };
}

function routeRow(r: StreamResult): string[] {
  const latency = summarise(r.samples);
  const statuses = Object.entries(r.statuses)
    .map(([status, seen]) => `${status}: ${count(seen)}`)
    .join(', ');
  return [
    r.stream.name,
    String(r.stream.connections),
    count(latency.n),
    (latency.n / DURATION_S).toFixed(1),
    fixed(latency.p50, 1),
    fixed(latency.p95, 1),
    fixed(latency.p99, 1),
    `${statuses}${r.errors + r.timeouts > 0 ? `; errors ${r.errors}, timeouts ${r.timeouts}` : ''}`,
  ];
}

async function writePage(
  run: BenchmarkRun,
  results: readonly StreamResult[],
  rss: readonly RssSample[],
): Promise<boolean> {
  const failures = results.reduce((sum, r) => sum + failuresOf(r), 0);
  const total = results.reduce((sum, r) => sum + r.samples.length, 0);
  const { baseline, final, growth } = rssGrowth(rss);
  const goals = [
    {
      goal: 'errors (5xx, unexpected 4xx, socket errors, timeouts)',
      measured: count(failures),
      target: '0',
      met: failures === 0,
    },
    {
      goal: 'RSS growth from just after the warm-up to the end',
      measured: pct(growth),
      target: `<= ${pct(MAX_RSS_GROWTH, 0)}`,
      met: growth <= MAX_RSS_GROWTH,
    },
  ];
  const warmed = rss.filter((s) => s.at >= WARM_UP_S).map((s) => s.mib);
  await writeBenchmarkPage(run, {
    name: 'load',
    title: 'Load and soak',
    source: 'bench/load.ts',
    measures: `Mixed traffic (compress, network updates and reads, dashboard reads) from six streams at once against the local runtime started as \`npm start\` starts it, for ${DURATION_S} s: throughput, latency per route, errors, and whether the server's memory keeps growing.`,
    goals,
    baseline: `The server's RSS just after the warm-up (${WARM_UP_S} s), in the same run: ${fixed(baseline, 1)} MiB; at the end ${fixed(final, 1)} MiB, ${fixed(final / baseline, 3)}x the baseline (growth ${pct(growth)}).`,
    results: [
      {
        heading: `Routes (${DURATION_S} s, latencies in ms)`,
        body: [
          ...markdownTable(
            ['route', 'connections', 'requests', 'rps', 'p50', 'p95', 'p99', 'statuses'],
            results.map(routeRow),
          ),
          '',
          `Total ${count(total)} requests, ${(total / DURATION_S).toFixed(1)} rps, ${count(failures)} errors. A 404 of \`GET /sessions/{id}/network\` is a session the update stream had not written yet.`,
        ],
      },
      {
        heading: 'Server memory',
        body: [
          `RSS sampled every ${RSS_SAMPLE_MS / 1000} s: ${fixed(rss[0]?.mib ?? Number.NaN, 1)} MiB at the start, between ${fixed(Math.min(...warmed), 1)} and ${fixed(Math.max(...warmed), 1)} MiB after the warm-up.`,
          '',
          ...markdownTable(
            ['t (s)', 'RSS (MiB)'],
            rss.filter((_, i) => i % 5 === 0).map((s) => [s.at.toFixed(0), fixed(s.mib, 1)]),
          ),
        ],
      },
    ],
    method: `\`bench/load.ts\` starts \`functions/local/main.ts\` in its own process on a fresh database on the shared Postgres and the shared Redis under a private prefix, with rate limits exempted (the load is judged on the handlers, not on the limiter turning it away) and \`DB_POOL_MAX=8\`, then drives six autocannon streams at once, each as fast as its connections allow (640x360 frames for compress, 8 users, 16 sessions). RSS is read from /proc every second; the growth compares the median of the first tenth of the samples after the warm-up with the median of the last tenth. The latencies are those of one process on a shared machine with the load generator, Postgres and Redis, not of Lambda. \`LOAD_DURATION_S\` and \`LOAD_WARM_UP_S\` change the run.`,
  });
  return goals.every((goal) => goal.met);
}

async function main(): Promise<void> {
  const run = startRun();
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
  try {
    process.stderr.write(`[load] ${DURATION_S} s of mixed traffic against ${runtime.url}\n`);
    const { results, rss } = await drive(runtime, env);
    if (!(await writePage(run, results, rss))) process.exitCode = 1;
  } finally {
    await runtime.stop();
    await db.drop();
    await deleteKeysWithPrefix(PREFIX, REDIS_URL);
  }
}

await main();
