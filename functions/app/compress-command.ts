/**
 * The one mapping from a validated compress request to the command the compress service runs. Both
 * transports validate with the HTTP contract's schemas (docs/design.md section 2) and hand the
 * result here: the HTTP handler for a JSON body ({@link compressInputFromQuery} first for a raw
 * image with its fields in the query), the gRPC mapping for `CompressFrame` and every frame of
 * `CompressStream`. So a frame is compressed alike whichever way it arrived.
 */
import type {
  CompressJsonRequest,
  CompressQuery,
  NetworkConditions,
} from '../core/contracts/compress.ts';
import type { FrameType } from '../core/engine/candidates.ts';
import type { NetworkSample } from '../core/network/budget.ts';
import { conditionToBandwidthKbps } from '../core/network/condition.ts';
import type { PolicyOverrides } from '../core/policy.ts';

/** One frame to compress, whichever transport it came over. */
export interface CompressCommand {
  userId: string;
  sessionId: string;
  /** The encoded frame as received (already base64-decoded). */
  frame: Buffer;
  frameNumber?: number;
  /** The client's capture time in microseconds: the frame clock of the session's bit bucket. */
  timestampUs?: number;
  frameType: FrameType;
  /** What the request sets of the policy; the rest comes from the stored config and mode. */
  policy: PolicyOverrides;
  /**
   * The network the request describes (a sample or a 0..1 condition score); undefined when it
   * describes none, and the session's live estimate is used.
   */
  network?: NetworkSample;
  /**
   * Aborted when the caller is gone (gRPC cancellation or deadline): the work stops at the next
   * phase boundary with the signal's reason, and nothing is stored for the frame.
   */
  signal?: AbortSignal;
}

/** A validated compress request without its frame: the JSON body's fields, snake_case. */
export type CompressInput = Omit<CompressJsonRequest, 'frame_data'>;

function networkSample(input: CompressInput): NetworkSample | undefined {
  if (input.network) {
    return {
      bandwidthKbps: input.network.available_bandwidth_kbps,
      packetLossPercent: input.network.packet_loss_percent,
      fps: input.network.fps,
    };
  }
  if (input.network_condition !== undefined) {
    return {
      bandwidthKbps: conditionToBandwidthKbps(input.network_condition),
      packetLossPercent: 0,
    };
  }
  return undefined;
}

/** The command for `frame`, sent by `userId` with the validated fields `input`. */
export function toCompressCommand(
  input: CompressInput,
  frame: Buffer,
  userId: string,
): CompressCommand {
  return {
    userId,
    sessionId: input.session_id,
    frame,
    frameNumber: input.frame_number,
    timestampUs: input.timestamp_us,
    frameType: input.frame_type,
    policy: {
      mode: input.mode,
      targetCompressionRatio: input.target_compression_ratio,
      maxLatencyMs: input.max_latency_ms,
      minQualityScore: input.min_quality_score,
      onBudgetMiss: input.on_budget_miss,
      unchangedSsimScreen: input.unchanged_ssim_screen,
      unchangedSsimVideo: input.unchanged_ssim_video,
    },
    network: networkSample(input),
  };
}

/**
 * The fields of a raw-image request, whose query carries the network sample flattened: a sample is
 * present when `available_bandwidth_kbps` is, its other fields defaulting as in the JSON body.
 */
export function compressInputFromQuery(query: CompressQuery): CompressInput {
  const { available_bandwidth_kbps, rtt_ms, packet_loss_percent, jitter_ms, fps, ...fields } =
    query;
  const network: NetworkConditions | undefined =
    available_bandwidth_kbps === undefined
      ? undefined
      : {
          available_bandwidth_kbps,
          rtt_ms: rtt_ms ?? 0,
          packet_loss_percent: packet_loss_percent ?? 0,
          jitter_ms: jitter_ms ?? 0,
          fps: fps ?? 30,
        };
  return { ...fields, network };
}
