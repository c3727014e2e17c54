/**
 * A stored frame's record as the frame event the metrics stream carries (docs/design.md
 * section 5.8).
 */
import { randomUUID } from 'node:crypto';
import { FRAME_EVENT_VERSION, type FrameEvent } from '../../core/contracts/frame-event.ts';
import type { FrameMetricRecord } from '../db/frame-metrics-repository.ts';

/**
 * The frame's identity within its session: its number, else the client's `Idempotency-Key`, else
 * a new UUID (docs/design.md section 2.3).
 */
export function frameEventId(record: Pick<FrameMetricRecord, 'frameNumber' | 'idempotencyKey'>) {
  if (record.frameNumber !== null) return `f:${record.frameNumber}`;
  if (record.idempotencyKey) return `k:${record.idempotencyKey}`;
  return `e:${randomUUID()}`;
}

/** The event of `record`, answered at `recordedAt`. */
export function toFrameEvent(record: FrameMetricRecord, recordedAt = new Date()): FrameEvent {
  return {
    v: FRAME_EVENT_VERSION,
    event_id: frameEventId(record),
    user_id: record.userId,
    session_id: record.sessionId,
    recorded_at: recordedAt.toISOString(),
    frame_number: record.frameNumber,
    idempotency_key: record.idempotencyKey ?? null,
    frame_type: record.frameType,
    mode: record.mode as FrameEvent['mode'],
    format: record.format,
    quality: record.quality,
    width: record.width,
    height: record.height,
    original_bytes: record.originalBytes,
    compressed_bytes: record.compressedBytes,
    compression_ratio: record.compressionRatio,
    ssim: record.ssim,
    quality_score: record.qualityScore ?? null,
    psnr_db: record.psnrDb,
    budget_bytes: record.budgetBytes,
    within_budget: record.withinBudget,
    encode_attempts: record.encodeAttempts,
    decode_ms: record.decodeMs,
    encode_ms: record.encodeMs,
    metrics_ms: record.metricsMs,
    total_ms: record.totalMs,
    fallback: record.fallback,
    fallback_reason: record.fallbackReason,
    status: record.status,
    drop_reason: record.dropReason,
  };
}
