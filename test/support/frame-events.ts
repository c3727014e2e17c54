/**
 * Frame events for the tests of the metrics path: one valid event (a 1280x720 WebP frame) that a
 * test changes where it matters.
 */
import { randomUUID } from 'node:crypto';
import {
  FRAME_EVENT_VERSION,
  type FrameEvent,
} from '../../functions/core/contracts/frame-event.ts';

/** A valid frame event, numbered `frameNumber` (its `event_id` follows), with `extra` over it. */
export function sampleFrameEvent(frameNumber = 0, extra: Partial<FrameEvent> = {}): FrameEvent {
  return {
    v: FRAME_EVENT_VERSION,
    event_id: `f:${frameNumber}`,
    user_id: 'user-1',
    session_id: randomUUID(),
    recorded_at: '2026-01-01T12:00:00.000Z',
    frame_number: frameNumber,
    idempotency_key: null,
    frame_type: 'video',
    mode: 'adaptive',
    format: 'webp',
    quality: 70,
    width: 1280,
    height: 720,
    original_bytes: 2_764_800,
    compressed_bytes: 48_000,
    compression_ratio: 57.6,
    ssim: 0.97,
    psnr_db: 38.2,
    budget_bytes: 50_000,
    within_budget: true,
    encode_attempts: 1,
    decode_ms: 1.5,
    encode_ms: 12.25,
    metrics_ms: 3,
    total_ms: 17,
    fallback: false,
    fallback_reason: null,
    ...extra,
  };
}
