/**
 * The temporal benchmark's baseline: today's per-frame engine, one frame at a time as the service
 * serves it, the session's model carried from each frame to the next.
 */
import { applyBudgetMiss } from '../functions/core/engine/budget-miss.ts';
import type { EngineModel } from '../functions/core/engine/model.ts';
import { frameBudget } from '../functions/core/network/budget.ts';
import { POLICY, serveFrame } from './compress-support.ts';
import type { SentFrame, SessionServer } from './temporal.ts';

const NOTHING = Buffer.alloc(0);

/**
 * A fresh session of the per-frame engine: each frame decoded and compressed by
 * {@link serveFrame} under the production policy, then what goes out decided as
 * `compress-service.ts` decides it (`applyBudgetMiss` with the policy's `on_budget_miss`): the
 * chosen encoding (`success`), the original (`fallback`), or nothing (`dropped`, a miss of a budget
 * the network limits).
 */
export function perFrameEngine(): SessionServer {
  let model: EngineModel | undefined;
  return async (frame, network): Promise<SentFrame> => {
    const served = await serveFrame(frame.data, frame.frameType, network, model);
    model = served.model;
    const { decision } = served;
    // The same budget serveFrame gave the engine; its `limitedBy` decides what a miss is.
    const budget = frameBudget({
      originalBytes: frame.data.length,
      targetCompressionRatio: POLICY.targetCompressionRatio,
      network,
    });
    const sent = applyBudgetMiss(decision, POLICY.onBudgetMiss, budget, frame.data.length);
    if (sent.kind === 'dropped') return { status: 'dropped', bytes: NOTHING };
    if (sent.kind === 'original') return { status: 'fallback', bytes: frame.data };
    const chosen = decision.chosen;
    return {
      status: decision.status,
      bytes: chosen ? served.port.output(chosen) : frame.data,
    };
  };
}
