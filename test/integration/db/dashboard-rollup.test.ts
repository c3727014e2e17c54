import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SSIM_BANDS } from '../../../functions/core/contracts/dashboard.ts';
import {
  LATENCY_HISTOGRAM,
  latencyBucket,
} from '../../../functions/core/dashboard/latency-histogram.ts';
import {
  windowLatencyHistogram,
  windowTotals,
} from '../../../functions/platform/db/dashboard-repository.ts';
import type { Sql } from '../../../functions/platform/db/database.ts';
import type { FrameMetricRecord } from '../../../functions/platform/db/frame-metrics-repository.ts';
import { migrate } from '../../../functions/platform/db/migrate.ts';
import { MIGRATIONS } from '../../../functions/platform/db/migrations/index.ts';
import { insertFrames, rebuildRollups, type SeedFrame } from '../../support/dashboard-seed.ts';
import { recordFrame } from '../../support/frame-store.ts';
import { createTestDatabase, type TestDatabase } from '../../support/test-database.ts';

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase({ migrate: true });
});

afterAll(async () => {
  await db?.drop();
});

/**
 * Frame `i`: every status (a fallback every 7th, else dropped every 5th, else unchanged every
 * 6th), band and budget case. An unchanged frame sends nothing and has the SSIM of the viewer's
 * image.
 */
function frame(userId: string, sessionId: string, i: number): FrameMetricRecord {
  const status =
    i % 7 === 0 ? 'fallback' : i % 5 === 4 ? 'dropped' : i % 6 === 5 ? 'unchanged' : 'success';
  const dropped = status === 'dropped';
  const nothingSent = dropped || status === 'unchanged';
  return {
    sessionId,
    userId,
    frameNumber: i,
    frameType: 'video',
    mode: 'adaptive',
    format: 'jpeg',
    quality: 70,
    width: 640,
    height: 360,
    originalBytes: 50_000 + i * 37,
    compressedBytes: nothingSent ? 0 : 9_000 + ((i * 131) % 7_000),
    compressionRatio: 0.8,
    // Every band, the exact band edges, and frames without SSIM.
    ssim:
      i % 9 === 0 || dropped
        ? null
        : ([0.95, 0.9, 0.8, 0.7999, 0.97, 0.93, 0.85, 0.5][i % 8] ?? null),
    psnrDb: 40,
    budgetBytes: 20_000,
    withinBudget: nothingSent || i % 3 !== 0,
    encodeAttempts: 1,
    decodeMs: 1,
    encodeMs: 5,
    metricsMs: 1,
    totalMs: 0.05 + i * 1.7,
    fallback: status === 'fallback',
    fallbackReason: status === 'fallback' ? 'ssim_below_floor' : null,
    status,
    dropReason: dropped ? 'no_candidate_fits' : null,
  };
}

type Row = Record<string, unknown>;

async function rollupSnapshot(
  userId: string,
): Promise<{ hourly: Row[]; userHourly: Row[]; latency: Row[] }> {
  const hourly = await db.sql<Row[]>`
    select * from frame_metrics_hourly where user_id = ${userId} order by hour, session_id
  `;
  const userHourly = await db.sql<Row[]>`
    select * from frame_metrics_user_hourly where user_id = ${userId} order by hour
  `;
  const latency = await db.sql<Row[]>`
    select * from frame_latency_hourly where user_id = ${userId} order by hour, bucket
  `;
  const round = (rows: Row[]) =>
    rows.map((row) =>
      Object.fromEntries(
        Object.entries(row).map(([k, v]) => [k, typeof v === 'number' ? Number(v.toFixed(6)) : v]),
      ),
    );
  return { hourly: round(hourly), userHourly: round(userHourly), latency: round(latency) };
}

describe('the hourly rollups', () => {
  it('are kept equal to an aggregate of the stored frames by recordFrame', async () => {
    const userId = `rollup-${randomUUID()}`;
    const sessions = [randomUUID(), randomUUID()];
    await Promise.all(
      Array.from({ length: 120 }, (_, i) =>
        recordFrame(db.sql, frame(userId, sessions[i % 2] as string, i)),
      ),
    );
    const maintained = await rollupSnapshot(userId);
    expect(maintained.hourly.reduce((sum, row) => sum + Number(row.frames), 0)).toBe(120);
    expect(maintained.userHourly.reduce((sum, row) => sum + Number(row.frames), 0)).toBe(120);
    const dropped = Array.from({ length: 120 }, (_, i) => frame(userId, '', i)).filter(
      (f) => f.status === 'dropped',
    ).length;
    expect(dropped).toBeGreaterThan(0);
    expect(maintained.userHourly.reduce((sum, row) => sum + Number(row.dropped), 0)).toBe(dropped);
    const unchanged = Array.from({ length: 120 }, (_, i) => frame(userId, '', i)).filter(
      (f) => f.status === 'unchanged',
    ).length;
    expect(unchanged).toBeGreaterThan(0);
    for (const rows of [maintained.hourly, maintained.userHourly]) {
      expect(rows.reduce((sum, row) => sum + Number(row.unchanged), 0)).toBe(unchanged);
    }
    await rebuildRollups(db.sql);
    expect(await rollupSnapshot(userId)).toEqual(maintained);
  });

  it('gives another tenant that uses the same session id rollups of its own and leaves the first tenant’s as they were', async () => {
    const sessionId = randomUUID();
    const [first, second] = [`owner-${randomUUID()}`, `other-${randomUUID()}`];
    expect(await recordFrame(db.sql, frame(first, sessionId, 1))).toBe(true);
    const before = await rollupSnapshot(first);
    // The same frame number in the same session id is the other tenant's own frame, not a repeat.
    expect(await recordFrame(db.sql, frame(second, sessionId, 1))).toBe(true);
    expect(await recordFrame(db.sql, frame(second, sessionId, 2))).toBe(true);
    expect(await rollupSnapshot(first)).toEqual(before);
    const [row] = await db.sql<{ hourly: number; user_hourly: number; latency: number }[]>`
      select (select sum(frames)::int from frame_metrics_hourly
          where user_id = ${second} and session_id = ${sessionId}) as hourly,
        (select sum(frames)::int from frame_metrics_user_hourly where user_id = ${second})
          as user_hourly,
        (select sum(frames)::int from frame_latency_hourly where user_id = ${second}) as latency
    `;
    expect(row).toEqual({ hourly: 2, user_hourly: 2, latency: 2 });
    const after = await rollupSnapshot(second);
    await rebuildRollups(db.sql);
    expect(await rollupSnapshot(first)).toEqual(before);
    expect(await rollupSnapshot(second)).toEqual(after);
  });

  it('put latencies in the same bucket in SQL as in core', async () => {
    const values = [
      0,
      0.0999,
      0.1,
      0.1051,
      1,
      7.3,
      19.999,
      20,
      250,
      25_000,
      1e6,
      ...fc.sample(fc.double({ min: 0, max: 100_000, noNaN: true }), 300),
    ];
    const rows = await db.sql<{ ms: number; bucket: number }[]>`
      select ms, aic_latency_bucket(ms)::int as bucket
      from unnest(${db.sql.array(values)}::float8[]) as ms
    `;
    for (const { ms, bucket } of rows) {
      const boundary =
        Math.log(ms / LATENCY_HISTOGRAM.floorMs) / Math.log(LATENCY_HISTOGRAM.growth);
      // Exactly on a bucket edge the two logarithms may round apart by one ulp; nowhere else.
      if (Math.abs(boundary - Math.round(boundary)) < 1e-9) continue;
      expect(bucket, `${ms} ms`).toBe(latencyBucket(ms));
    }
  });

  it('put frames in the SSIM bands of the contract, edges included', async () => {
    const userId = `bands-${randomUUID()}`;
    const sessionId = randomUUID();
    const values = [1, 0.95, 0.9499, 0.9, 0.8999, 0.8, 0.7999, 0.2, null];
    await Promise.all(
      values.map((ssim, i) => recordFrame(db.sql, { ...frame(userId, sessionId, i), ssim })),
    );
    const bandOf = (ssim: number) =>
      SSIM_BANDS.find((band) => band.min_ssim === null || ssim >= band.min_ssim)?.band;
    const expected = { excellent: 0, good: 0, fair: 0, poor: 0 };
    for (const ssim of values) if (ssim !== null) expected[bandOf(ssim) ?? 'poor']++;
    const totals = await windowTotals(db.sql, userId, 3600);
    expect(
      Object.fromEntries(Object.entries(totals.bands).map(([band, v]) => [band, v.frames])),
    ).toEqual(expected);
    expect(totals.ssimFrames).toBe(values.length - 1);
  });
});

describe('window totals', () => {
  const HOUR = 3_600_000;

  async function seedHistory(userId: string, sessionId: string, now: number) {
    const frames: SeedFrame[] = [];
    // Frames every 7 minutes over 3 days, then a few in the current hour.
    for (let t = now - 72 * HOUR; t <= now - 60_000; t += 7 * 60_000) {
      const i = frames.length;
      // Some dropped and unchanged frames among rows without a status (stored before migration
      // 0008).
      const dropped = i % 19 === 3 && i % 17 !== 0;
      const unchanged = i % 23 === 5 && i % 17 !== 0;
      frames.push({
        userId,
        sessionId,
        recordedAt: new Date(t),
        originalBytes: 40_000 + (i % 13) * 1000,
        compressedBytes: dropped || unchanged ? 0 : 8_000 + (i % 5) * 500,
        ssim: i % 11 === 0 || dropped ? null : 0.75 + (i % 25) / 100,
        totalMs: 2 + (i % 40),
        fallback: i % 17 === 0,
        ...(dropped ? { status: 'dropped' as const, dropReason: 'no_candidate_fits' } : {}),
        ...(unchanged ? { status: 'unchanged' as const } : {}),
      });
    }
    await insertFrames(db.sql, frames);
    await rebuildRollups(db.sql);
    return frames;
  }

  it('equal a count over the raw frames for windows that cut through hours', async () => {
    const userId = `window-${randomUUID()}`;
    const sessionId = randomUUID();
    const [{ now } = { now: new Date() }] = await db.sql<{ now: Date }[]>`select now()`;
    const frames = await seedHistory(userId, sessionId, now.getTime());
    for (const hours of [1, 2, 5, 24, 47, 168]) {
      const totals = await windowTotals(db.sql, userId, hours * 3600);
      const since = totals.from.getTime();
      const inside = frames.filter((f) => f.recordedAt.getTime() >= since);
      expect(totals.frames, `${hours} h`).toBe(inside.length);
      expect(totals.bytesIn).toBe(inside.reduce((s, f) => s + f.originalBytes, 0));
      expect(totals.bytesOut).toBe(inside.reduce((s, f) => s + f.compressedBytes, 0));
      expect(totals.fallbacks).toBe(inside.filter((f) => f.fallback).length);
      expect(totals.dropped).toBe(inside.filter((f) => f.status === 'dropped').length);
      expect(totals.unchanged).toBe(inside.filter((f) => f.status === 'unchanged').length);
      expect(totals.ssimFrames).toBe(inside.filter((f) => f.ssim !== null).length);
      expect(totals.latencyMsSum).toBeCloseTo(
        inside.reduce((s, f) => s + f.totalMs, 0),
        6,
      );
      const poor = inside.filter((f) => f.ssim !== null && f.ssim < 0.8);
      expect(totals.bands.poor.frames).toBe(poor.length);
      const histogram = await windowLatencyHistogram(db.sql, userId, hours * 3600);
      expect(histogram.reduce((s, bin) => s + bin.frames, 0)).toBe(inside.length);
    }
  });

  it('count only the given session when one is named', async () => {
    const userId = `session-${randomUUID()}`;
    const [a, b] = [randomUUID(), randomUUID()];
    const now = Date.now();
    await insertFrames(db.sql, [
      {
        userId,
        sessionId: a,
        recordedAt: new Date(now - 3 * HOUR),
        originalBytes: 100,
        compressedBytes: 40,
        ssim: 0.9,
        totalMs: 3,
      },
      {
        userId,
        sessionId: b,
        recordedAt: new Date(now - 3 * HOUR),
        originalBytes: 1000,
        compressedBytes: 10,
        ssim: 0.9,
        totalMs: 3,
      },
      {
        userId,
        sessionId: a,
        recordedAt: new Date(now - 60_000),
        originalBytes: 200,
        compressedBytes: 50,
        ssim: 0.9,
        totalMs: 3,
      },
    ]);
    await rebuildRollups(db.sql);
    const totals = await windowTotals(db.sql, userId, 86_400, a);
    expect({ frames: totals.frames, bytesIn: totals.bytesIn, bytesOut: totals.bytesOut }).toEqual({
      frames: 2,
      bytesIn: 300,
      bytesOut: 90,
    });
  });
});

describe('migration 0002', () => {
  it('rolls up the frames stored before it', async () => {
    const fresh = await createTestDatabase();
    try {
      const [initial] = MIGRATIONS;
      await migrate(fresh.sql, { migrations: initial ? [initial] : [] });
      const sessionId = randomUUID();
      await fresh.sql`insert into sessions (session_id, user_id) values (${sessionId}, 'early')`;
      await fresh.sql`
        insert into frame_metrics (session_id, user_id, mode, format, width, height,
          original_bytes, compressed_bytes, compression_ratio, ssim, budget_bytes, within_budget,
          decode_ms, encode_ms, metrics_ms, total_ms)
        select ${sessionId}, 'early', 'adaptive', 'jpeg', 640, 360, 1000, 250, 0.75, 0.96, 500,
          true, 1, 1, 1, 12
        from generate_series(1, 5)
      `;
      await migrate(fresh.sql);
      const [row] = await fresh.sql<{ frames: number; bytes_in: number; excellent: number }[]>`
        select frames, bytes_in, excellent_frames as excellent from frame_metrics_hourly
        where user_id = 'early'
      `;
      expect(row).toEqual({ frames: 5, bytes_in: 5000, excellent: 5 });
      const [latency] = await fresh.sql<{ bucket: number; frames: number }[]>`
        select bucket, frames from frame_latency_hourly where user_id = 'early'
      `;
      expect(latency).toEqual({ bucket: latencyBucket(12), frames: 5 });
    } finally {
      await fresh.drop();
    }
  });
});

describe('the 90-day windows of a user with many sessions', () => {
  const NINETY_DAYS_S = 90 * 86_400;
  const HOURS = 48;
  const userId = `many-${randomUUID()}`;
  const sessions = Array.from({ length: 200 }, () => randomUUID());
  let own: TestDatabase;

  const children = (node: Record<string, unknown>) =>
    (node.Plans as Record<string, unknown>[] | undefined) ?? [];

  /** Every scan of a table in the plan of `statement`, with the rows it read. */
  async function scans(statement: { query: string; parameters: unknown[] }) {
    const [row] = await own.sql.unsafe(
      `explain (analyze, format json) ${statement.query}`,
      statement.parameters as never[],
    );
    const found: { relation: string; index: unknown; read: number }[] = [];
    const walk = (node: Record<string, unknown>) => {
      if (typeof node['Relation Name'] === 'string') {
        const rows = Number(node['Actual Rows'] ?? 0) * Number(node['Actual Loops'] ?? 1);
        const removed =
          Number(node['Rows Removed by Filter'] ?? 0) +
          Number(node['Rows Removed by Index Recheck'] ?? 0);
        // A bitmap heap scan names its index on its child, the bitmap index scan.
        const index = [node, ...children(node)].find((n) => n['Index Name'])?.['Index Name'];
        found.push({ relation: node['Relation Name'], index, read: rows + removed });
      }
      for (const child of children(node)) walk(child);
    };
    const [plan] = (row?.['QUERY PLAN'] ?? []) as { Plan: Record<string, unknown> }[];
    walk(plan?.Plan ?? {});
    return found;
  }

  /** The statements `work` sends, as postgres.js sends them. */
  async function statementsOf(work: (sql: Sql) => Promise<unknown>) {
    const sent: { query: string; parameters: unknown[] }[] = [];
    const spy = postgres(own.url, {
      max: 1,
      fetch_types: false,
      onnotice: () => {},
      debug: (_connection, query, parameters) => sent.push({ query, parameters }),
    });
    try {
      await work(spy);
    } finally {
      await spy.end();
    }
    return sent;
  }

  beforeAll(async () => {
    own = await createTestDatabase({ migrate: true });
    // 200 sessions with frames in each of the last 48 whole hours, beside other users' hours: the
    // per-session rollup holds 9,600 rows of this user, the per-user rollup 48.
    await own.sql`
      insert into frame_metrics_hourly
      select ${userId}, aic_hour(now()) - h * interval '1 hour', s.id, 2, 0, 2, 1000, 100, 2,
        1.9, 10, 2, 1.9, 0, 0, 0, 0, 0, 0
      from generate_series(1, ${HOURS}) as h, unnest(${sessions}::uuid[]) as s (id)
    `;
    await own.sql`
      insert into frame_metrics_hourly
      select 'other-' || (g % 50), aic_hour(now()) - (g % 2000) * interval '1 hour',
        gen_random_uuid(), 1, 0, 1, 1000, 100, 1, 0.9, 10, 0, 0, 1, 0.9, 0, 0, 0, 0
      from generate_series(1, 20000) as g
    `;
    await own.sql`
      insert into frame_metrics_user_hourly
      select user_id, hour, sum(frames), sum(fallbacks), sum(within_budget), sum(bytes_in),
        sum(bytes_out), sum(ssim_frames), sum(ssim_sum), sum(latency_ms_sum),
        sum(excellent_frames), sum(excellent_ssim_sum), sum(good_frames), sum(good_ssim_sum),
        sum(fair_frames), sum(fair_ssim_sum), sum(poor_frames), sum(poor_ssim_sum)
      from frame_metrics_hourly group by user_id, hour
    `;
    await own.sql`analyze`;
  });

  afterAll(async () => {
    await own?.drop();
  });

  it('count every session`s frames from one rollup row per hour', async () => {
    const totals = await windowTotals(own.sql, userId, NINETY_DAYS_S);
    expect(totals.frames).toBe(sessions.length * HOURS * 2);
    expect(totals.bands.excellent.frames).toBe(sessions.length * HOURS * 2);
    const one = await windowTotals(own.sql, userId, NINETY_DAYS_S, sessions[7]);
    expect(one.frames).toBe(HOURS * 2);
  });

  it('read at most one rollup row per hour, never the per-session rows, without a filter', async () => {
    const [statement] = await statementsOf((sql) => windowTotals(sql, userId, NINETY_DAYS_S));
    const read = await scans(statement as { query: string; parameters: unknown[] });
    expect(read.map((scan) => scan.relation)).not.toContain('frame_metrics_hourly');
    const rollup = read.filter((scan) => scan.relation === 'frame_metrics_user_hourly');
    expect(rollup).toHaveLength(1);
    expect(rollup[0]?.read).toBeLessThanOrEqual(HOURS);
  });

  it('read only the named session`s hours through its index with a session filter', async () => {
    const [statement] = await statementsOf((sql) =>
      windowTotals(sql, userId, NINETY_DAYS_S, sessions[3]),
    );
    const read = await scans(statement as { query: string; parameters: unknown[] });
    expect(read.map((scan) => scan.relation)).not.toContain('frame_metrics_user_hourly');
    const rollup = read.filter((scan) => scan.relation === 'frame_metrics_hourly');
    expect(rollup).toEqual([
      {
        relation: 'frame_metrics_hourly',
        index: 'frame_metrics_hourly_session_hour_idx',
        read: HOURS,
      },
    ]);
  });
});

describe('migration 0003', () => {
  it('rolls up the hours per user and counts the sessions started today', async () => {
    // Frames stored before 0002: 0002 rolls them up per session, 0003 per user.
    const fresh = await createTestDatabase();
    try {
      await migrate(fresh.sql, { migrations: MIGRATIONS.slice(0, 1) });
      const [today, yesterday] = [randomUUID(), randomUUID()];
      await fresh.sql`
        insert into sessions (session_id, user_id, started_at)
        values (${today}, 'early', now()), (${yesterday}, 'early', now() - interval '2 days')
      `;
      await fresh.sql`
        insert into frame_metrics (session_id, user_id, recorded_at, mode, format, width, height,
          original_bytes, compressed_bytes, compression_ratio, ssim, budget_bytes, within_budget,
          decode_ms, encode_ms, metrics_ms, total_ms)
        select s, 'early', now() - interval '3 hours', 'adaptive', 'jpeg', 640, 360, 1000, 250,
          0.75, 0.96, 500, true, 1, 1, 1, 12
        from unnest(array[${today}, ${yesterday}]::uuid[]) as s, generate_series(1, 3)
      `;
      await migrate(fresh.sql);
      const [hour] = await fresh.sql<{ frames: number; bytes_in: number }[]>`
        select frames, bytes_in from frame_metrics_user_hourly where user_id = 'early'
      `;
      expect(hour).toEqual({ frames: 6, bytes_in: 6000 });
      const [quota] = await fresh.sql<{ sessions: number; today: boolean }[]>`
        select sessions, day = aic_utc_day(now()) as today from session_quotas
        where user_id = 'early'
      `;
      expect(quota).toEqual({ sessions: 1, today: true });
    } finally {
      await fresh.drop();
    }
  });
});
