/**
 * Per-frame metrics (`frame_metrics`) and the session totals and hourly rollups they add to.
 */
import type { Sql } from './database.ts';
import {
  type ClaimStatus,
  claimable,
  claimStatus,
  DEFAULT_SESSIONS_PER_USER_PER_DAY,
  quotaClaim,
  REPEAT,
  runClaim,
  type SessionClaim,
} from './session-quota.ts';

/** One compressed frame as stored. */
export interface FrameMetricRecord {
  sessionId: string;
  userId: string;
  frameNumber: number | null;
  frameType: 'video' | 'screen';
  mode: string;
  format: string;
  quality: number | null;
  width: number;
  height: number;
  originalBytes: number;
  compressedBytes: number;
  compressionRatio: number;
  ssim: number | null;
  psnrDb: number | null;
  budgetBytes: number;
  withinBudget: boolean;
  encodeAttempts: number;
  decodeMs: number;
  encodeMs: number;
  metricsMs: number;
  totalMs: number;
  fallback: boolean;
  fallbackReason: string | null;
  /**
   * The client's `Idempotency-Key`, which names a frame that has no number (docs/design.md
   * section 2.3); unset or null otherwise.
   */
  idempotencyKey?: string | null;
}

/**
 * What storing a frame did: `stored` it and counted it, found it stored before (`repeat`: a retry,
 * counted once), or nothing because the session is another user's (`not_owned`).
 */
export type FrameStoreOutcome = 'stored' | 'repeat' | 'not_owned';

/**
 * One frame row as a row of `frame_metrics_hourly`, from `frame_metrics` columns in scope (frames
 * onwards): the single definition of how a frame adds to the rollup, shared by the insert path
 * and the dashboard queries that read the partial hours at the edges of a window from raw rows.
 * SSIM bands as in migration 0002; a frame without SSIM is in no band.
 */
export function frameRollupColumns(sql: Sql) {
  return sql`
    1, fallback::int, within_budget::int, original_bytes, compressed_bytes,
    (ssim is not null)::int, coalesce(ssim, 0), total_ms,
    ((ssim >= 0.95) is true)::int, case when ssim >= 0.95 then ssim else 0 end,
    ((ssim >= 0.90 and ssim < 0.95) is true)::int,
    case when ssim >= 0.90 and ssim < 0.95 then ssim else 0 end,
    ((ssim >= 0.80 and ssim < 0.90) is true)::int,
    case when ssim >= 0.80 and ssim < 0.90 then ssim else 0 end,
    ((ssim < 0.80) is true)::int, case when ssim < 0.80 then ssim else 0 end
  `;
}

/** The additive columns of both hourly rollups, after their key. */
const ROLLUP_SUMS = [
  'frames',
  'fallbacks',
  'within_budget',
  'bytes_in',
  'bytes_out',
  'ssim_frames',
  'ssim_sum',
  'latency_ms_sum',
  'excellent_frames',
  'excellent_ssim_sum',
  'good_frames',
  'good_ssim_sum',
  'fair_frames',
  'fair_ssim_sum',
  'poor_frames',
  'poor_ssim_sum',
] as const;

/**
 * The CTE `name` that adds the `stored` frame to the hourly rollup `table` keyed by `key` (the
 * owner, the hour, and for the per-session rollup the session).
 */
function rollupUpsert(sql: Sql, name: string, table: string, key: readonly string[]) {
  const columns = [...key, ...ROLLUP_SUMS].join(', ');
  const sums = ROLLUP_SUMS.map((c) => `${c} = r.${c} + excluded.${c}`).join(', ');
  const keyValues = key.map((k) => (k === 'hour' ? 'aic_hour(recorded_at)' : k)).join(', ');
  // Every name is a literal of this module: nothing of a request reaches this text.
  return sql`
    ${sql(name)} as (
      insert into ${sql(table)} as r (${sql.unsafe(columns)})
      select ${sql.unsafe(keyValues)}, ${frameRollupColumns(sql)}
      from stored
      on conflict (${sql.unsafe(key.join(', '))}) do update set ${sql.unsafe(sums)}
    )
  `;
}

/**
 * The statement that stores one frame. The frame row is inserted first, with `ON CONFLICT DO
 * NOTHING` on its identity (the session with its `frame_number` or its `idempotency_key`), and
 * everything else adds only what that insert returned: the session's totals (creating the session
 * on first use), and the three hourly rollups. A repeat, concurrent or later, inserts nothing and
 * so adds nothing; a concurrent one waits on the unique index until the first commits.
 *
 * The row is inserted when the session is the owner's, or unknown and a unit of quota was granted;
 * if another user claimed it meanwhile, `claimed` returns nothing and `aic_session_taken()` aborts
 * the whole statement (migration 0004), which is retried.
 */
function frameStatement(sql: Sql, frame: FrameMetricRecord, claim: SessionClaim) {
  return sql<ClaimStatus[]>`
    with ${quotaClaim(sql, claim)}, owner as (
      select user_id from sessions where session_id = ${frame.sessionId}
    ), stored as (
      insert into frame_metrics (
        session_id, user_id, frame_number, idempotency_key, frame_type, mode, format, quality,
        width, height, original_bytes, compressed_bytes, compression_ratio, ssim, psnr_db,
        budget_bytes, within_budget, encode_attempts, decode_ms, encode_ms, metrics_ms, total_ms,
        fallback, fallback_reason
      )
      select
        ${frame.sessionId}, ${frame.userId}, ${frame.frameNumber}, ${frame.idempotencyKey ?? null},
        ${frame.frameType}, ${frame.mode}, ${frame.format}, ${frame.quality}, ${frame.width},
        ${frame.height}, ${frame.originalBytes}, ${frame.compressedBytes},
        ${frame.compressionRatio}, ${frame.ssim}, ${frame.psnrDb}, ${frame.budgetBytes},
        ${frame.withinBudget}, ${frame.encodeAttempts}, ${frame.decodeMs}, ${frame.encodeMs},
        ${frame.metricsMs}, ${frame.totalMs}, ${frame.fallback}, ${frame.fallbackReason}
      where exists (select 1 from owner where user_id = ${frame.userId})
        or (not exists (select 1 from owner) and ${claimable(sql, claim)})
      on conflict do nothing
      returning user_id, session_id, recorded_at, fallback, within_budget, original_bytes,
        compressed_bytes, ssim, total_ms
    ), claimed as (
      insert into sessions as s (
        session_id, user_id, frames_total, fallbacks_total, bytes_in_total, bytes_out_total,
        ssim_sum, latency_ms_sum
      )
      select session_id, user_id, 1, fallback::int, original_bytes, compressed_bytes,
        coalesce(ssim, 0), total_ms
      from stored
      on conflict (session_id) do update set
        frames_total = s.frames_total + 1,
        fallbacks_total = s.fallbacks_total + excluded.fallbacks_total,
        bytes_in_total = s.bytes_in_total + excluded.bytes_in_total,
        bytes_out_total = s.bytes_out_total + excluded.bytes_out_total,
        ssim_sum = s.ssim_sum + excluded.ssim_sum,
        latency_ms_sum = s.latency_ms_sum + excluded.latency_ms_sum,
        last_seen_at = now()
      where s.user_id = excluded.user_id
      returning session_id
    ),
    ${rollupUpsert(sql, 'hourly', 'frame_metrics_hourly', ['user_id', 'hour', 'session_id'])},
    ${rollupUpsert(sql, 'user_hourly', 'frame_metrics_user_hourly', ['user_id', 'hour'])},
    latency as (
      insert into frame_latency_hourly as l (user_id, hour, bucket, frames)
      select user_id, aic_hour(recorded_at), aic_latency_bucket(total_ms), 1 from stored
      on conflict (user_id, hour, bucket) do update set frames = l.frames + excluded.frames
    )
    select ${claimStatus(sql, claim, 'stored')},
      case when exists (select 1 from stored) and not exists (select 1 from claimed)
        then aic_session_taken() else true end as consistent
  `;
}

/** Whether the frame's identity (its number or its key) is stored for its owner already. */
async function frameStoredBefore(sql: Sql, frame: FrameMetricRecord): Promise<boolean> {
  const rows =
    frame.frameNumber !== null
      ? await sql`
          select 1 from frame_metrics
          where session_id = ${frame.sessionId} and frame_number = ${frame.frameNumber}
            and user_id = ${frame.userId}`
      : await sql`
          select 1 from frame_metrics
          where session_id = ${frame.sessionId}
            and idempotency_key = ${frame.idempotencyKey ?? null} and user_id = ${frame.userId}`;
  return rows.length > 0;
}

/**
 * Stores one frame's metrics and adds it to its session's totals and to the dashboard's hourly
 * rollups (migrations 0002 and 0003), creating the session for its owner on first use within the
 * owner's daily quota of new sessions, all in one statement: a frame is never counted in one place
 * and missing from another. A frame whose identity (its session with its `frame_number`, or with
 * its `idempotency_key`) is stored already is counted once: the repeat writes nothing (migration
 * 0004).
 *
 * @throws SessionQuotaExceededError when the session is new and its owner has no new session left
 *   today (nothing is written).
 */
export async function storeFrameMetrics(
  sql: Sql,
  frame: FrameMetricRecord,
  sessionsPerDay = DEFAULT_SESSIONS_PER_USER_PER_DAY,
): Promise<FrameStoreOutcome> {
  const claim = { sessionId: frame.sessionId, userId: frame.userId, sessionsPerDay };
  const named = frame.frameNumber !== null || Boolean(frame.idempotencyKey);
  const row = await runClaim(
    () => frameStatement(sql, frame, claim),
    sessionsPerDay,
    named ? () => frameStoredBefore(sql, frame) : undefined,
  );
  if (row === REPEAT) return 'repeat';
  return row === null ? 'not_owned' : 'stored';
}

/**
 * {@link storeFrameMetrics}, answering true when the frame is stored (by this call or, for a
 * repeat, an earlier one) and false (nothing written) when the session belongs to another user.
 */
export async function recordFrame(
  sql: Sql,
  frame: FrameMetricRecord,
  sessionsPerDay = DEFAULT_SESSIONS_PER_USER_PER_DAY,
): Promise<boolean> {
  return (await storeFrameMetrics(sql, frame, sessionsPerDay)) !== 'not_owned';
}
