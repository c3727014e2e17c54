/**
 * Frame rows with chosen timestamps for dashboard tests and the dashboard benchmark, with their
 * hourly rollups built by the same column definition the insert path uses (`frameRollupColumns`).
 */
import type { FrameStatus } from '../../functions/core/contracts/compress.ts';
import type { Sql } from '../../functions/platform/db/database.ts';
import {
  frameRollupColumns,
  ROLLUP_SUMS,
} from '../../functions/platform/db/frame-metrics-repository.ts';

const ROLLUP_COLUMNS = `user_id, hour, session_id, ${ROLLUP_SUMS.join(', ')}`;

const USER_ROLLUP_COLUMNS = ROLLUP_COLUMNS.replace('session_id, ', '');

/** The rollup sums over a grouped relation with the rollup's column names. */
const SUMMED = ROLLUP_SUMS.map((c) => `sum(${c})`).join(', ');

/**
 * The rollup inserts over `source`, a relation with `frame_metrics` columns (a table or a CTE of
 * freshly inserted rows), as CTE members: `hourly_seed`, `user_hourly_seed` and `latency_seed`.
 */
export function rollupInserts(sql: Sql, source: string) {
  return sql`
    hourly_seed as (
      insert into frame_metrics_hourly (${sql.unsafe(ROLLUP_COLUMNS)})
      select user_id, hour, session_id, ${sql.unsafe(SUMMED)}
      from (
        select user_id, aic_hour(recorded_at), session_id, ${frameRollupColumns(sql)}
        from ${sql(source)}
      ) as r (${sql.unsafe(ROLLUP_COLUMNS)})
      group by 1, 2, 3
    ), user_hourly_seed as (
      insert into frame_metrics_user_hourly (${sql.unsafe(USER_ROLLUP_COLUMNS)})
      select user_id, hour, ${sql.unsafe(SUMMED)}
      from (
        select user_id, aic_hour(recorded_at), ${frameRollupColumns(sql)}
        from ${sql(source)}
      ) as r (${sql.unsafe(USER_ROLLUP_COLUMNS)})
      group by 1, 2
    ), latency_seed as (
      insert into frame_latency_hourly (user_id, hour, bucket, frames)
      select user_id, aic_hour(recorded_at), aic_latency_bucket(total_ms), count(*)
      from ${sql(source)}
      group by 1, 2, 3
    )
  `;
}

/** Recomputes the rollups from `frame_metrics` (what migrations 0002 and 0003 do once). */
export async function rebuildRollups(sql: Sql): Promise<void> {
  await sql`delete from frame_metrics_hourly`;
  await sql`delete from frame_metrics_user_hourly`;
  await sql`delete from frame_latency_hourly`;
  await sql`with ${rollupInserts(sql, 'frame_metrics')} select 1`;
}

/** One frame to insert. */
export interface SeedFrame {
  userId: string;
  sessionId: string;
  recordedAt: Date;
  originalBytes: number;
  compressedBytes: number;
  ssim: number | null;
  totalMs: number;
  fallback?: boolean;
  withinBudget?: boolean;
  /** Unset: no status, as rows stored before migration 0008 have. */
  status?: FrameStatus;
  dropReason?: string;
}

/**
 * Inserts frames (and their sessions) with the given timestamps, without touching the rollups:
 * call {@link rebuildRollups} after.
 */
export async function insertFrames(sql: Sql, frames: readonly SeedFrame[]): Promise<void> {
  // A session is its tenant's (`(user_id, session_id)`): two tenants may seed the same id.
  const sessions = new Map(frames.map((f) => [`${f.userId}\u0000${f.sessionId}`, f]));
  for (const { sessionId, userId } of sessions.values()) {
    await sql`
      insert into sessions (session_id, user_id) values (${sessionId}, ${userId})
      on conflict (user_id, session_id) do nothing
    `;
  }
  const rows = frames.map((f) => ({
    session_id: f.sessionId,
    user_id: f.userId,
    recorded_at: f.recordedAt,
    mode: 'adaptive',
    format: 'jpeg',
    quality: 70,
    width: 640,
    height: 360,
    original_bytes: f.originalBytes,
    compressed_bytes: f.compressedBytes,
    compression_ratio: 1 - f.compressedBytes / f.originalBytes,
    ssim: f.ssim,
    psnr_db: 40,
    budget_bytes: f.originalBytes,
    within_budget: f.withinBudget ?? true,
    decode_ms: 1,
    encode_ms: 1,
    metrics_ms: 1,
    total_ms: f.totalMs,
    fallback: f.fallback ?? false,
    status: f.status ?? null,
    drop_reason: f.dropReason ?? null,
  }));
  for (let i = 0; i < rows.length; i += 1000) {
    await sql`insert into frame_metrics ${sql(rows.slice(i, i + 1000))}`;
  }
}
