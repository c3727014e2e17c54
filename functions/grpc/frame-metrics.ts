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

/** A frame was compressed into `result` and `sentBytes` of it go back. */
export function recordFrameAnswered(
  metrics: GrpcMetrics,
  result: CompressResponse,
  sentBytes: number,
): void {
  metrics.frames.inc({ outcome: result.status });
  metrics.frameSeconds.observe({ status: result.status }, result.latency_ms.total / 1000);
  metrics.bytesOut.inc({}, sentBytes);
}

/** A frame of a stream was answered with the error `code`. */
export function recordFrameRefused(metrics: GrpcMetrics, code: ErrorCode): void {
  metrics.frames.inc({ outcome: code });
}
