/**
 * The temporal benchmark's baseline: today's per-frame engine, one frame at a time as the service
 * serves it, the session's model carried from each frame to the next.
 */

import { applyBudgetMiss } from '../functions/core/engine/budget-miss.ts';
import type { EngineModel } from '../functions/core/engine/model.ts';
import { POLICY, serveFrame } from './compress-support.ts';
import type { SentFrame, SessionServer } from './temporal.ts';

const NOTHING = Buffer.alloc(0);

/**
 * A fresh session of the per-frame engine under the production policy (with `maxLatencyMs` in
 * place of its latency budget when given): each frame decoded and compressed on its own
 * (`serveFrame`), then what goes out decided as `compress-service.ts` decides it (`applyBudgetMiss`
 * with the policy's `on_budget_miss`): the chosen encoding (`success`), the original (`fallback`),
 * or nothing (`dropped`, a miss of a budget the network limits).
 */
export function perFrameEngine(maxLatencyMs?: number): SessionServer {
  const policy = maxLatencyMs === undefined ? POLICY : { ...POLICY, maxLatencyMs };
  let model: EngineModel | undefined;
  return async (frame, network): Promise<SentFrame> => {
    const served = await serveFrame(frame.data, frame.frameType, network, model, policy);
    model = served.model;
    const { decision, budget, port } = served;
    const sent = applyBudgetMiss(decision, policy.onBudgetMiss, budget, frame.data.length);
    if (sent.kind === 'dropped') return { status: 'dropped', bytes: NOTHING };
    if (sent.kind === 'original') return { status: 'fallback', bytes: frame.data };
    const bytes = decision.chosen ? port.output(decision.chosen) : frame.data;
    return { status: decision.status, bytes };
  };
}
