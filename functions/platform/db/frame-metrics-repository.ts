/**
 * Per-frame metrics (`frame_metrics`) and the session totals they roll up into.
 */
import type { Sql } from './database.ts';

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
}

/**
 * Stores one frame's metrics and adds it to its session's totals, creating the session for its
 * owner on first use, all in one statement: a frame is never counted in one place and missing from
 * the other. Returns false (and writes nothing) when the session belongs to another user.
 */
export async function recordFrame(sql: Sql, frame: FrameMetricRecord): Promise<boolean> {
  const fallbacks = frame.fallback ? 1 : 0;
  const ssim = frame.ssim ?? 0;
  const rows = await sql`
    with claimed as (
      insert into sessions (
        session_id, user_id, frames_total, fallbacks_total, bytes_in_total, bytes_out_total,
        ssim_sum, latency_ms_sum
      ) values (
        ${frame.sessionId}, ${frame.userId}, 1, ${fallbacks}, ${frame.originalBytes},
        ${frame.compressedBytes}, ${ssim}, ${frame.totalMs}
      )
      on conflict (session_id) do update set
        frames_total = sessions.frames_total + 1,
        fallbacks_total = sessions.fallbacks_total + excluded.fallbacks_total,
        bytes_in_total = sessions.bytes_in_total + excluded.bytes_in_total,
        bytes_out_total = sessions.bytes_out_total + excluded.bytes_out_total,
        ssim_sum = sessions.ssim_sum + excluded.ssim_sum,
        latency_ms_sum = sessions.latency_ms_sum + excluded.latency_ms_sum,
        last_seen_at = now()
      where sessions.user_id = excluded.user_id
      returning session_id, user_id
    )
    insert into frame_metrics (
      session_id, user_id, frame_number, frame_type, mode, format, quality, width, height,
      original_bytes, compressed_bytes, compression_ratio, ssim, psnr_db, budget_bytes,
      within_budget, encode_attempts, decode_ms, encode_ms, metrics_ms, total_ms, fallback,
      fallback_reason
    )
    select
      claimed.session_id, claimed.user_id, ${frame.frameNumber}, ${frame.frameType}, ${frame.mode},
      ${frame.format}, ${frame.quality}, ${frame.width}, ${frame.height}, ${frame.originalBytes},
      ${frame.compressedBytes}, ${frame.compressionRatio}, ${frame.ssim}, ${frame.psnrDb},
      ${frame.budgetBytes}, ${frame.withinBudget}, ${frame.encodeAttempts}, ${frame.decodeMs},
      ${frame.encodeMs}, ${frame.metricsMs}, ${frame.totalMs}, ${frame.fallback},
      ${frame.fallbackReason}
    from claimed
    returning 1
  `;
  return rows.length === 1;
}
