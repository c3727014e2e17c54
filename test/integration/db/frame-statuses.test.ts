import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FrameEvent } from '../../../functions/core/contracts/frame-event.ts';
import { getConfig } from '../../../functions/platform/db/config-repository.ts';
import {
  recentFrameMetrics,
  windowTotals,
} from '../../../functions/platform/db/dashboard-repository.ts';
import {
  applyFrameEvents,
  type FrameMetricRecord,
} from '../../../functions/platform/db/frame-metrics-repository.ts';
import { migrate } from '../../../functions/platform/db/migrate.ts';
import { MIGRATIONS } from '../../../functions/platform/db/migrations/index.ts';
import { claimSession, sessionTotals } from '../../../functions/platform/db/session-repository.ts';
import { toFrameEvent } from '../../../functions/platform/metrics/frame-event-of.ts';
import { insertFrames, rebuildRollups } from '../../support/dashboard-seed.ts';
import { recordFrame, sampleFrameRecord } from '../../support/frame-store.ts';
import { createTestDatabase, type TestDatabase } from '../../support/test-database.ts';

/**
 * Frame statuses in storage (migrations 0008 and 0009): a dropped frame is stored with its status
 * and reason and counted as a frame with no bytes out, an unchanged frame likewise with the SSIM
 * of the viewer's image, and frames without a status (stored before 0008, or sent by a producer
 * from before it) read as what their `fallback` says.
 */

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase({ migrate: true });
});

afterAll(async () => {
  await db?.drop();
});

/** A sent frame of 640x360: a success, or with `fallback` the original. */
const sentFrame = (userId: string, sessionId: string, frameNumber: number, fallback = false) =>
  sampleFrameRecord(userId, sessionId, {
    frameNumber,
    quality: fallback ? null : 70,
    originalBytes: 40_000,
    compressedBytes: fallback ? 40_000 : 6_000,
    compressionRatio: fallback ? 0 : 0.85,
    ssim: fallback ? 1 : 0.93,
    psnrDb: fallback ? null : 37,
    budgetBytes: 8_000,
    withinBudget: !fallback,
    encodeAttempts: 2,
    decodeMs: 1,
    encodeMs: 4,
    metricsMs: 1,
    totalMs: 7,
    fallback,
    fallbackReason: fallback ? 'quality_floor_unreachable' : null,
    status: fallback ? 'fallback' : 'success',
  });

/** A dropped frame: nothing sent, as the service records one. */
const droppedFrame = (userId: string, sessionId: string, frameNumber: number) => ({
  ...sentFrame(userId, sessionId, frameNumber),
  quality: null,
  compressedBytes: 0,
  compressionRatio: 1,
  ssim: null,
  psnrDb: null,
  withinBudget: true,
  status: 'dropped' as const,
  dropReason: 'no_candidate_fits',
});

/** An unchanged frame: nothing sent, the viewer's image good enough, as the service records one. */
const unchangedFrame = (userId: string, sessionId: string, frameNumber: number) => ({
  ...sentFrame(userId, sessionId, frameNumber),
  quality: null,
  compressedBytes: 0,
  compressionRatio: 1,
  ssim: 0.995,
  psnrDb: 47.5,
  withinBudget: true,
  encodeAttempts: 0,
  status: 'unchanged' as const,
});

/** The session's totals and the rollups' counts of `userId`. */
async function counted(userId: string, sessionId: string) {
  const [row] = await db.sql<
    {
      frames: number;
      dropped: number;
      unchanged: number;
      bytes_out: number;
      user_frames: number;
      user_dropped: number;
      user_unchanged: number;
    }[]
  >`
    select sum(h.frames)::int as frames, sum(h.dropped)::int as dropped,
      sum(h.unchanged)::int as unchanged, sum(h.bytes_out)::int as bytes_out,
      (select sum(frames)::int from frame_metrics_user_hourly where user_id = ${userId})
        as user_frames,
      (select sum(dropped)::int from frame_metrics_user_hourly where user_id = ${userId})
        as user_dropped,
      (select sum(unchanged)::int from frame_metrics_user_hourly where user_id = ${userId})
        as user_unchanged
    from frame_metrics_hourly h
    where h.user_id = ${userId} and h.session_id = ${sessionId}
  `;
  const totals = await sessionTotals(db.sql, sessionId, userId);
  return {
    rollup: row,
    session: totals && {
      frames: totals.frames,
      dropped: totals.dropped,
      unchanged: totals.unchanged,
    },
  };
}

describe('a dropped frame', () => {
  it('is stored with its status and reason, and counted as a frame with no bytes out', async () => {
    const userId = `drop-${randomUUID()}`;
    const sessionId = randomUUID();
    expect(await recordFrame(db.sql, sentFrame(userId, sessionId, 0))).toBe(true);
    expect(await recordFrame(db.sql, droppedFrame(userId, sessionId, 1))).toBe(true);
    expect(await recordFrame(db.sql, sentFrame(userId, sessionId, 2, true))).toBe(true);

    const [fallback, dropped, success] = await recentFrameMetrics(db.sql, userId, { limit: 10 });
    expect(success).toMatchObject({ frame_number: 0, status: 'success', drop_reason: null });
    expect(dropped).toMatchObject({
      frame_number: 1,
      status: 'dropped',
      drop_reason: 'no_candidate_fits',
      fallback_used: false,
      compressed_size_bytes: 0,
      ssim: null,
    });
    expect(fallback).toMatchObject({ frame_number: 2, status: 'fallback', fallback_used: true });

    expect(await counted(userId, sessionId)).toEqual({
      rollup: {
        frames: 3,
        dropped: 1,
        unchanged: 0,
        bytes_out: 46_000,
        user_frames: 3,
        user_dropped: 1,
        user_unchanged: 0,
      },
      session: { frames: 3, dropped: 1, unchanged: 0 },
    });
    const totals = await windowTotals(db.sql, userId, 3600);
    expect(totals).toMatchObject({ frames: 3, dropped: 1, fallbacks: 1, ssimFrames: 2 });
    expect(totals.bytesOut).toBe(46_000);
  });
});

describe('an unchanged frame', () => {
  it("is stored with its status and the viewer's image's SSIM, and counted with no bytes out", async () => {
    const userId = `unchanged-${randomUUID()}`;
    const sessionId = randomUUID();
    expect(await recordFrame(db.sql, sentFrame(userId, sessionId, 0))).toBe(true);
    expect(await recordFrame(db.sql, unchangedFrame(userId, sessionId, 1))).toBe(true);
    expect(await recordFrame(db.sql, unchangedFrame(userId, sessionId, 2))).toBe(true);
    expect(await recordFrame(db.sql, droppedFrame(userId, sessionId, 3))).toBe(true);

    const [dropped, unchanged] = await recentFrameMetrics(db.sql, userId, { limit: 10 });
    expect(dropped).toMatchObject({ frame_number: 3, status: 'dropped' });
    expect(unchanged).toMatchObject({
      frame_number: 2,
      status: 'unchanged',
      drop_reason: null,
      fallback_used: false,
      fallback_reason: null,
      compressed_size_bytes: 0,
      within_budget: true,
      ssim: 0.995,
      psnr_db: 47.5,
    });

    expect(await counted(userId, sessionId)).toEqual({
      rollup: {
        frames: 4,
        dropped: 1,
        unchanged: 2,
        bytes_out: 6_000,
        user_frames: 4,
        user_dropped: 1,
        user_unchanged: 2,
      },
      session: { frames: 4, dropped: 1, unchanged: 2 },
    });
    const totals = await windowTotals(db.sql, userId, 3600);
    expect(totals).toMatchObject({
      frames: 4,
      dropped: 1,
      unchanged: 2,
      fallbacks: 0,
      withinBudget: 4,
      bytesIn: 160_000,
      bytesOut: 6_000,
      ssimFrames: 3,
    });
    expect(totals.ssimSum).toBeCloseTo(0.93 + 2 * 0.995, 9);
    expect(totals.bands.excellent.frames).toBe(2);
  });

  it.each([
    ['dropped', droppedFrame, { frames: 1, dropped: 1, unchanged: 0 }],
    ['unchanged', unchangedFrame, { frames: 1, dropped: 0, unchanged: 1 }],
  ] as const)(
    'is counted once, %s, however often its event is applied',
    async (status, make, session) => {
      const userId = `${status}-once-${randomUUID()}`;
      const sessionId = randomUUID();
      const event = toFrameEvent(make(userId, sessionId, 7));
      await claimSession(db.sql, { sessionId, userId, sessionsPerDay: 100 });
      expect(await applyFrameEvents(db.sql, [event, event])).toEqual({ received: 2, stored: 1 });
      expect(await applyFrameEvents(db.sql, [event])).toEqual({ received: 1, stored: 0 });
      expect((await counted(userId, sessionId)).session).toEqual(session);
    },
  );

  it('adds to the rollups what a rebuild from the raw rows gives, dropped and unchanged frames among sent ones', async () => {
    const userId = `unchanged-rebuild-${randomUUID()}`;
    const sessionId = randomUUID();
    for (let i = 0; i < 15; i++) {
      const frame =
        i % 3 === 0
          ? unchangedFrame(userId, sessionId, i)
          : i % 5 === 1
            ? droppedFrame(userId, sessionId, i)
            : sentFrame(userId, sessionId, i, i % 4 === 2);
      await recordFrame(db.sql, frame);
    }
    const maintained = await counted(userId, sessionId);
    expect(maintained.rollup).toMatchObject({ frames: 15, dropped: 2, unchanged: 5 });
    expect(maintained.session).toEqual({ frames: 15, dropped: 2, unchanged: 5 });
    await rebuildRollups(db.sql);
    expect(await counted(userId, sessionId)).toEqual(maintained);
  });
});

describe('a frame without a status', () => {
  it('from a producer from before statuses is stored with the status its fallback gives', async () => {
    const userId = `old-producer-${randomUUID()}`;
    const sessionId = randomUUID();
    await claimSession(db.sql, { sessionId, userId, sessionsPerDay: 100 });
    const old = (record: FrameMetricRecord): FrameEvent => {
      const { status: _status, drop_reason: _reason, ...event } = toFrameEvent(record);
      return event;
    };
    await applyFrameEvents(db.sql, [
      old(sentFrame(userId, sessionId, 0)),
      old(sentFrame(userId, sessionId, 1, true)),
    ]);
    const rows = await db.sql<{ frame_number: number; status: string }[]>`
      select frame_number, status from frame_metrics
      where user_id = ${userId} order by frame_number
    `;
    expect(rows).toEqual([
      { frame_number: 0, status: 'success' },
      { frame_number: 1, status: 'fallback' },
    ]);
    expect((await counted(userId, sessionId)).rollup).toMatchObject({
      frames: 2,
      dropped: 0,
      unchanged: 0,
    });
  });

  it('stored before migration 0008 reads as success or fallback', async () => {
    const userId = `legacy-${randomUUID()}`;
    const sessionId = randomUUID();
    const now = Date.now();
    const legacy = (fallback: boolean, ago: number) => ({
      userId,
      sessionId,
      recordedAt: new Date(now - ago),
      originalBytes: 1000,
      compressedBytes: fallback ? 1000 : 200,
      ssim: fallback ? 1 : 0.9,
      totalMs: 5,
      fallback,
    });
    await insertFrames(db.sql, [legacy(false, 2000), legacy(true, 1000)]);
    await rebuildRollups(db.sql);
    const metrics = await recentFrameMetrics(db.sql, userId, { limit: 10 });
    expect(metrics.map((m) => [m.status, m.fallback_used, m.drop_reason])).toEqual([
      ['fallback', true, null],
      ['success', false, null],
    ]);
    expect(await windowTotals(db.sql, userId, 3600)).toMatchObject({
      frames: 2,
      fallbacks: 1,
      dropped: 0,
      unchanged: 0,
    });
  });
});

describe('migration 0008', () => {
  let fresh: TestDatabase;
  const at0008 = MIGRATIONS.findIndex((m) => m.id === '0008_frame_statuses');

  beforeAll(async () => {
    fresh = await createTestDatabase();
    expect(at0008).toBeGreaterThan(0);
    await migrate(fresh.sql, { migrations: MIGRATIONS.slice(0, at0008) });
  });

  afterAll(async () => {
    await fresh?.drop();
  });

  /** Where each table's rows live on disk: a rewrite of the table would move them. */
  const files = () => fresh.sql<{ relname: string; relfilenode: number }[]>`
    select relname, relfilenode::int from pg_class
    where relname in ('compression_configs', 'frame_metrics', 'frame_metrics_hourly',
      'frame_metrics_user_hourly', 'sessions')
    order by relname
  `;

  it('rewrites no table, keeps every row, and the rows read as they did', async () => {
    const sessionId = randomUUID();
    await seedBefore0008(fresh, sessionId);
    const located = await files();
    expect(located).toHaveLength(5);

    await migrate(fresh.sql);
    expect(await files()).toEqual(located);
    const [session] = await fresh.sql`
      select frames_total::int as frames, fallbacks_total::int as fallbacks,
        dropped_total::int as dropped
      from sessions where user_id = 'early'
    `;
    expect(session).toEqual({ frames: 2, fallbacks: 1, dropped: 0 });
    const [hour] = await fresh.sql`
      select frames::int, fallbacks::int, dropped::int from frame_metrics_user_hourly
      where user_id = 'early'
    `;
    expect(hour).toEqual({ frames: 2, fallbacks: 1, dropped: 0 });
    const [config] = await fresh.sql`
      select on_budget_miss from compression_configs where user_id = 'early'
    `;
    expect(config).toEqual({ on_budget_miss: null });
    const metrics = await recentFrameMetrics(fresh.sql, 'early', { limit: 10 });
    expect(metrics.map((m) => [m.frame_number, m.status, m.drop_reason])).toEqual([
      [1, 'fallback', null],
      [0, 'success', null],
    ]);
    expect(await windowTotals(fresh.sql, 'early', 3600)).toMatchObject({
      frames: 2,
      fallbacks: 1,
      dropped: 0,
    });
  });

  it('checks the new columns of every row written after it', async () => {
    const [row] = await fresh.sql<{ id: number }[]>`select min(id)::int as id from frame_metrics`;
    const id = row?.id ?? 0;
    for (const change of [
      fresh.sql`update frame_metrics set status = 'lost' where id = ${id}`,
      fresh.sql`update frame_metrics set drop_reason = '' where id = ${id}`,
      fresh.sql`update compression_configs set on_budget_miss = 'skip' where user_id = 'early'`,
      fresh.sql`update sessions set dropped_total = 3 where user_id = 'early'`,
      fresh.sql`update sessions set dropped_total = -1 where user_id = 'early'`,
    ]) {
      await expect(change).rejects.toMatchObject({ code: '23514' });
    }
  });
});

describe('migration 0009', () => {
  let fresh: TestDatabase;
  const at0009 = MIGRATIONS.findIndex((m) => m.id === '0009_unchanged_frames');

  beforeAll(async () => {
    fresh = await createTestDatabase();
    expect(at0009).toBeGreaterThan(0);
    await migrate(fresh.sql, { migrations: MIGRATIONS.slice(0, at0009) });
  });

  afterAll(async () => {
    await fresh?.drop();
  });

  /** Where each table's rows live on disk: a rewrite of the table would move them. */
  const files = () => fresh.sql<{ relname: string; relfilenode: number }[]>`
    select relname, relfilenode::int from pg_class
    where relname in ('compression_configs', 'frame_metrics', 'frame_metrics_hourly',
      'frame_metrics_user_hourly', 'sessions')
    order by relname
  `;

  /** Every rollup row of the seeded owner, as JSON, in key order. */
  const rollups = () => fresh.sql<{ row: Record<string, unknown> }[]>`
    select to_jsonb(h) - 'user_id' as row from frame_metrics_hourly h where user_id = 'before-0009'
    union all
    select to_jsonb(u) - 'user_id' from frame_metrics_user_hourly u where user_id = 'before-0009'
    order by 1
  `;

  it('rewrites no table, keeps every row, and the rows read as they did', async () => {
    const sessionId = randomUUID();
    await seedBefore0009(fresh, sessionId);
    const located = await files();
    expect(located).toHaveLength(5);
    const rolledUp = await rollups();
    expect(rolledUp).toHaveLength(2);

    await migrate(fresh.sql);
    expect(await files()).toEqual(located);
    expect(await rollups()).toEqual(rolledUp.map(({ row }) => ({ row: { ...row, unchanged: 0 } })));
    const [session] = await fresh.sql`
      select frames_total::int as frames, fallbacks_total::int as fallbacks,
        dropped_total::int as dropped, unchanged_total::int as unchanged
      from sessions where user_id = 'before-0009'
    `;
    expect(session).toEqual({ frames: 3, fallbacks: 1, dropped: 1, unchanged: 0 });
    expect(await getConfig(fresh.sql, 'before-0009')).toMatchObject({
      on_budget_miss: 'smallest',
      unchanged_ssim_screen: null,
      unchanged_ssim_video: null,
    });
    const metrics = await recentFrameMetrics(fresh.sql, 'before-0009', { limit: 10 });
    expect(metrics.map((m) => [m.frame_number, m.status, m.drop_reason])).toEqual([
      [2, 'dropped', 'no_candidate_fits'],
      [1, 'fallback', null],
      [0, 'success', null],
    ]);
    expect(await windowTotals(fresh.sql, 'before-0009', 3600)).toMatchObject({
      frames: 3,
      fallbacks: 1,
      dropped: 1,
      unchanged: 0,
    });
  });

  it('adds its checks without scanning the existing rows', async () => {
    const checks = await fresh.sql<{ name: string; validated: boolean }[]>`
      select conname as name, convalidated as validated from pg_constraint
      where conname in ('compression_configs_unchanged_ssim_screen_check',
        'compression_configs_unchanged_ssim_video_check', 'frame_metrics_status_check',
        'sessions_unchanged_total_check')
      order by conname
    `;
    expect(checks).toEqual([
      { name: 'compression_configs_unchanged_ssim_screen_check', validated: false },
      { name: 'compression_configs_unchanged_ssim_video_check', validated: false },
      { name: 'frame_metrics_status_check', validated: false },
      { name: 'sessions_unchanged_total_check', validated: false },
    ]);
  });

  it('lets a row written after it be unchanged, and checks its new columns', async () => {
    const [row] = await fresh.sql<{ id: number }[]>`select min(id)::int as id from frame_metrics`;
    const id = row?.id ?? 0;
    await fresh.sql`update frame_metrics set status = 'unchanged' where id = ${id}`;
    await fresh.sql`
      update compression_configs set unchanged_ssim_screen = 0.9, unchanged_ssim_video = 1
      where user_id = 'before-0009'
    `;
    await fresh.sql`update sessions set unchanged_total = 3 where user_id = 'before-0009'`;
    for (const change of [
      fresh.sql`update frame_metrics set status = 'lost' where id = ${id}`,
      fresh.sql`
        update compression_configs set unchanged_ssim_screen = 0.899
        where user_id = 'before-0009'`,
      fresh.sql`
        update compression_configs set unchanged_ssim_video = 1.001
        where user_id = 'before-0009'`,
      fresh.sql`update sessions set unchanged_total = 4 where user_id = 'before-0009'`,
      fresh.sql`update sessions set unchanged_total = -1 where user_id = 'before-0009'`,
    ]) {
      await expect(change).rejects.toMatchObject({ code: '23514' });
    }
  });
});

/**
 * A policy, a session and three of its frames (a success, a fallback and a dropped frame) with
 * their totals and rollups, as the schema before 0009 holds them.
 */
async function seedBefore0009(target: TestDatabase, sessionId: string): Promise<void> {
  await target.sql`
    insert into compression_configs (user_id, enabled, mode, target_compression_ratio,
      max_latency_ms, min_quality_score, allowed_formats, enable_predictive_compression,
      enable_perceptual_optimization, opt_out, on_budget_miss)
    values ('before-0009', true, 'adaptive', 0.8, 20, 0.85, '{jpeg,webp}', true, true, false,
      'smallest')
  `;
  await target.sql`
    insert into sessions (session_id, user_id, frames_total, fallbacks_total, dropped_total,
      bytes_in_total, bytes_out_total)
    values (${sessionId}, 'before-0009', 3, 1, 1, 2700, 1200)
  `;
  await target.sql`
    insert into frame_metrics (session_id, user_id, frame_number, event_id, recorded_at, mode,
      format, width, height, original_bytes, compressed_bytes, compression_ratio, ssim,
      budget_bytes, within_budget, decode_ms, encode_ms, metrics_ms, total_ms, fallback, status,
      drop_reason)
    select ${sessionId}, 'before-0009', n, 'f:' || n, now() - (3 - n) * interval '1 second',
      'adaptive', 'jpeg', 640, 360, 900, (array[300, 900, 0])[n + 1], 0.5,
      case when n < 2 then 0.92 end, 500, true, 1, 1, 1, 4, n = 1,
      (array['success', 'fallback', 'dropped'])[n + 1],
      case when n = 2 then 'no_candidate_fits' end
    from generate_series(0, 2) as n
  `;
  const sums = target.sql`
    count(*), count(*) filter (where fallback), count(*) filter (where within_budget),
    sum(original_bytes), sum(compressed_bytes), count(ssim), coalesce(sum(ssim), 0),
    sum(total_ms), 0, 0, count(ssim), coalesce(sum(ssim), 0), 0, 0, 0, 0,
    count(*) filter (where status = 'dropped')
  `;
  const columns = `frames, fallbacks, within_budget, bytes_in, bytes_out, ssim_frames, ssim_sum,
    latency_ms_sum, excellent_frames, excellent_ssim_sum, good_frames, good_ssim_sum, fair_frames,
    fair_ssim_sum, poor_frames, poor_ssim_sum, dropped`;
  await target.sql`
    insert into frame_metrics_hourly (user_id, hour, session_id, ${target.sql.unsafe(columns)})
    select user_id, aic_hour(recorded_at), session_id, ${sums}
    from frame_metrics where user_id = 'before-0009' group by 1, 2, 3
  `;
  await target.sql`
    insert into frame_metrics_user_hourly (user_id, hour, ${target.sql.unsafe(columns)})
    select user_id, aic_hour(recorded_at), ${sums}
    from frame_metrics where user_id = 'before-0009' group by 1, 2
  `;
}

/**
 * A policy, a session and two of its frames (a success and a fallback) with their totals and
 * rollups, as the schema before 0008 holds them.
 */
async function seedBefore0008(target: TestDatabase, sessionId: string): Promise<void> {
  await target.sql`
    insert into compression_configs (user_id, enabled, mode, target_compression_ratio,
      max_latency_ms, min_quality_score, allowed_formats, enable_predictive_compression,
      enable_perceptual_optimization, opt_out)
    values ('early', true, 'adaptive', 0.8, 20, 0.85, '{jpeg,webp}', true, true, false)
  `;
  await target.sql`
    insert into sessions (session_id, user_id, frames_total, fallbacks_total, bytes_in_total,
      bytes_out_total)
    values (${sessionId}, 'early', 2, 1, 1800, 1200)
  `;
  await target.sql`
    insert into frame_metrics (session_id, user_id, frame_number, event_id, recorded_at, mode,
      format, width, height, original_bytes, compressed_bytes, compression_ratio, ssim,
      budget_bytes, within_budget, decode_ms, encode_ms, metrics_ms, total_ms, fallback)
    select ${sessionId}, 'early', n, 'f:' || n, now() - (2 - n) * interval '1 second', 'adaptive',
      'jpeg', 640, 360, 900, case when n = 1 then 900 else 300 end, 0.5, 0.9, 500, true, 1, 1, 1,
      4, n = 1
    from generate_series(0, 1) as n
  `;
  await target.sql`
    insert into frame_metrics_user_hourly
    select user_id, aic_hour(recorded_at), count(*), count(*) filter (where fallback),
      count(*) filter (where within_budget), sum(original_bytes), sum(compressed_bytes),
      count(ssim), coalesce(sum(ssim), 0), sum(total_ms), 0, 0, count(*), sum(ssim), 0, 0, 0, 0
    from frame_metrics group by 1, 2
  `;
}
