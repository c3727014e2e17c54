/**
 * `npm run bench:dashboard`: seeds 1,000,000 frame rows over 30 days for 100 users into a database
 * of its own (one INSERT ... SELECT over generate_series that also fills the hourly rollups), then
 * measures the three statistics routes through the local runtime's HTTP server and the real Lambda
 * handlers, sequentially, against `GET /config` (one indexed row) as the baseline, and writes
 * p50/p95 per route and the plans the queries run to docs/benchmarks/dashboard.md.
 *
 * One user ("heavy") gets 300,000 of the rows: 10,000 frames a day for 30 days, the design target;
 * the other 99 share the rest (about 7,000 each over the month). Goal: p95 <= 50 ms per route.
 */
import postgres, { type Sql } from 'postgres';
import {
  windowLatencyHistogram,
  windowTotals,
} from '../functions/platform/db/dashboard-repository.ts';
import { rollupInserts } from '../test/support/dashboard-seed.ts';
import { createTestDatabase, type TestDatabase } from '../test/support/test-database.ts';
import { count, ms, times } from './format.ts';
import {
  type BenchmarkRun,
  type Goal,
  markdownTable,
  startRun,
  writeBenchmarkPage,
} from './report-page.ts';
import { summarise } from './stats.ts';

const ROWS = Number(process.env.BENCH_DASHBOARD_ROWS ?? 1_000_000);
const HEAVY_ROWS = Math.round(ROWS * 0.3);
const USERS = 100;
const ITERATIONS = Number(process.env.BENCH_ITERATIONS ?? 300);
// Set BENCH_DASHBOARD_KEEP_DB=1 to keep the seeded database for inspection (drop it yourself).
const WARMUP = 30;
const GOAL_P95_MS = 50;

const HEAVY = 'bench-user-000';
const TYPICAL = 'bench-user-042';

// Set before the handlers (and their Powertools singletons) load: request logs would swamp the table.
process.env.POWERTOOLS_LOG_LEVEL = 'WARN';
process.env.POWERTOOLS_METRICS_DISABLED = 'true';
process.env.AWS_EC2_METADATA_DISABLED = 'true';
const { startTestApi } = await import('../test/support/local-api.ts');

/** What seeding produced. */
interface Seeded {
  frames: number;
  seedS: number;
  vacuumS: number;
  sizes: string;
  heavySession: string | undefined;
}

async function seed(db: TestDatabase): Promise<Seeded> {
  process.stderr.write(
    `[bench:dashboard] seeding ${count(ROWS)} frames for ${USERS} users into ${db.name}\n`,
  );
  let started = performance.now();
  // Frames newest first per user; a session per user and 3-hour block; sizes, SSIM and latency
  // drawn at random (1 % without SSIM, 2 % fallbacks).
  const [seeded] = await db.sql<{ frames: number }[]>`
    with generated as (
      select g,
        case when g < ${HEAVY_ROWS} then ${HEAVY}
          else 'bench-user-' || lpad((1 + (g - ${HEAVY_ROWS}) % ${USERS - 1})::text, 3, '0')
        end as user_id,
        now() - interval '30 days' * case when g < ${HEAVY_ROWS} then g::float8 / ${HEAVY_ROWS}
          else (g - ${HEAVY_ROWS})::float8 / ${ROWS - HEAVY_ROWS} end as recorded_at,
        40000 + (random() * 60000)::int as original_bytes,
        random() as r1, random() as r2, random() as r3
      from generate_series(0, ${ROWS - 1}) as g
    ), f as (
      insert into frame_metrics (
        session_id, user_id, recorded_at, frame_number, frame_type, mode, format, quality, width,
        height, original_bytes, compressed_bytes, compression_ratio, ssim, psnr_db, budget_bytes,
        within_budget, encode_attempts, decode_ms, encode_ms, metrics_ms, total_ms, fallback,
        fallback_reason
      )
      select
        -- A UUID v4 (the contract's session ids) from the user and the 3-hour block.
        overlay(overlay(md5(user_id || ':' || floor(extract(epoch from recorded_at) / 10800))
          placing '4' from 13) placing '8' from 17)::uuid, user_id,
        recorded_at, g, 'video', 'adaptive', 'jpeg', 70, 1280, 720, original_bytes,
        (original_bytes * (0.1 + r1 * 0.4))::int, 1 - (0.1 + r1 * 0.4),
        case when r3 < 0.01 then null else 0.75 + r2 * 0.25 end, 38, 20000, r3 < 0.95, 1,
        2, 8 + r2 * 10, 2, 12 + r2 * 25 + r1 * 8, r3 > 0.98,
        case when r3 > 0.98 then 'ssim_below_floor' end
      from generated
      returning user_id, session_id, recorded_at, fallback, within_budget, original_bytes,
        compressed_bytes, ssim, total_ms
    ), ${rollupInserts(db.sql, 'f')}
    select count(*)::int as frames from f
  `;
  const seedS = (performance.now() - started) / 1000;
  started = performance.now();
  await db.sql`
    insert into sessions (session_id, user_id, started_at, last_seen_at)
    select session_id, user_id, min(recorded_at), max(recorded_at)
    from frame_metrics group by session_id, user_id
  `;
  await db.sql`vacuum analyze`;
  const vacuumS = (performance.now() - started) / 1000;
  const [sizes] = await db.sql<{ frames: string; hourly: string; latency: string }[]>`
    select pg_size_pretty(pg_total_relation_size('frame_metrics')) as frames,
      pg_size_pretty(pg_total_relation_size('frame_metrics_hourly')) as hourly,
      pg_size_pretty(pg_total_relation_size('frame_latency_hourly')) as latency
  `;
  const [counts] = await db.sql<{ hourly: number; latency: number }[]>`
    select (select count(*)::int from frame_metrics_hourly) as hourly,
      (select count(*)::int from frame_latency_hourly) as latency
  `;
  const [heavySession] = await db.sql<{ session_id: string }[]>`
    select session_id from sessions where user_id = ${HEAVY} order by last_seen_at desc limit 1
  `;
  return {
    frames: seeded?.frames ?? 0,
    seedS,
    vacuumS,
    sizes: `frame_metrics ${sizes?.frames}; frame_metrics_hourly ${count(counts?.hourly ?? 0)} rows, ${sizes?.hourly}; frame_latency_hourly ${count(counts?.latency ?? 0)} rows, ${sizes?.latency}`,
    heavySession: heavySession?.session_id,
  };
}

/** One measured route: who asks, what, and the client-side latencies. */
interface RouteResult {
  user: string;
  label: string;
  frames: number | undefined;
  latency: ReturnType<typeof summarise>;
}

function routeCases(heavySession: string | undefined): [string, string, string][] {
  return [
    [HEAVY, 'config (baseline)', '/config'],
    [HEAVY, 'summary (hours=24)', '/performance/summary'],
    [HEAVY, 'summary (hours=168)', '/performance/summary?hours=168'],
    [HEAVY, 'bandwidth-savings (days=7)', '/stats/bandwidth-savings'],
    [HEAVY, 'bandwidth-savings (days=90)', '/stats/bandwidth-savings?days=90'],
    [
      HEAVY,
      'bandwidth-savings (days=90, session)',
      `/stats/bandwidth-savings?days=90&session_id=${heavySession}`,
    ],
    [HEAVY, 'quality-distribution (days=7)', '/stats/quality-distribution'],
    [HEAVY, 'quality-distribution (days=90)', '/stats/quality-distribution?days=90'],
    [TYPICAL, 'summary (hours=24)', '/performance/summary'],
    [TYPICAL, 'bandwidth-savings (days=7)', '/stats/bandwidth-savings'],
    [TYPICAL, 'quality-distribution (days=7)', '/stats/quality-distribution'],
  ];
}

/** Each route, sequentially, through the local runtime and the real handlers. */
async function measureRoutes(db: TestDatabase, heavySession: string | undefined) {
  const api = await startTestApi({
    DATABASE_URL: db.url,
    REDIS_URL: undefined,
    // The limiter has its own benchmark; here every request reaches the handler.
    RATE_LIMIT_ROUTE_OVERRIDES: '{"*":"exempt"}',
  });
  const tokens = new Map([
    [HEAVY, await api.token(HEAVY)],
    [TYPICAL, await api.token(TYPICAL)],
  ]);
  const results: RouteResult[] = [];
  try {
    for (const [user, label, path] of routeCases(heavySession)) {
      const samples: number[] = [];
      let frames: number | undefined;
      for (let i = 0; i < WARMUP + ITERATIONS; i++) {
        const begun = performance.now();
        const response = await fetch(`${api.url}/api/v1/aic${path}`, {
          headers: { authorization: `Bearer ${tokens.get(user)}` },
        });
        const body = (await response.json()) as { frames?: number };
        const took = performance.now() - begun;
        if (response.status !== 200) throw new Error(`${path}: ${response.status}`);
        frames = body.frames;
        if (i >= WARMUP) samples.push(took);
      }
      results.push({ user, label, frames, latency: summarise(samples) });
    }
  } finally {
    await api.close();
  }
  return results;
}

/** The plans of the repository's own statements, captured as sent, then explained. */
async function explainPlans(db: TestDatabase, heavySession: string | undefined): Promise<string[]> {
  const captured: { text: string; params: unknown[] }[] = [];
  const capture = postgres(db.url, {
    max: 1,
    prepare: false,
    onnotice: () => {},
    debug: (_connection, text, params) => captured.push({ text, params }),
  });
  const lines: string[] = [];
  const explain = async (title: string, run: (sql: Sql) => Promise<unknown>) => {
    captured.length = 0;
    await run(capture);
    const query = captured.at(-1);
    if (!query) return;
    const plan = await capture.unsafe<{ 'QUERY PLAN': string }[]>(
      `explain (analyze, buffers, costs off) ${query.text}`,
      query.params as never[],
    );
    lines.push(`--- ${title} ---`, ...plan.map((row) => row['QUERY PLAN']), '');
  };
  try {
    await explain(
      'window totals, 7 days (bandwidth-savings, quality-distribution, summary)',
      (sql) => windowTotals(sql, HEAVY, 7 * 86_400),
    );
    await explain('window totals, 90 days, one session', (sql) =>
      windowTotals(sql, HEAVY, 90 * 86_400, heavySession),
    );
    await explain('latency histogram, 168 hours (summary p50/p95)', (sql) =>
      windowLatencyHistogram(sql, HEAVY, 168 * 3600),
    );
  } finally {
    await capture.end();
  }
  return lines;
}

function goalsOf(routes: readonly RouteResult[]): Goal[] {
  const statistics = routes.filter((r) => !r.label.includes('baseline'));
  const worst = statistics.reduce((a, b) => (b.latency.p95 > a.latency.p95 ? b : a));
  return [
    {
      goal: 'p95 of every statistics route, the slowest',
      measured: `${ms(worst.latency.p95, 1)} (${worst.user}, ${worst.label})`,
      target: `<= ${GOAL_P95_MS} ms`,
      met: statistics.every((r) => r.latency.p95 <= GOAL_P95_MS),
    },
  ];
}

async function writePage(
  run: BenchmarkRun,
  seeded: Seeded,
  routes: readonly RouteResult[],
  plans: readonly string[],
  postgresVersion: string,
): Promise<boolean> {
  const goals = goalsOf(routes);
  const base = routes[0] as RouteResult;
  const heavy = routes.filter((r) => r.user === HEAVY && r !== base);
  const ratios = heavy.map((r) => r.latency.p95 / base.latency.p95);
  const rows = routes.map((r) => [
    r.user,
    r.label,
    r.frames === undefined ? '-' : count(r.frames),
    ms(r.latency.p50, 1),
    ms(r.latency.p95, 1),
    ms(r.latency.p99, 1),
    r === base ? '-' : times(r.latency.p95 / base.latency.p95, 1),
  ]);
  await writeBenchmarkPage(run, {
    name: 'dashboard',
    title: 'Dashboard statistics',
    source: 'bench/dashboard.ts',
    measures: `The dashboard's statistics routes (\`/performance/summary\`, \`/stats/bandwidth-savings\`, \`/stats/quality-distribution\`) over ${count(ROWS)} stored frames, for a user with 10,000 frames a day over 30 days (the design target) and for a typical one.`,
    machine: [postgresVersion],
    goals,
    baseline: `\`GET /config\` for the same heavy user through the same runtime in the same run: one indexed row, the least an authenticated route that reads Postgres costs here; p50 ${ms(base.latency.p50, 1)}, p95 ${ms(base.latency.p95, 1)}. The heavy user's statistics routes take ${times(Math.min(...ratios), 1)} to ${times(Math.max(...ratios), 1)} its p95.`,
    results: [
      {
        heading: 'Seed',
        body: [
          `${count(seeded.frames)} frames and their rollups in ${seeded.seedS.toFixed(1)} s (one statement); sessions and \`VACUUM ANALYZE\` ${seeded.vacuumS.toFixed(1)} s. Sizes: ${seeded.sizes}.`,
        ],
      },
      {
        heading: `Routes (${count(ITERATIONS)} sequential requests each after ${WARMUP} warm-up)`,
        body: markdownTable(
          ['user', 'route', 'frames', 'p50', 'p95', 'p99', 'p95 / baseline'],
          rows,
        ),
      },
      {
        heading: 'Plans (`EXPLAIN (ANALYZE, BUFFERS)`, heavy user)',
        body: ['```', ...plans, '```'],
      },
    ],
    method: `The benchmark creates its own database and seeds ${count(ROWS)} frame rows over 30 days for ${USERS} users with one \`INSERT ... SELECT\` over \`generate_series\` that also fills both hourly rollups (CTEs, \`test/support/dashboard-seed.ts\`): \`${HEAVY}\` holds ${count(HEAVY_ROWS)} of them, 10,000 frames a day; the other ${USERS - 1} share the rest. Then it calls each route ${count(ITERATIONS)} times, one request after the other, through the local runtime's HTTP server and the real Lambda handlers (rate limiting exempted: it has its own benchmark), and explains the repository's own statements as they were sent. \`BENCH_DASHBOARD_KEEP_DB=1\` keeps the seeded database for inspection.`,
  });
  return goals.every((g) => g.met);
}

const run = startRun();
const db = await createTestDatabase({ migrate: true });
try {
  const seeded = await seed(db);
  const [version] = await db.sql<{ server_version: string }[]>`show server_version`;
  const routes = await measureRoutes(db, seeded.heavySession);
  const plans = await explainPlans(db, seeded.heavySession);
  const postgresVersion = `PostgreSQL ${version?.server_version ?? 'unknown'}`;
  if (!(await writePage(run, seeded, routes, plans, postgresVersion))) process.exitCode = 1;
} finally {
  if (process.env.BENCH_DASHBOARD_KEEP_DB) {
    process.stderr.write(`Kept database ${db.name} (BENCH_DASHBOARD_KEEP_DB).\n`);
  } else await db.drop();
}
