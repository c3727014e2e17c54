/**
 * `npm run bench:dashboard`: seeds 1,000,000 frame rows over 30 days for 100 users into a database
 * of its own (one INSERT ... SELECT over generate_series that also fills the hourly rollups), then
 * measures the three statistics routes through the local runtime's HTTP server and the real Lambda
 * handlers, sequentially, and prints p50/p95 per route and the plans the queries run.
 *
 * One user ("heavy") gets 300,000 of the rows: 10,000 frames a day for 30 days, the design target;
 * the other 99 share the rest (about 7,000 each over the month). Goal: p95 <= 50 ms per route.
 */
import postgres from 'postgres';
import {
  windowLatencyHistogram,
  windowTotals,
} from '../functions/platform/db/dashboard-repository.ts';
import { rollupInserts } from '../test/support/dashboard-seed.ts';
import { createTestDatabase } from '../test/support/test-database.ts';
import { ms, summarise } from './stats.ts';

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

const db = await createTestDatabase({ migrate: true });
const log = (line: string) => process.stdout.write(`${line}\n`);

try {
  log(
    `Seeding ${ROWS.toLocaleString('en')} frames over 30 days for ${USERS} users into ${db.name}...`,
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
  log(
    `Seeded ${seeded?.frames.toLocaleString('en')} frames and their rollups in ${seedS.toFixed(1)} s ` +
      `(one statement); sessions + VACUUM ANALYZE ${((performance.now() - started) / 1000).toFixed(1)} s.`,
  );
  const [sizes] = await db.sql<{ frames: string; hourly: string; latency: string }[]>`
    select pg_size_pretty(pg_total_relation_size('frame_metrics')) as frames,
      pg_size_pretty(pg_total_relation_size('frame_metrics_hourly')) as hourly,
      pg_size_pretty(pg_total_relation_size('frame_latency_hourly')) as latency
  `;
  const [counts] = await db.sql<{ hourly: number; latency: number }[]>`
    select (select count(*)::int from frame_metrics_hourly) as hourly,
      (select count(*)::int from frame_latency_hourly) as latency
  `;
  log(
    `Sizes: frame_metrics ${sizes?.frames}; frame_metrics_hourly ${counts?.hourly} rows, ` +
      `${sizes?.hourly}; frame_latency_hourly ${counts?.latency} rows, ${sizes?.latency}.`,
  );
  const [heavySession] = await db.sql<{ session_id: string }[]>`
    select session_id from sessions where user_id = ${HEAVY} order by last_seen_at desc limit 1
  `;

  const api = await startTestApi({
    DATABASE_URL: db.url,
    REDIS_URL: undefined,
    // The limiter has its own benchmark; here every request reaches the handler.
    RATE_LIMIT_ROUTE_OVERRIDES: '{"*":"exempt"}',
  });
  const cases: [string, string, string][] = [
    [HEAVY, 'summary (hours=24)', '/performance/summary'],
    [HEAVY, 'summary (hours=168)', '/performance/summary?hours=168'],
    [HEAVY, 'bandwidth-savings (days=7)', '/stats/bandwidth-savings'],
    [HEAVY, 'bandwidth-savings (days=90)', '/stats/bandwidth-savings?days=90'],
    [
      HEAVY,
      'bandwidth-savings (days=90, session)',
      `/stats/bandwidth-savings?days=90&session_id=${heavySession?.session_id}`,
    ],
    [HEAVY, 'quality-distribution (days=7)', '/stats/quality-distribution'],
    [HEAVY, 'quality-distribution (days=90)', '/stats/quality-distribution?days=90'],
    [TYPICAL, 'summary (hours=24)', '/performance/summary'],
    [TYPICAL, 'bandwidth-savings (days=7)', '/stats/bandwidth-savings'],
    [TYPICAL, 'quality-distribution (days=7)', '/stats/quality-distribution'],
  ];
  const tokens = new Map([
    [HEAVY, await api.token(HEAVY)],
    [TYPICAL, await api.token(TYPICAL)],
  ]);

  log(
    `\nDashboard routes through the local runtime (HTTP -> Lambda handler -> Postgres), ` +
      `${ITERATIONS} sequential requests each after ${WARMUP} warm-up:`,
  );
  log(
    `${'user'.padEnd(16)}${'route'.padEnd(40)}${'frames'.padStart(9)}${'p50'.padStart(12)}${'p95'.padStart(12)}${'p99'.padStart(12)}  goal`,
  );
  let failed = false;
  for (const [user, label, path] of cases) {
    const samples: number[] = [];
    let frames = 0;
    for (let i = 0; i < WARMUP + ITERATIONS; i++) {
      const begun = performance.now();
      const response = await fetch(`${api.url}/api/v1/aic${path}`, {
        headers: { authorization: `Bearer ${tokens.get(user)}` },
      });
      const body = (await response.json()) as { frames?: number };
      const took = performance.now() - begun;
      if (response.status !== 200) throw new Error(`${path}: ${response.status}`);
      frames = body.frames ?? 0;
      if (i >= WARMUP) samples.push(took);
    }
    const { p50, p95, p99 } = summarise(samples);
    const ok = p95 <= GOAL_P95_MS;
    failed ||= !ok;
    log(
      `${user.padEnd(16)}${label.padEnd(40)}${frames.toLocaleString('en').padStart(9)}${ms(p50).padStart(12)}${ms(p95).padStart(12)}${ms(p99).padStart(12)}  ${ok ? 'ok' : 'MISSED'}`,
    );
  }
  await api.close();

  // The plans: the repository's own statements, captured as sent, then explained.
  const captured: { text: string; params: unknown[] }[] = [];
  const capture = postgres(db.url, {
    max: 1,
    prepare: false,
    onnotice: () => {},
    debug: (_connection, text, params) => captured.push({ text, params }),
  });
  const explain = async (title: string, run: () => Promise<unknown>) => {
    captured.length = 0;
    await run();
    const query = captured.at(-1);
    if (!query) return;
    const plan = await capture.unsafe<{ 'QUERY PLAN': string }[]>(
      `explain (analyze, buffers, costs off) ${query.text}`,
      query.params as never[],
    );
    log(`\n--- ${title} ---\n${plan.map((row) => row['QUERY PLAN']).join('\n')}`);
  };
  log('\nPlans (EXPLAIN ANALYZE, BUFFERS) for the heavy user:');
  await explain('window totals, 7 days (bandwidth-savings, quality-distribution, summary)', () =>
    windowTotals(capture, HEAVY, 7 * 86_400),
  );
  await explain('window totals, 90 days, one session', () =>
    windowTotals(capture, HEAVY, 90 * 86_400, heavySession?.session_id),
  );
  await explain('latency histogram, 168 hours (summary p50/p95)', () =>
    windowLatencyHistogram(capture, HEAVY, 168 * 3600),
  );
  await capture.end();
  if (failed) process.exitCode = 1;
} finally {
  if (process.env.BENCH_DASHBOARD_KEEP_DB)
    log(`\nKept database ${db.name} (BENCH_DASHBOARD_KEEP_DB).`);
  else await db.drop();
}
