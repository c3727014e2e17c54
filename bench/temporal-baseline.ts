/**
 * The temporal benchmark's baseline: today's per-frame engine, one frame at a time as the service
 * serves it, the session's model carried from each frame to the next.
 */

import { applyBudgetMiss } from '../functions/core/engine/budget-miss.ts';
import type { FrameType } from '../functions/core/engine/candidates.ts';
import { compressFrame } from '../functions/core/engine/engine.ts';
import { type EngineModel, restoreModel } from '../functions/core/engine/model.ts';
import {
  type FrameBudget,
  frameBudget,
  type NetworkSample,
} from '../functions/core/network/budget.ts';
import type { ResolvedPolicy } from '../functions/core/policy.ts';
import { decodeFrame } from '../functions/platform/imaging/frame-decoder.ts';
import { createSharpEnginePort } from '../functions/platform/imaging/sharp-engine-port.ts';
import { POLICY } from './compress-support.ts';
import type { SentFrame, SessionServer } from './temporal.ts';

const NOTHING = Buffer.alloc(0);

/**
 * One frame as `compress()` serves it without temporal state: decoded, then the engine with the
 * latency budget minus what decoding took (at least 1 ms), the session's model and the frame's
 * budget; then `on_budget_miss`.
 */
async function serveAlone(
  frame: { data: Buffer; frameType: FrameType },
  network: NetworkSample,
  policy: ResolvedPolicy,
  model: EngineModel | undefined,
): Promise<{ sent: SentFrame; model: EngineModel }> {
  const started = performance.now();
  const decoded = await decodeFrame(frame.data);
  const decodeMs = performance.now() - started;
  const originalBytes = frame.data.length;
  const { targetCompressionRatio } = policy;
  const budget: FrameBudget = frameBudget({ originalBytes, targetCompressionRatio, network });
  const port = createSharpEnginePort(decoded);
  try {
    const decision = await compressFrame({
      frame: {
        width: decoded.width,
        height: decoded.height,
        originalBytes,
        frameType: frame.frameType,
      },
      policy: { ...policy, maxLatencyMs: Math.max(1, policy.maxLatencyMs - decodeMs) },
      budget,
      model,
      port,
      now: () => performance.now(),
    });
    // The model as Redis would hand it to the next frame: through its JSON form.
    const next = restoreModel(JSON.parse(JSON.stringify(decision.model))).model;
    const sent = applyBudgetMiss(decision, policy.onBudgetMiss, budget, originalBytes);
    if (sent.kind === 'dropped')
      return { sent: { status: 'dropped', bytes: NOTHING }, model: next };
    if (sent.kind === 'original')
      return { sent: { status: 'fallback', bytes: frame.data }, model: next };
    const chosen = decision.chosen;
    const bytes = chosen ? port.output(chosen) : frame.data;
    return { sent: { status: decision.status, bytes }, model: next };
  } finally {
    port.finish();
  }
}

/**
 * A fresh session of the per-frame engine under the production policy (with `maxLatencyMs` in
 * place of its latency budget when given): each frame decoded and compressed on its own, then what
 * goes out decided as `compress-service.ts` decides it (`applyBudgetMiss` with the policy's
 * `on_budget_miss`): the chosen encoding (`success`), the original (`fallback`), or nothing
 * (`dropped`, a miss of a budget the network limits).
 */
export function perFrameEngine(maxLatencyMs?: number): SessionServer {
  const policy = maxLatencyMs === undefined ? POLICY : { ...POLICY, maxLatencyMs };
  let model: EngineModel | undefined;
  return async (frame, network): Promise<SentFrame> => {
    const served = await serveAlone(frame, network, policy, model);
    model = served.model;
    return served.sent;
  };
}
