/**
 * The Prometheus series of frames, recorded alike for `CompressFrame` and every frame of
 * `CompressStream`.
 */
import type { CompressResponse } from '../core/contracts/compress.ts';
import type { ErrorCode } from '../core/errors.ts';
import type { GrpcMetrics } from './prometheus.ts';

/** A frame of `bytes` was received. */
export function recordFrameReceived(metrics: GrpcMetrics, bytes: number): void {
  metrics.bytesIn.inc({}, bytes);
}

/**
 * A frame was compressed into `result` and `sentBytes` of it go back: its outcome (`unchanged`
 * too), engine time, bytes, SSIM (for `unchanged`, the viewer's image against the frame), whether
 * it fit its budget and, for a fallback or a drop, why. A frame that sends nothing saves its whole
 * original.
 */
export function recordFrameAnswered(
  metrics: GrpcMetrics,
  result: CompressResponse,
  sentBytes: number,
): void {
  metrics.frames.inc({ outcome: result.status });
  metrics.frameSeconds.observe({ status: result.status }, result.latency_ms.total / 1000);
  metrics.bytesOut.inc({}, sentBytes);
  metrics.bytesSaved.inc({}, Math.max(0, result.original_size_bytes - sentBytes));
  if (result.ssim !== null) metrics.ssim.observe({}, result.ssim);
  if (result.within_budget) metrics.withinBudget.inc();
  if (result.fallback_used) {
    metrics.fallbacks.inc({ reason: result.fallback_reason ?? 'unknown' });
  }
  if (result.status === 'dropped') metrics.drops.inc({ reason: result.drop_reason ?? 'unknown' });
}

/** A frame of a stream was answered with the error `code`. */
export function recordFrameRefused(metrics: GrpcMetrics, code: ErrorCode): void {
  metrics.frames.inc({ outcome: code });
}
