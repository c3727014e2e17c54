import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { parseFrameEvent } from '../../../functions/core/contracts/frame-event.ts';
import type { FrameMetricRecord } from '../../../functions/platform/db/frame-metrics-repository.ts';
import { toFrameEvent } from '../../../functions/platform/metrics/frame-event-of.ts';

/** A frame the service dropped: nothing sent, as compress-service records one. */
const dropped: FrameMetricRecord = {
  sessionId: randomUUID(),
  userId: 'user-1',
  frameNumber: 12,
  frameType: 'screen',
  mode: 'adaptive',
  format: 'png',
  quality: null,
  width: 1280,
  height: 720,
  originalBytes: 18_000,
  compressedBytes: 0,
  compressionRatio: 1,
  ssim: null,
  psnrDb: null,
  budgetBytes: 4_000,
  withinBudget: true,
  encodeAttempts: 3,
  decodeMs: 2,
  encodeMs: 9,
  metricsMs: 3,
  totalMs: 15,
  fallback: false,
  fallbackReason: null,
  status: 'dropped',
  dropReason: 'no_candidate_fits',
};

describe('toFrameEvent', () => {
  it('carries the status and the drop reason, and its event parses back unchanged', () => {
    const event = toFrameEvent(dropped, new Date('2026-01-01T12:00:00Z'));
    expect(event).toMatchObject({
      event_id: 'f:12',
      status: 'dropped',
      drop_reason: 'no_candidate_fits',
      compressed_bytes: 0,
      fallback: false,
      ssim: null,
    });
    expect(parseFrameEvent(JSON.stringify(event))).toEqual({ ok: true, event });
  });

  it('carries a fallback as a fallback with no drop reason', () => {
    const event = toFrameEvent({
      ...dropped,
      compressedBytes: 18_000,
      compressionRatio: 0,
      ssim: 1,
      psnrDb: 100,
      fallback: true,
      fallbackReason: 'quality_floor_unreachable',
      status: 'fallback',
      dropReason: null,
    });
    expect(event).toMatchObject({ status: 'fallback', drop_reason: null, fallback: true });
    expect(parseFrameEvent(JSON.stringify(event)).ok).toBe(true);
  });

  it("carries an unchanged frame: nothing sent, the viewer's image's SSIM, no reasons", () => {
    const event = toFrameEvent({
      ...dropped,
      ssim: 0.996,
      psnrDb: 50.1,
      encodeAttempts: 0,
      status: 'unchanged',
      dropReason: null,
    });
    expect(event).toMatchObject({
      status: 'unchanged',
      drop_reason: null,
      fallback: false,
      compressed_bytes: 0,
      ssim: 0.996,
    });
    expect(parseFrameEvent(JSON.stringify(event))).toEqual({ ok: true, event });
  });
});
