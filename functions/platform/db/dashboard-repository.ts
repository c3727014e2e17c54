/**
 * Dashboard reads: recent frames and the totals of a time window. Every statement is
 * parameterised and filtered by the caller's `user_id`.
 *
 * A window `[now - length, now]` is read in three parts, so its totals are exact to the frame
 * while the cost stays proportional to its hours, not its frames nor its sessions: the whole UTC
 * hours inside it from the hourly rollups (migrations 0002 and 0003), and the two partial hours at
 * its edges from the raw frames (`frame_metrics_user_recorded_idx`). Raw frames are kept for
 * `FRAME_ROWS_RETENTION_HOURS` only: a window reaching further back starts at the whole hour its
 * start falls in (the `from` it reports), read from the rollups.
 */
import type { FrameMetric } from '../../core/contracts/dashboard.ts';
import type { HistogramBin } from '../../core/dashboard/latency-histogram.ts';
import type { WindowTotals } from '../../core/dashboard/statistics.ts';
import type { Sql } from './database.ts';
import { frameRollupColumns, frameStatusOf, ROLLUP_SUMS } from './frame-metrics-repository.ts';

interface FrameRow {
  session_id: string;
  frame_number: number | null;
  recorded_at: Date;
  frame_type: 'video' | 'screen' | null;
  mode: FrameMetric['mode'];
  format: string;
  quality: number | null;
  width: number;
  height: number;
  original_bytes: number;
  compressed_bytes: number;
  compression_ratio: number;
  ssim: number | null;
  psnr_db: number | null;
  budget_bytes: number;
  within_budget: boolean;
  encode_attempts: number;
  decode_ms: number;
  encode_ms: number;
  metrics_ms: number;
  total_ms: number;
  fallback: boolean;
  fallback_reason: string | null;
  status: FrameMetric['status'];
  drop_reason: string | null;
}

/** The newest `limit` frames of `userId`, optionally of one of their sessions, newest first. */
export async function recentFrameMetrics(
  sql: Sql,
  userId: string,
  options: { sessionId?: string | undefined; limit: number },
): Promise<FrameMetric[]> {
  const rows = await sql<FrameRow[]>`
    select session_id, frame_number, recorded_at, frame_type, mode, format, quality, width, height,
      original_bytes, compressed_bytes, compression_ratio, ssim, psnr_db, budget_bytes,
      within_budget, encode_attempts, decode_ms, encode_ms, metrics_ms, total_ms, fallback,
      fallback_reason, ${sql.unsafe(frameStatusOf())} as status, drop_reason
    from frame_metrics
    where user_id = ${userId}
      ${options.sessionId === undefined ? sql`` : sql`and session_id = ${options.sessionId}`}
    order by recorded_at desc, id desc
    limit ${options.limit}
  `;
  return rows.map((row) => ({
    session_id: row.session_id,
    frame_number: row.frame_number,
    recorded_at: row.recorded_at.toISOString(),
    frame_type: row.frame_type,
    mode: row.mode,
    format: row.format,
    quality: row.quality,
    width: row.width,
    height: row.height,
    original_size_bytes: row.original_bytes,
    compressed_size_bytes: row.compressed_bytes,
    compression_ratio: row.compression_ratio,
    ssim: row.ssim,
    psnr_db: row.psnr_db,
    budget_bytes: row.budget_bytes,
    within_budget: row.within_budget,
    encode_attempts: row.encode_attempts,
    latency_ms: {
      decode: row.decode_ms,
      encode: row.encode_ms,
      metrics: row.metrics_ms,
      total: row.total_ms,
    },
    fallback_used: row.fallback,
    fallback_reason: row.fallback_reason,
    status: row.status,
    drop_reason: row.drop_reason,
  }));
}

/** Default of `FRAME_ROWS_RETENTION_HOURS`. */
export const DEFAULT_RAW_HOURS = 48;

/**
 * The window ending now: its bounds, the first whole hour in it (`lo`) and the current partial
 * hour (`hi`). `now()` is the transaction's clock, the one frames are stamped with. A window
 * longer than the raw frames are kept (less an hour of margin) starts at a whole hour.
 */
function windowBounds(sql: Sql, seconds: number, rawHours: number) {
  const since =
    seconds > (rawHours - 1) * 3600
      ? sql`aic_hour(now() - ${seconds} * interval '1 second')`
      : sql`now() - ${seconds} * interval '1 second'`;
  return sql`
    select since, until,
      aic_hour(since - interval '1 microsecond') + interval '1 hour' as lo,
      aic_hour(until) as hi
    from (select ${since} as since, now() as until) as w
  `;
}

interface TotalsRow {
  since: Date;
  until: Date;
  frames: number;
  fallbacks: number;
  within_budget: number;
  bytes_in: number;
  bytes_out: number;
  ssim_frames: number;
  ssim_sum: number;
  latency_ms_sum: number;
  excellent_frames: number;
  excellent_ssim_sum: number;
  good_frames: number;
  good_ssim_sum: number;
  fair_frames: number;
  fair_ssim_sum: number;
  poor_frames: number;
  poor_ssim_sum: number;
  dropped: number;
  unchanged: number;
}

/**
 * The whole hours of the window from the rollups: the owner's per-hour totals
 * (`frame_metrics_user_hourly`), or with a session filter that session's hours
 * (`frame_metrics_hourly (session_id, hour)`). Either way at most one row per hour, whatever the
 * number of the owner's sessions (docs/design.md section 5).
 */
function wholeHours(sql: Sql, userId: string, sessionId: string | undefined) {
  const columns = sql.unsafe(ROLLUP_SUMS.map((c) => `h.${c}`).join(', '));
  return sessionId === undefined
    ? sql`
      select ${columns} from frame_metrics_user_hourly h, b
      where h.user_id = ${userId} and h.hour >= b.lo and h.hour < b.hi`
    : sql`
      select ${columns} from frame_metrics_hourly h, b
      where h.session_id = ${sessionId} and h.user_id = ${userId}
        and h.hour >= b.lo and h.hour < b.hi`;
}

/**
 * The sums of the window's parts, each column under its {@link TotalsRow} name: the `_sum` columns
 * are double precision, the rest counts.
 */
const WINDOW_SUMS = ROLLUP_SUMS.map(
  (c) => `coalesce(sum(${c}), 0)::${c.endsWith('_sum') ? 'float8' : 'bigint'} as ${c}`,
).join(',\n');

/**
 * The totals of `userId`'s frames over the last `seconds` (optionally of one session): counts,
 * byte sums, SSIM and latency sums, and frames and SSIM sums per quality band.
 */
export async function windowTotals(
  sql: Sql,
  userId: string,
  seconds: number,
  sessionId?: string,
  rawHours = DEFAULT_RAW_HOURS,
): Promise<WindowTotals> {
  const ofSession = sessionId === undefined ? sql`` : sql`and f.session_id = ${sessionId}`;
  const [row] = await sql<TotalsRow[]>`
    with b as (${windowBounds(sql, seconds, rawHours)}),
    parts (${sql.unsafe(ROLLUP_SUMS.join(', '))}) as (
      ${wholeHours(sql, userId, sessionId)}
      union all
      select ${frameRollupColumns(sql)}
      from frame_metrics f, b
      where f.user_id = ${userId} and f.recorded_at >= b.since and f.recorded_at < b.lo
        ${ofSession}
      union all
      select ${frameRollupColumns(sql)}
      from frame_metrics f, b
      where f.user_id = ${userId} and f.recorded_at >= b.hi ${ofSession}
    )
    select (select since from b), (select until from b), ${sql.unsafe(WINDOW_SUMS)}
    from parts
  `;
  if (!row) throw new Error('The window totals query returned no row');
  return {
    from: row.since,
    to: row.until,
    frames: row.frames,
    fallbacks: row.fallbacks,
    dropped: row.dropped,
    unchanged: row.unchanged,
    withinBudget: row.within_budget,
    bytesIn: row.bytes_in,
    bytesOut: row.bytes_out,
    ssimFrames: row.ssim_frames,
    ssimSum: row.ssim_sum,
    latencyMsSum: row.latency_ms_sum,
    bands: {
      excellent: { frames: row.excellent_frames, ssimSum: row.excellent_ssim_sum },
      good: { frames: row.good_frames, ssimSum: row.good_ssim_sum },
      fair: { frames: row.fair_frames, ssimSum: row.fair_ssim_sum },
      poor: { frames: row.poor_frames, ssimSum: row.poor_ssim_sum },
    },
  };
}

/** The latency histogram of `userId`'s frames over the last `seconds`, read like {@link windowTotals}. */
export async function windowLatencyHistogram(
  sql: Sql,
  userId: string,
  seconds: number,
  rawHours = DEFAULT_RAW_HOURS,
): Promise<HistogramBin[]> {
  return sql<HistogramBin[]>`
    with b as (${windowBounds(sql, seconds, rawHours)})
    select bucket::int as bucket, sum(frames)::bigint as frames
    from (
      select l.bucket, l.frames
      from frame_latency_hourly l, b
      where l.user_id = ${userId} and l.hour >= b.lo and l.hour < b.hi
      union all
      select aic_latency_bucket(f.total_ms), 1
      from frame_metrics f, b
      where f.user_id = ${userId} and f.recorded_at >= b.since and f.recorded_at < b.lo
      union all
      select aic_latency_bucket(f.total_ms), 1
      from frame_metrics f, b
      where f.user_id = ${userId} and f.recorded_at >= b.hi
    ) as parts
    group by bucket
  `;
}
