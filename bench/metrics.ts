/**
 * `npm run bench:metrics`: answered frames' metrics through the Redis stream and its consumers,
 * end to end, against today's per-frame statement (the baseline, measured in the same run), for
 * many tenants (1,000 users with one session each) and for one tenant with 100 sessions; the
 * latency of a frame's acknowledgement and of its visibility on the dashboard; the profile of each
 * stage and the statement's floor; and a crash test of the consumer (SIGKILL mid-run, then resume
 * and takeover), which must count every frame answered exactly once. Writes
 * docs/benchmarks/metrics.md. Goal: the stream takes >= 20x the baseline's frames/s.
 *
 * Environment: BENCH_METRICS_SECONDS (8: each unpaced stream run), BENCH_METRICS_PRODUCERS (200),
 * BENCH_QUICK=1 (short runs, the page to the temp directory).
 */
import './metrics-env.ts';
import { Redis } from 'ioredis';
import type { Sql } from '../functions/platform/db/database.ts';
import { measureBaseline } from './metrics-baseline.ts';
import { type ServerProcesses, serverProcesses } from './metrics-cpu.ts';
import { crashTest } from './metrics-crash.ts';
import {
  type BenchDatabase,
  createBenchDatabase,
  createShape,
  REDIS_URL,
  redisPrefix,
  type Shape,
} from './metrics-fixture.ts';
import { writeMetricsPage } from './metrics-page.ts';
import {
  measureProducerCeiling,
  measureReadCeiling,
  measureStatementFloor,
  type StatementFloor,
} from './metrics-profile.ts';
import type { MetricsReport, ShapeRun } from './metrics-report.ts';
import { measureStream, type StreamResult } from './metrics-stream.ts';
import { verifyShape } from './metrics-verify.ts';
import { QUICK, startRun } from './report-page.ts';

const SECONDS = Number(process.env.BENCH_METRICS_SECONDS ?? (QUICK ? 3 : 8));
const PRODUCERS = Number(process.env.BENCH_METRICS_PRODUCERS ?? 200);
const BASELINE = { clients: 16, maxFrames: 20_000, maxSeconds: QUICK ? 3 : 10 };
const PACED_FPS = 15;
const FLOOR_FRAMES = QUICK ? 5_000 : 20_000;

const log = (line: string) => process.stderr.write(`[bench:metrics] ${line}\n`);

/** What every phase needs. */
interface Context {
  db: BenchDatabase;
  sql: Sql;
  prefix: string;
  servers: ServerProcesses;
}

/** One shape: the baseline, the stream unpaced in both placements, then paced; then the checks. */
async function measureShape(ctx: Context, shape: Shape): Promise<ShapeRun> {
  log(`${shape.label}: baseline (${BASELINE.clients} clients)`);
  const baseline = await measureBaseline(shape, { sql: ctx.sql, ...BASELINE });
  const streams: StreamResult[] = [];
  const common = { shape, db: ctx.db, prefix: ctx.prefix, servers: ctx.servers, consumers: 2 };
  for (const placement of ['child', 'inline'] as const) {
    log(`${shape.label}: stream, consumers ${placement}, ${PRODUCERS} producers for ${SECONDS} s`);
    streams.push(
      await measureStream({
        ...common,
        placement,
        producers: PRODUCERS,
        seconds: SECONDS,
        fps: undefined,
      }),
    );
  }
  const best = streams.reduce((a, b) => (b.framesPerS > a.framesPerS ? b : a));
  log(`${shape.label}: stream paced at ${PACED_FPS} frames/s per producer`);
  streams.push(
    await measureStream({
      ...common,
      placement: best.settings.placement,
      producers: PRODUCERS,
      seconds: Math.min(SECONDS, 5),
      fps: PACED_FPS,
    }),
  );
  return { shape, baseline, streams, checks: [] };
}

/** The statement alone for one shape: batches of 500 one and two at a time, and of 2,000. */
async function measureFloors(ctx: Context, shape: Shape): Promise<StatementFloor[]> {
  const floors: StatementFloor[] = [];
  const sql = ctx.db.pool(2);
  const settings = [
    { batchSize: 500, concurrency: 1 },
    { batchSize: 500, concurrency: 2 },
    { batchSize: 2000, concurrency: 2 },
  ];
  for (const s of settings) {
    log(`${shape.label}: statement floor, batches of ${s.batchSize}, ${s.concurrency} at a time`);
    const options = { ...s, frames: FLOOR_FRAMES };
    floors.push(await measureStatementFloor(sql, shape, options, ctx.servers));
  }
  return floors;
}

async function measureAll(ctx: Context): Promise<MetricsReport> {
  const shapes = [
    await createShape(ctx.sql, 'many', 'many tenants (1,000 users, a session each)', 1000, 1),
    await createShape(ctx.sql, 'one', 'one tenant (100 sessions)', 1, 100),
  ];
  const runs: ShapeRun[] = [];
  const floors: StatementFloor[] = [];
  for (const shape of shapes) {
    runs.push(await measureShape(ctx, shape));
    // Right after the shape's stream runs: the same tables, the same moment of the machine.
    floors.push(...(await measureFloors(ctx, shape)));
  }
  log('profile: producers alone, then the consumer without the statement');
  const producer = await measureProducerCeiling(
    shapes[0] as Shape,
    ctx.prefix,
    PRODUCERS,
    3,
    ctx.servers,
  );
  const read = await measureReadCeiling(producer.stream);
  for (const run of runs) run.checks = await verifyShape(ctx.sql, run.shape, 1);
  log('crash test');
  const admin = new Redis(REDIS_URL);
  try {
    const crash = await crashTest(ctx.db, ctx.prefix, admin);
    log(`crash test: ${crash.pass ? 'PASS' : 'FAIL'}`);
    const [pg] = await ctx.sql<{ server_version: string }[]>`show server_version`;
    const redisVersion = /redis_version:(\S+)/.exec(await admin.info('server'))?.[1];
    const versions = [`PostgreSQL ${pg?.server_version}`, `Redis ${redisVersion}`];
    return { shapes: runs, producer, read, floors, crash, versions };
  } finally {
    admin.disconnect();
  }
}

const run = startRun();
const db = await createBenchDatabase();
const keys = redisPrefix();
const admin = new Redis(REDIS_URL);
try {
  const sql = db.pool(16);
  const servers = await serverProcesses(admin, sql, db.name);
  const report = await measureAll({ db, sql, prefix: keys.prefix, servers });
  if (!(await writeMetricsPage(run, report))) process.exitCode = 1;
} finally {
  admin.disconnect();
  await db.drop();
  log(`dropped ${db.name}; deleted ${await keys.clean()} Redis keys under ${keys.prefix}`);
}
