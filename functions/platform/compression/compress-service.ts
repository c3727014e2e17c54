import { MetricUnit } from '@aws-lambda-powertools/metrics';
import {
  type CompressResponse,
  MAX_FRAME_BYTES_HTTP,
  type NetworkConditions,
} from '../../core/contracts/compress.ts';
import { compressFrame } from '../../core/engine/engine.ts';
import { NotFoundError, PayloadTooLargeError } from '../../core/errors.ts';
import { frameBudget, type NetworkSample } from '../../core/network/budget.ts';
import { conditionToBandwidthKbps } from '../../core/network/condition.ts';
import { type PolicyOverrides, resolvePolicy } from '../../core/policy.ts';
import { getConfig } from '../db/config-repository.ts';
import { recordFrame } from '../db/frame-metrics-repository.ts';
import { sessionUsableBy } from '../db/session-repository.ts';
import { decodeFrame } from '../imaging/frame-decoder.ts';
import { createSharpEnginePort } from '../imaging/sharp-engine-port.ts';
import { loadLiveSession } from '../network/network-service.ts';
import { logger, metrics } from '../observability.ts';
import type { Runtime } from '../runtime.ts';
import { saveModel } from './session-model.ts';

/** One frame to compress, whichever transport it came over. */
export interface CompressCommand extends PolicyOverrides {
  userId: string;
  sessionId: string;
  /** The encoded frame as received (already base64-decoded). */
  frame: Buffer;
  frameNumber?: number;
  frameType: 'video' | 'screen';
  network?: NetworkConditions;
  networkCondition?: number;
  /**
   * Aborted when the caller is gone (gRPC cancellation or deadline): the work stops at the next
   * phase boundary with the signal's reason, and nothing is stored for the frame.
   */
  signal?: AbortSignal;
}

const round = (value: number, digits = 2) => Math.round(value * 10 ** digits) / 10 ** digits;

function networkSample(command: CompressCommand): NetworkSample | undefined {
  if (command.network) {
    return {
      bandwidthKbps: command.network.available_bandwidth_kbps,
      packetLossPercent: command.network.packet_loss_percent,
      fps: command.network.fps,
    };
  }
  if (command.networkCondition !== undefined) {
    return {
      bandwidthKbps: conditionToBandwidthKbps(command.networkCondition),
      packetLossPercent: 0,
    };
  }
  return undefined;
}

/**
 * Compresses one frame for its session's owner: checks the frame cap before decoding, checks the
 * session is the caller's or new (404 when it is another user's), resolves the policy (request, stored config, mode
 * defaults), runs the engine with the session's learned model, stores the frame's metrics (creating
 * the session on first use) and the updated model, and emits EMF metrics. Returns the response of
 * DESIGN.md section 2.
 */
export async function compress(
  runtime: Runtime,
  command: CompressCommand,
  maxFrameBytes = MAX_FRAME_BYTES_HTTP,
): Promise<CompressResponse> {
  const started = performance.now();
  if (command.frame.length > maxFrameBytes) throw new PayloadTooLargeError(maxFrameBytes);
  const { sql } = runtime.db;

  // The three lookups and the decode are independent: run them side by side.
  const decodeStarted = performance.now();
  const [usable, stored, decoded, live] = await Promise.all([
    sessionUsableBy(sql, command.sessionId, command.userId),
    getConfig(sql, command.userId),
    decodeFrame(command.frame),
    // The learned model, and the live estimate when the request carries no network fields.
    loadLiveSession(
      runtime,
      command.sessionId,
      command.userId,
      !command.network && command.networkCondition === undefined,
    ),
  ]);
  const decodeMs = performance.now() - decodeStarted;
  command.signal?.throwIfAborted();
  if (!usable) throw new NotFoundError('Session not found');

  const policy = resolvePolicy(command, stored);
  const budget = frameBudget({
    originalBytes: command.frame.length,
    targetCompressionRatio: policy.targetCompressionRatio,
    network: networkSample(command) ?? live.estimate?.sample,
  });
  const port = createSharpEnginePort(decoded);
  const decision = await compressFrame({
    frame: {
      width: decoded.width,
      height: decoded.height,
      originalBytes: command.frame.length,
      frameType: command.frameType,
    },
    // The latency budget covers the whole frame: what decoding took is not left for the search.
    policy: { ...policy, maxLatencyMs: Math.max(1, policy.maxLatencyMs - decodeMs) },
    budget,
    model: policy.predictive ? live.model : undefined,
    port,
    now: () => performance.now(),
  });
  const encodeMs = decision.trials.reduce((sum, trial) => sum + (trial.encoded?.encodeMs ?? 0), 0);
  const metricsMs = decision.trials.reduce(
    (sum, trial) => sum + (trial.measurement?.measureMs ?? 0),
    0,
  );

  const chosen = decision.chosen;
  const output = chosen ? port.output(chosen) : command.frame;
  const originalBytes = command.frame.length;
  const ratio = 1 - output.length / originalBytes;
  const totalMs = performance.now() - started;
  const response: CompressResponse = {
    status: decision.status,
    session_id: command.sessionId,
    frame_number: command.frameNumber ?? null,
    compressed_data: output.toString('base64'),
    format: chosen?.candidate.format ?? decoded.format,
    quality: chosen?.candidate.quality ?? null,
    width: chosen?.width ?? decoded.width,
    height: chosen?.height ?? decoded.height,
    original_size_bytes: originalBytes,
    compressed_size_bytes: output.length,
    compression_ratio: round(ratio, 4),
    bandwidth_savings_percent: round(ratio * 100),
    budget_bytes: budget.budgetBytes,
    within_budget: chosen ? decision.withinBudget : originalBytes <= budget.budgetBytes,
    // The original travels unchanged on passthrough and fallback: its quality is exact, not estimated.
    ssim: chosen ? round(chosen.ssim, 5) : 1,
    psnr_db: chosen ? round(chosen.psnrDb) : 100,
    quality_score: chosen ? round(chosen.ssim, 5) : 1,
    encode_attempts: decision.encodeAttempts,
    latency_ms: {
      decode: round(decodeMs),
      encode: round(encodeMs),
      metrics: round(metricsMs),
      total: round(totalMs),
    },
    fallback_used: decision.status === 'fallback',
    fallback_reason: decision.fallbackReason ?? null,
  };

  command.signal?.throwIfAborted();
  const recorded = await recordFrame(sql, {
    sessionId: command.sessionId,
    userId: command.userId,
    frameNumber: command.frameNumber ?? null,
    frameType: command.frameType,
    mode: policy.mode,
    format: response.format,
    quality: response.quality,
    width: response.width,
    height: response.height,
    originalBytes,
    compressedBytes: output.length,
    compressionRatio: ratio,
    ssim: response.ssim,
    psnrDb: response.psnr_db,
    budgetBytes: budget.budgetBytes,
    withinBudget: response.within_budget,
    encodeAttempts: decision.encodeAttempts,
    decodeMs,
    encodeMs,
    metricsMs,
    totalMs,
    fallback: response.fallback_used,
    fallbackReason: response.fallback_reason,
  });
  // Another user claimed the session between the check and the write: nothing was stored.
  if (!recorded) throw new NotFoundError('Session not found');
  // A cache: when Redis is down the next frame starts from the priors (the breaker keeps this cheap).
  await saveModel(runtime, command.sessionId, decision.model);

  metrics.addMetric('FramesCompressed', MetricUnit.Count, 1);
  metrics.addMetric('CompressionRatio', MetricUnit.NoUnit, ratio);
  metrics.addMetric('BytesSaved', MetricUnit.Bytes, Math.max(0, originalBytes - output.length));
  metrics.addMetric('EncodeMs', MetricUnit.Milliseconds, encodeMs);
  metrics.addMetric('EncodeAttempts', MetricUnit.Count, decision.encodeAttempts);
  if (chosen) metrics.addMetric('SSIM', MetricUnit.NoUnit, chosen.ssim);
  if (decision.status === 'fallback') {
    metrics.addMetric('Fallbacks', MetricUnit.Count, 1);
    logger.warn('frame fell back to the original', { reason: decision.fallbackReason });
  }
  return response;
}
