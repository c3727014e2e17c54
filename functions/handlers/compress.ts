import { compress, type TrialSummary } from '../app/compress-service.ts';
import { type CompressResponse, MAX_FRAME_BYTES_HTTP } from '../core/contracts/compress.ts';
import { PayloadTooLargeError } from '../core/errors.ts';
import { createFunctionHandler } from '../http/function-handler.ts';
import { decodedLength } from '../http/middlewares/body-parser.ts';
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
    const { response, trials } = await compress(runtime, command);
    return { body: response, headers: { 'Server-Timing': serverTiming(response, trials) } };
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

/**
 * The frame's phases, then every encode the engine tried in order (`try1`, `try2`, ...), e.g.
 * `try1;dur=3.1;desc="webp q40 x0.25 3684 B"`: what a browser's network panel or a curl user sees
 * of the search, without a field in the response body.
 */
function serverTiming(response: CompressResponse, trials: readonly TrialSummary[]): string {
  const { decode, encode, metrics, total } = response.latency_ms;
  const phases = [
    `decode;dur=${decode}`,
    `encode;dur=${encode}`,
    `metrics;dur=${metrics}`,
    `total;dur=${total}`,
  ];
  const tries = trials.map(
    (t, i) =>
      `try${i + 1};dur=${t.encodeMs.toFixed(1)};desc="${t.format} q${t.quality} x${t.scale}${t.bytes === undefined ? ' failed' : ` ${t.bytes} B`}"`,
  );
  return [...phases, ...tries].join(', ');
}
