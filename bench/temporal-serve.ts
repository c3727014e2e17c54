/**
 * The temporal side of `npm run bench:temporal`: a session served by the compress service's own
 * engine phase (`runEngine`: the bit bucket, the viewer's image, `unchanged` and refinement), with
 * the session's model and temporal state carried in memory from frame to frame as a gRPC stream
 * carries them. Only what needs Postgres and Redis is left out: the caller has no stored config
 * (the production defaults), and the network travels with each frame.
 */
import { toCompressCommand } from '../functions/app/compress-command.ts';
import { runEngine } from '../functions/app/compress-service.ts';
import { type EngineModel, restoreModel } from '../functions/core/engine/model.ts';
import { DEFAULT_FPS } from '../functions/core/network/budget.ts';
import type { TemporalState } from '../functions/core/temporal/session-state.ts';
import { decodeFrame } from '../functions/platform/imaging/frame-decoder.ts';
import type { SentFrame, SessionServer } from './temporal.ts';

/**
 * A fresh session of the temporal service, each frame sent with `max_latency_ms: maxLatencyMs`
 * when given (else the policy's latency budget).
 */
export function temporalSession(maxLatencyMs?: number): SessionServer {
  const sessionId = crypto.randomUUID();
  let model: EngineModel | undefined;
  let temporal: TemporalState = {};
  return async (frame, network): Promise<SentFrame> => {
    const command = toCompressCommand(
      {
        session_id: sessionId,
        frame_number: frame.frameNumber,
        timestamp_us: frame.timestampUs,
        frame_type: frame.frameType,
        max_latency_ms: maxLatencyMs,
        network: {
          available_bandwidth_kbps: network.bandwidthKbps,
          packet_loss_percent: network.packetLossPercent,
          fps: network.fps ?? DEFAULT_FPS,
          rtt_ms: 50,
          jitter_ms: 5,
        },
      },
      frame.data,
      'bench',
    );
    const started = performance.now();
    const decoded = await decodeFrame(frame.data);
    const decodeMs = performance.now() - started;
    const live = { model: undefined, estimate: undefined };
    const prepared = { command, started, decodeMs, decoded, stored: null, live, temporal: null };
    // As a gRPC stream hands a model over in memory: through the check a model read from Redis passes.
    const served = await runEngine(prepared, model && restoreModel(model).model, temporal);
    model = served.model;
    temporal = served.temporal ?? {};
    const { status, compressed_data } = served.response;
    return { status, bytes: Buffer.from(compressed_data, 'base64') };
  };
}
