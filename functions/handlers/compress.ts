import { MAX_FRAME_BYTES_HTTP } from '../core/contracts/compress.ts';
import { PayloadTooLargeError } from '../core/errors.ts';
import { createFunctionHandler } from '../http/function-handler.ts';
import { decodedLength } from '../http/middlewares/body-parser.ts';
import { compress } from '../platform/compression/compress-service.ts';
import { getRuntime } from '../platform/runtime.ts';

/** Lambda entry of the compress function: `POST /api/v1/aic/compress`. */
export const handler = createFunctionHandler('compress', {
  compress: async ({ body, query, rawBody, userId }) => {
    const runtime = await getRuntime();
    let command: Parameters<typeof compress>[1];
    if (rawBody !== undefined && query) {
      const { session_id, frame_number, frame_type, network_condition, ...rest } = query;
      const { available_bandwidth_kbps, rtt_ms, packet_loss_percent, jitter_ms, fps } = rest;
      const network =
        available_bandwidth_kbps !== undefined
          ? {
              available_bandwidth_kbps,
              rtt_ms: rtt_ms ?? 0,
              packet_loss_percent: packet_loss_percent ?? 0,
              jitter_ms: jitter_ms ?? 0,
              fps: fps ?? 30,
            }
          : undefined;
      command = {
        ...pickPolicy(rest),
        userId,
        sessionId: session_id,
        frame: rawBody,
        frameNumber: frame_number,
        frameType: frame_type,
        network,
        networkCondition: network_condition,
      };
    } else if (body) {
      // The frame cap is checked on the base64 text, before anything is decoded.
      if (decodedLength(body.frame_data, true) > MAX_FRAME_BYTES_HTTP) {
        throw new PayloadTooLargeError(MAX_FRAME_BYTES_HTTP);
      }
      command = {
        ...pickPolicy(body),
        userId,
        sessionId: body.session_id,
        frame: Buffer.from(body.frame_data, 'base64'),
        frameNumber: body.frame_number,
        frameType: body.frame_type,
        network: body.network,
        networkCondition: body.network_condition,
      };
    } else {
      throw new Error('compress invoked without a validated body');
    }
    const result = await compress(runtime, command);
    const timing = result.latency_ms;
    return {
      body: result,
      headers: {
        'Server-Timing': `decode;dur=${timing.decode}, encode;dur=${timing.encode}, metrics;dur=${timing.metrics}, total;dur=${timing.total}`,
      },
    };
  },
});

function pickPolicy(source: {
  mode?: 'off' | 'conservative' | 'adaptive' | 'aggressive';
  target_compression_ratio?: number;
  max_latency_ms?: number;
  min_quality_score?: number;
}) {
  return {
    mode: source.mode,
    target_compression_ratio: source.target_compression_ratio,
    max_latency_ms: source.max_latency_ms,
    min_quality_score: source.min_quality_score,
  };
}
