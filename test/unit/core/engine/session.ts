/**
 * Runs a synthetic session through the engine, frame after frame with the model carried over, and
 * the exhaustive oracle on the same frames.
 */
import type { OutputFormat } from '../../../../functions/core/contracts/config.ts';
import type { FrameType } from '../../../../functions/core/engine/candidates.ts';
import {
  type CompressionDecision,
  compressFrame,
  type EnginePolicy,
} from '../../../../functions/core/engine/engine.ts';
import type { EngineModel } from '../../../../functions/core/engine/model.ts';
import { exhaustiveSearch } from '../../../../functions/core/engine/oracle.ts';
import type { Selection } from '../../../../functions/core/engine/selection.ts';
import { createFakePort, type FakeContent, fakeClock, hashNoise } from './fake-port.ts';

/** A session to simulate. */
export interface SessionSpec {
  readonly width: number;
  readonly height: number;
  readonly frameType?: FrameType;
  readonly frames: number;
  readonly budgetBytes: number;
  /** Content of the session at a frame index. */
  readonly content: (frameIndex: number) => FakeContent;
  readonly minQualityScore?: number;
  readonly maxLatencyMs?: number;
  readonly allowedFormats?: readonly OutputFormat[];
}

/** One simulated frame: what the engine decided and what the oracle would have chosen. */
export interface FrameOutcome {
  readonly decision: CompressionDecision;
  readonly oracle: Selection | undefined;
}

/** Content that drifts slowly around a base, as a steady camera shot does. */
export function drifting(base: FakeContent): (frameIndex: number) => FakeContent {
  return (frameIndex) => ({
    ...base,
    complexity: base.complexity + 0.05 * hashNoise(base.seed, frameIndex, 7),
    detail: base.detail + 0.05 * hashNoise(base.seed, frameIndex, 8),
  });
}

/** Simulates a session and returns each frame's decision next to the oracle's choice. */
export async function runSession(spec: SessionSpec): Promise<FrameOutcome[]> {
  const frame = {
    width: spec.width,
    height: spec.height,
    originalBytes: spec.width * spec.height,
    frameType: spec.frameType ?? 'video',
  };
  const policy: EnginePolicy = {
    mode: 'adaptive',
    targetCompressionRatio: 0.8,
    minQualityScore: spec.minQualityScore ?? 0.85,
    maxLatencyMs: spec.maxLatencyMs ?? 100,
    allowedFormats: spec.allowedFormats ?? ['jpeg', 'webp'],
  };
  const outcomes: FrameOutcome[] = [];
  let model: EngineModel | undefined;
  for (let frameIndex = 0; frameIndex < spec.frames; frameIndex++) {
    const content = spec.content(frameIndex);
    const clock = fakeClock();
    const port = createFakePort({ frame, content, frameIndex, clock });
    const decision = await compressFrame({
      frame,
      policy,
      budget: { budgetBytes: spec.budgetBytes },
      model,
      port,
      now: clock.now,
    });
    model = decision.model;
    const oracle = await exhaustiveSearch({
      frame,
      allowedFormats: policy.allowedFormats,
      budgetBytes: spec.budgetBytes,
      minQualityScore: policy.minQualityScore,
      port: createFakePort({ frame, content, frameIndex }),
    });
    outcomes.push({ decision, oracle: oracle.selection });
  }
  return outcomes;
}

/** Mean of a list (0 for an empty one). */
export function mean(values: readonly number[]): number {
  return values.length === 0 ? 0 : values.reduce((a, b) => a + b, 0) / values.length;
}
