/**
 * What the compression benchmarks share (the peak-RSS child, the cold start, the temporal baseline): the production policy,
 * the three network profiles, and one frame served the way `compress-service.ts` serves it (decode,
 * the latency budget minus the decode time, the sharp port, the engine, the model carried through
 * its JSON form as Redis holds it).
 */
import type { FrameType } from '../functions/core/engine/candidates.ts';
import { type CompressionDecision, compressFrame } from '../functions/core/engine/engine.ts';
import { type EngineModel, restoreModel } from '../functions/core/engine/model.ts';
import {
  type FrameBudget,
  frameBudget,
  type NetworkSample,
} from '../functions/core/network/budget.ts';
import { type ResolvedPolicy, resolvePolicy } from '../functions/core/policy.ts';
import { type DecodedFrame, decodeFrame } from '../functions/platform/imaging/frame-decoder.ts';
import {
  createSharpEnginePort,
  type SharpEnginePort,
} from '../functions/platform/imaging/sharp-engine-port.ts';

/** The policy of a caller with no stored config: adaptive defaults, JPEG and WebP. */
export const POLICY: ResolvedPolicy = resolvePolicy({}, null);

/** A named network profile of the benchmark. */
export interface NetworkProfile extends NetworkSample {
  /** Short label, e.g. `5 Mbps / 30 fps`. */
  readonly name: string;
}

/** The three network profiles, with the 1 % loss the engine's own session tests assume. */
export const PROFILES: readonly NetworkProfile[] = [
  { name: '5 Mbps / 30 fps', bandwidthKbps: 5000, packetLossPercent: 1, fps: 30 },
  { name: '1.5 Mbps / 20 fps', bandwidthKbps: 1500, packetLossPercent: 1, fps: 20 },
  { name: '400 kbps / 10 fps', bandwidthKbps: 400, packetLossPercent: 1, fps: 10 },
];

/** One frame served as production serves it, with its timings. */
export interface ServedFrame {
  readonly decoded: DecodedFrame;
  /** The frame's port: it still holds every encoding the engine produced. */
  readonly port: SharpEnginePort;
  readonly decision: CompressionDecision;
  readonly budget: FrameBudget;
  /** `decodeFrame` wall time, ms. */
  readonly decodeMs: number;
  /** Port creation (the input's luma) plus `compressFrame`, wall time in ms. */
  readonly engineMs: number;
  /** The model for the session's next frame, after a JSON round trip as through Redis. */
  readonly model: EngineModel;
}

/**
 * Decodes and compresses one frame under `policy` ({@link POLICY} unless given) like `compress()`
 * does: the engine gets the latency budget minus what decoding took (at least 1 ms) and the
 * session's model.
 */
export async function serveFrame(
  frame: Buffer,
  frameType: FrameType,
  network: NetworkSample,
  model: EngineModel | undefined,
  policy: ResolvedPolicy = POLICY,
): Promise<ServedFrame> {
  const decodeStarted = performance.now();
  const decoded = await decodeFrame(frame);
  const decodeMs = performance.now() - decodeStarted;
  const budget = frameBudget({
    originalBytes: frame.length,
    targetCompressionRatio: policy.targetCompressionRatio,
    network,
  });
  const engineStarted = performance.now();
  const port = createSharpEnginePort(decoded);
  const decision = await compressFrame({
    frame: {
      width: decoded.width,
      height: decoded.height,
      originalBytes: frame.length,
      frameType,
    },
    policy: { ...policy, maxLatencyMs: Math.max(1, policy.maxLatencyMs - decodeMs) },
    budget,
    model,
    port,
    now: () => performance.now(),
  }).finally(() => port.finish());
  const engineMs = performance.now() - engineStarted;
  return {
    decoded,
    port,
    decision,
    budget,
    decodeMs,
    engineMs,
    model: restoreModel(JSON.parse(JSON.stringify(decision.model))).model,
  };
}
