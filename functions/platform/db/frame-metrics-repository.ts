/**
 * Per-frame metrics (`frame_metrics`) and the session totals and hourly rollups they add to, written
 * a batch of frame events at a time by the metrics consumer (docs/design.md section 5.8).
 */

import type { FrameStatus } from '../../core/contracts/compress.ts';
import type { CompressionMode } from '../../core/contracts/config.ts';
import type { FrameEvent } from '../../core/contracts/frame-event.ts';
import type { Sql } from './database.ts';
import { retryLostRaces } from './retry-conflicts.ts';

/** One compressed frame as stored. */
export interface FrameMetricRecord {
  sessionId: string;
  userId: string;
  frameNumber: number | null;
  frameType: 'video' | 'screen';
  mode: CompressionMode;
  format: string;
  quality: number | null;
  width: number;
  height: number;
  originalBytes: number;
  compressedBytes: number;
  compressionRatio: number;
  /** Wang's SSIM of what the viewer is left with (docs/design.md section 4.9). */
  ssim: number | null;
  /**
   * The engine's SSIM, which the policy's floors apply to; equal to `ssim` where the analysis
   * factors agree. Unset on records from before it.
   */
  qualityScore?: number | null;
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
  /** What became of the frame; `fallback` is true exactly when it is `fallback`. */
  status: FrameStatus;
  /** Why the frame was dropped (status `dropped`); null otherwise (`unchanged` included). */
  dropReason: string | null;
  /**
   * The client's `Idempotency-Key`, which names a frame that has no number (docs/design.md
   * section 2.3); unset or null otherwise.
   */
  idempotencyKey?: string | null;
}

/**
 * The status of a `frame_metrics` row whose columns are in scope (qualified by `alias` if given):
 * rows stored before migration 0008 have none, and theirs is what `fallback` says.
 */
export function frameStatusOf(alias = ''): string {
  const column = (name: string) => (alias ? `${alias}.${name}` : name);
  return `coalesce(${column('status')}, case when ${column('fallback')} then 'fallback' else 'success' end)`;
}

/**
 * One frame row as a row of `frame_metrics_hourly`, from `frame_metrics` columns in scope (frames
 * onwards, in {@link ROLLUP_SUMS} order): the single definition of how a frame adds to the rollup,
 * shared by the insert path and the dashboard queries that read the partial hours at the edges of
 * a window from raw rows. SSIM bands as in migration 0002; a frame without SSIM is in no band. A
 * dropped frame is one of the frames, with no bytes out and no SSIM; an unchanged frame (0009) is
 * one too, with no bytes out and the SSIM of the viewer's image against it, in its band. A row
 * without a status (from before migration 0008) was neither.
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
    ((ssim < 0.80) is true)::int, case when ssim < 0.80 then ssim else 0 end,
    ((status = 'dropped') is true)::int,
    ((status = 'unchanged') is true)::int
  `;
}

/** The additive columns of both hourly rollups, after their key, in table order. */
export const ROLLUP_SUMS = [
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
  'dropped',
  'unchanged',
] as const;

/** The grouped rollup columns of `stored`, under the names of {@link ROLLUP_SUMS}. */
const summed = ROLLUP_SUMS.map((c) => `sum(${c})`).join(', ');

/**
 * The CTE `name` that adds the `stored` frames to the hourly rollup `table` keyed by `key` (the
 * owner, the hour, and for the per-session rollup the session): one row per key, in key order, so
 * that concurrent batches lock the rows they share in the same order.
 */
function rollupUpsert(sql: Sql, name: string, table: string, key: readonly string[]) {
  const columns = [...key, ...ROLLUP_SUMS].join(', ');
  const sums = ROLLUP_SUMS.map((c) => `${c} = r.${c} + excluded.${c}`).join(', ');
  const keyValues = key.map((k) => (k === 'hour' ? 'aic_hour(recorded_at)' : k)).join(', ');
  const keyList = key.join(', ');
  // Every name is a literal of this module: nothing of a request reaches this text.
  return sql`
    ${sql(name)} as (
      insert into ${sql(table)} as r (${sql.unsafe(columns)})
      select ${sql.unsafe(keyList)}, ${sql.unsafe(summed)}
      from (
        select ${sql.unsafe(keyValues)}, ${frameRollupColumns(sql)} from stored
      ) as f (${sql.unsafe(columns)})
      group by ${sql.unsafe(keyList)}
      order by ${sql.unsafe(keyList)}
      on conflict (${sql.unsafe(keyList)}) do update set ${sql.unsafe(sums)}
    )
  `;
}

/** The columns of a frame event as `jsonb_to_recordset` reads them. */
const EVENT_COLUMNS = `event_id text, user_id text, session_id uuid, recorded_at timestamptz,
  frame_number bigint, idempotency_key text, frame_type text, mode text, format text,
  quality integer, width integer, height integer, original_bytes integer, compressed_bytes integer,
  compression_ratio float8, ssim float8, quality_score float8, psnr_db float8, budget_bytes integer, within_budget boolean,
  encode_attempts integer, decode_ms float8, encode_ms float8, metrics_ms float8, total_ms float8,
  fallback boolean, fallback_reason text, status text, drop_reason text`;

/** The frame columns an event fills, in `EVENT_COLUMNS` order. */
const FRAME_COLUMNS = EVENT_COLUMNS.split(',').map((c) => c.trim().split(/\s+/)[0] as string);

/**
 * The value of each frame column from the event `e`: the event's own field, except a status the
 * event leaves out (a producer from before it), which is what its `fallback` says.
 */
const FRAME_VALUES = FRAME_COLUMNS.map((c) => (c === 'status' ? frameStatusOf('e') : `e.${c}`));

/**
 * The statement that applies a batch: the frame rows are inserted with `ON CONFLICT DO NOTHING` on
 * their identity (the session with its `event_id`), for sessions their owner has claimed, and
 * everything else adds only what that insert returned: the sessions' totals and the three hourly
 * rollups, each grouped per key. A repeat, in the batch or from an earlier one, inserts nothing and
 * so adds nothing.
 */
function batchStatement(sql: Sql, events: readonly FrameEvent[]) {
  const columns = FRAME_COLUMNS.join(', ');
  return sql<{ received: number; stored: number }[]>`
    with input as (
      select * from jsonb_to_recordset(${sql.json(events as never)}::jsonb) as e (
        ${sql.unsafe(EVENT_COLUMNS)}
      )
    ), stored as (
      insert into frame_metrics (${sql.unsafe(columns)})
      select ${sql.unsafe(FRAME_VALUES.join(', '))}
      from input e
      where exists (
        select 1 from sessions s where s.session_id = e.session_id and s.user_id = e.user_id
      )
      order by e.session_id, e.event_id
      on conflict do nothing
      returning user_id, session_id, recorded_at, fallback, within_budget, original_bytes,
        compressed_bytes, ssim, total_ms, status
    ), totals as (
      update sessions s set
        frames_total = s.frames_total + a.frames,
        fallbacks_total = s.fallbacks_total + a.fallbacks,
        dropped_total = s.dropped_total + a.dropped,
        unchanged_total = s.unchanged_total + a.unchanged,
        bytes_in_total = s.bytes_in_total + a.bytes_in,
        bytes_out_total = s.bytes_out_total + a.bytes_out,
        ssim_sum = s.ssim_sum + a.ssim_sum,
        latency_ms_sum = s.latency_ms_sum + a.latency_ms_sum,
        -- Moved a minute at a time: an update that leaves every indexed column alone is HOT (no
        -- index writes), and a session's batches mostly come within the minute (migration 0006).
        last_seen_at = case when a.last_at > s.last_seen_at + interval '1 minute'
          then a.last_at else s.last_seen_at end
      from (
        select session_id, user_id, count(*) as frames, sum(fallback::int) as fallbacks,
          count(*) filter (where status = 'dropped') as dropped,
          count(*) filter (where status = 'unchanged') as unchanged,
          sum(original_bytes) as bytes_in, sum(compressed_bytes) as bytes_out,
          sum(coalesce(ssim, 0)) as ssim_sum, sum(total_ms) as latency_ms_sum,
          max(recorded_at) as last_at
        from stored group by session_id, user_id
      ) as a
      where s.session_id = a.session_id and s.user_id = a.user_id
    ),
    ${rollupUpsert(sql, 'hourly', 'frame_metrics_hourly', ['user_id', 'hour', 'session_id'])},
    ${rollupUpsert(sql, 'user_hourly', 'frame_metrics_user_hourly', ['user_id', 'hour'])},
    latency as (
      insert into frame_latency_hourly as l (user_id, hour, bucket, frames)
      select user_id, aic_hour(recorded_at), aic_latency_bucket(total_ms), count(*) from stored
      group by 1, 2, 3
      order by 1, 2, 3
      on conflict (user_id, hour, bucket) do update set frames = l.frames + excluded.frames
    )
    select (select count(*) from input)::int as received, (select count(*) from stored)::int as stored
  `;
}

/** What applying a batch did. */
export interface AppliedBatch {
  /** Events in the batch. */
  received: number;
  /** Events stored and counted now; the rest were repeats (or of a session nobody claimed). */
  stored: number;
}

/**
 * Applies a batch of frame events in one statement (docs/design.md section 5.8): each frame is
 * stored and counted once in its session's totals and the dashboard's hourly rollups (migrations
 * 0002 and 0003), however often the batch or any of its events is applied. A deadlock with a
 * concurrent batch is retried: the statement is all or nothing, and the retry counts nothing
 * twice.
 */
export async function applyFrameEvents(
  sql: Sql,
  events: readonly FrameEvent[],
): Promise<AppliedBatch> {
  if (events.length === 0) return { received: 0, stored: 0 };
  const [row] = await retryLostRaces(() => batchStatement(sql, events), 5);
  return { received: row?.received ?? 0, stored: row?.stored ?? 0 };
}

/**
 * Deletes per-frame rows older than `retentionHours`, at most `limit` of them (the totals and
 * rollups keep what they counted); returns how many it deleted. Run it until it deletes fewer than
 * `limit`.
 */
export async function pruneFrameRows(
  sql: Sql,
  retentionHours: number,
  limit = 10_000,
): Promise<number> {
  const rows = await sql`
    delete from frame_metrics
    where id in (
      select id from frame_metrics
      where recorded_at < now() - ${retentionHours} * interval '1 hour'
      limit ${limit}
    )
  `;
  return rows.count;
}
