/**
 * The two read-only network RPCs, composed from the network service's building blocks (live state
 * in Redis, samples in Postgres, the estimator and the engine's own recommendation), so their
 * numbers are those of `PUT`/`GET .../network` and of /compress.
 */

import {
  getNetworkEstimate,
  loadNetworkEstimate,
  previewNetworkUpdate,
} from '../app/network-service.ts';
import type { NetworkConditions } from '../core/contracts/compress.ts';
import { recommendEncoding } from '../core/engine/recommend.ts';
import { describeEstimate, type NetworkEstimate } from '../core/network/estimator.ts';
import { resolvePolicy } from '../core/policy.ts';
import { getConfig } from '../platform/db/config-repository.ts';
import { readLiveState } from '../platform/network/live-state.ts';
import type { Runtime } from '../platform/runtime.ts';
import {
  type HintsInput,
  toNetworkEstimateMessage,
  toProtoEnum,
  toRecommendationMessage,
} from './mapping.ts';
import type { CompressionHintsMessage, NetworkEstimateMessage } from './proto.ts';

const round = (value: number, digits: number) => Math.round(value * 10 ** digits) / 10 ** digits;

/**
 * What the server would do with the session's next frame: the effective policy (request mode,
 * stored config, mode defaults), the current estimate's byte budget and the engine's first choice
 * under them. A session the caller has not used yet gets the policy's hint without a network
 * (sample_count 0, budget 0: only the latency budget and the SSIM floor constrain the choice).
 */
export async function compressionHints(
  runtime: Runtime,
  userId: string,
  input: HintsInput,
): Promise<CompressionHintsMessage> {
  const { sql } = runtime.db;
  const [stored, live] = await Promise.all([
    getConfig(sql, userId),
    readLiveState(runtime, userId, input.sessionId, true),
  ]);
  const estimate: NetworkEstimate | undefined = live.state
    ? describeEstimate(live.state)
    : await loadNetworkEstimate(runtime, input.sessionId, userId);
  const policy = resolvePolicy({ mode: input.mode }, stored);
  const recommendation = await recommendEncoding({
    policy,
    model: policy.predictive ? live.model : undefined,
    budgetBytes: estimate?.budgetBytesPerFrame ?? Number.MAX_SAFE_INTEGER,
    frameType: input.frameType,
  });
  return {
    session_id: input.sessionId,
    recommendation: toRecommendationMessage(recommendation),
    budget_bytes_per_frame: estimate?.budgetBytesPerFrame ?? 0,
    network_quality: toProtoEnum('NETWORK_QUALITY', estimate?.quality),
    network_condition: estimate ? round(estimate.condition, 4) : 0,
    sample_count: estimate?.sampleCount ?? 0,
    mode: toProtoEnum('COMPRESSION_MODE', policy.mode),
    target_compression_ratio: policy.targetCompressionRatio,
    max_latency_ms: policy.maxLatencyMs,
    min_quality_score: policy.minQualityScore,
    on_budget_miss: toProtoEnum('ON_BUDGET_MISS', policy.onBudgetMiss),
    unchanged_ssim_screen: policy.unchangedSsim.screen ?? undefined,
    unchanged_ssim_video: policy.unchangedSsim.video ?? undefined,
  };
}

/**
 * The session's estimate without recording anything: with `conditions`, the estimate the session
 * would have after that sample; without, its current estimate (NOT_FOUND before the first sample).
 */
export async function analyseNetwork(
  runtime: Runtime,
  userId: string,
  sessionId: string,
  conditions: NetworkConditions | undefined,
): Promise<NetworkEstimateMessage> {
  const result =
    conditions === undefined
      ? await getNetworkEstimate(runtime, userId, sessionId)
      : await previewNetworkUpdate(runtime, { userId, sessionId, conditions });
  return toNetworkEstimateMessage(result.body);
}
