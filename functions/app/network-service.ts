/**
 * Network updates, estimates and session statistics (docs/design.md section 2): the orchestration
 * behind the `network` function's routes, and {@link loadLiveSession} for /compress.
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { NetworkConditions } from '../core/contracts/compress.ts';
import type { StoredConfig } from '../core/contracts/config.ts';
import type { NetworkEstimateResponse, SessionStatistics } from '../core/contracts/network.ts';
import type { EngineModel } from '../core/engine/model.ts';
import { type Recommendation, recommendEncoding } from '../core/engine/recommend.ts';
import { NotFoundError } from '../core/errors.ts';
import {
  describeEstimate,
  type NetworkEstimate,
  type NetworkEstimatorState,
  updateEstimator,
} from '../core/network/estimator.ts';
import { resolvePolicy } from '../core/policy.ts';
import { nextFrameBudget } from '../core/temporal/temporal-plan.ts';
import { getConfig } from '../platform/db/config-repository.ts';
import { insertNetworkSample } from '../platform/db/network-repository.ts';
import { REPEAT } from '../platform/db/session-quota.ts';
import { sessionOwnedBy, sessionTotals } from '../platform/db/session-repository.ts';
import { answerOnce } from '../platform/idempotency/answer-once.ts';
import { requestIdentity } from '../platform/idempotency/identity.ts';
import { readLiveState, rebuildState, writeLiveState } from '../platform/network/live-state.ts';
import { metrics } from '../platform/observability.ts';
import type { Runtime } from '../platform/runtime.ts';
import { readTemporalState } from '../platform/temporal/temporal-store.ts';

/** A route's answer: the body, and whether Redis failed along the way (`X-AIC-Degraded`). */
export interface NetworkResult<T> {
  body: T;
  redisDegraded: boolean;
  /** The body is the stored answer of an earlier copy of the update (`X-AIC-Replay: true`). */
  replay?: boolean;
}

/** One network update of a session by its caller. */
export interface NetworkUpdateCommand {
  userId: string;
  sessionId: string;
  conditions: NetworkConditions;
  /** The client's `Idempotency-Key`: the update is stored and answered once (section 2.4). */
  idempotencyKey?: string;
}

const round = (value: number, digits: number) => Math.round(value * 10 ** digits) / 10 ** digits;

const sessionNotFound = () => new NotFoundError('Session not found');

/**
 * What /compress would try first for the session's next frame under `estimate`: the caller's
 * stored policy with no per-request overrides, the session's model when the policy is predictive
 * (as compress-service loads it), and the budget the session's bit bucket gives its next frame
 * (`nextFrameBudget`; the estimate's even share when Redis does not answer). The frame is the
 * session's latest, which the model carries (720p video before the first frame). Returns the
 * estimate with that budget, and the recommendation.
 */
async function planNextFrame(
  runtime: Runtime,
  command: { userId: string; sessionId: string },
  stored: StoredConfig | null,
  estimate: NetworkEstimate,
  model: EngineModel | undefined,
): Promise<{ estimate: NetworkEstimate; recommendation: Recommendation }> {
  const temporal = await readTemporalState(runtime, command.userId, command.sessionId);
  const planned = temporal
    ? { ...estimate, budgetBytesPerFrame: nextFrameBudget(temporal.state.bucket, estimate.sample) }
    : estimate;
  const policy = resolvePolicy({}, stored);
  const recommendation = await recommendEncoding({
    policy,
    model: policy.predictive ? model : undefined,
    budgetBytes: planned.budgetBytesPerFrame,
  });
  return { estimate: planned, recommendation };
}

function toResponse(
  sessionId: string,
  estimate: NetworkEstimate,
  recommendation: Recommendation,
): NetworkEstimateResponse {
  return {
    session_id: sessionId,
    smoothed_bandwidth_kbps: round(estimate.smoothedKbps, 3),
    predicted_bandwidth_kbps: round(estimate.predictedKbps, 3),
    stability: round(estimate.stability, 4),
    network_quality: estimate.quality,
    network_condition: round(estimate.condition, 4),
    budget_bytes_per_frame: estimate.budgetBytesPerFrame,
    recommendation: { ...recommendation },
    sample_count: estimate.sampleCount,
  };
}

/**
 * Records one update: folds it into the session's state (from Redis, else rebuilt from Postgres),
 * stores it in Postgres (creating the caller's session on first use; 429 when it is new and the
 * caller has no new session left today), then caches
 * the new state in Redis. The answer follows the Postgres commit; a Redis failure only marks it
 * degraded. A Postgres failure propagates (503, nothing stored).
 *
 * The cached state is replaced only when it is exactly the one this update was folded into, both
 * in Redis (compare-and-set on `seq`) and in Postgres (the newest sample before this one is the
 * state's newest); otherwise it is dropped and the next reader rebuilds it from Postgres. Two
 * racing updates both get a row; each answer is computed without the other's sample.
 *
 * An update whose `idempotencyKey` is stored for the session already (a retry whose first answer
 * was not kept) is not folded in again: it is answered with the session's current estimate.
 */
export async function recordNetworkUpdate(
  runtime: Runtime,
  command: NetworkUpdateCommand,
): Promise<NetworkResult<NetworkEstimateResponse>> {
  const { sql } = runtime.db;
  const live = await readLiveState(runtime, command.userId, command.sessionId, true);
  let base: NetworkEstimatorState | undefined = live.state;
  let baseId: number | null = live.state ? Number(live.seq) : null;
  if (base === undefined) {
    const rebuilt = await rebuildState(sql, command.sessionId, command.userId);
    base = rebuilt?.state;
    baseId = rebuilt?.lastId ?? null;
  }
  const state = updateEstimator(base, command.conditions);
  const estimate = describeEstimate(state);
  const inserted = await insertNetworkSample(
    sql,
    {
      sessionId: command.sessionId,
      userId: command.userId,
      conditions: command.conditions,
      estimatedBandwidthKbps: estimate.smoothedKbps,
      networkCondition: estimate.condition,
      idempotencyKey: command.idempotencyKey,
    },
    runtime.settings.SESSIONS_PER_USER_PER_DAY,
  );
  if (inserted === REPEAT) return getNetworkEstimate(runtime, command.userId, command.sessionId);
  // A base that missed a stored sample (a cache write lost to a Redis failure) is dropped, not kept.
  const expectedSeq = inserted.previousId === baseId ? live.seq : null;
  // The Redis write is sent first: its round trip runs while the engine plans on this thread.
  const [cached, planned] = await Promise.all([
    writeLiveState(runtime, command.userId, command.sessionId, expectedSeq, state, inserted.id),
    planNextFrame(runtime, command, inserted.config, estimate, live.model),
  ]);
  metrics.addMetric('NetworkUpdates', MetricUnit.Count, 1);
  return {
    body: toResponse(command.sessionId, planned.estimate, planned.recommendation),
    redisDegraded: !live.redisOk || !cached,
  };
}

/**
 * {@link recordNetworkUpdate} once per `idempotencyKey` (docs/design.md section 2.4): a repeat
 * within the idempotency window gets the first answer's body, marked as a replay, and stores
 * nothing. An update without a key is recorded every time.
 *
 * @throws IdempotencyInProgressError when the first copy of the update is still in the work.
 */
export async function recordNetworkUpdateOnce(
  runtime: Runtime,
  command: NetworkUpdateCommand,
): Promise<NetworkResult<NetworkEstimateResponse>> {
  const { userId, sessionId, idempotencyKey } = command;
  const identity = requestIdentity('network', userId, sessionId, undefined, idempotencyKey);
  let redisDegraded = false;
  const { answer, replay } = await answerOnce(runtime, identity, async () => {
    const result = await recordNetworkUpdate(runtime, command);
    redisDegraded = result.redisDegraded;
    return result.body;
  });
  return { body: answer, redisDegraded, replay };
}

/**
 * The estimate the session would have after `conditions`, without recording anything (gRPC's
 * `AnalyzeNetworkConditions`): its current state from Redis, else rebuilt from Postgres, plus the
 * sample, and the recommendation by the same rules as an update.
 */
export async function previewNetworkUpdate(
  runtime: Runtime,
  command: NetworkUpdateCommand,
): Promise<NetworkResult<NetworkEstimateResponse>> {
  const { sql } = runtime.db;
  const { userId, sessionId, conditions } = command;
  const [stored, live] = await Promise.all([
    getConfig(sql, userId),
    readLiveState(runtime, userId, sessionId, true),
  ]);
  const base = live.state ?? (await rebuildState(sql, sessionId, userId))?.state;
  const { estimate, recommendation } = await planNextFrame(
    runtime,
    command,
    stored,
    describeEstimate(updateEstimator(base, conditions)),
    live.model,
  );
  return { body: toResponse(sessionId, estimate, recommendation), redisDegraded: !live.redisOk };
}

/**
 * The session's current estimate for its owner: the cached state, or the one rebuilt from Postgres
 * (then cached). 404 when the session is not the caller's or has no network sample yet.
 */
export async function getNetworkEstimate(
  runtime: Runtime,
  userId: string,
  sessionId: string,
): Promise<NetworkResult<NetworkEstimateResponse>> {
  const { sql } = runtime.db;
  const [owned, live, stored] = await Promise.all([
    sessionOwnedBy(sql, sessionId, userId),
    readLiveState(runtime, userId, sessionId, true),
    getConfig(sql, userId),
  ]);
  if (!owned) throw sessionNotFound();
  let state = live.state;
  let cached = live.redisOk;
  if (state === undefined) {
    const rebuilt = await rebuildState(sql, sessionId, userId);
    if (rebuilt === undefined) throw new NotFoundError('No network estimate for this session');
    state = rebuilt.state;
    cached = await writeLiveState(runtime, userId, sessionId, live.seq, state, rebuilt.lastId);
  }
  const { estimate, recommendation } = await planNextFrame(
    runtime,
    { userId, sessionId },
    stored,
    describeEstimate(state),
    live.model,
  );
  return { body: toResponse(sessionId, estimate, recommendation), redisDegraded: !cached };
}

/** What /compress needs of a session before its engine runs. */
export interface LiveSession {
  /** The session's learned engine model (undefined: none, corrupt, or Redis unavailable). */
  model: EngineModel | undefined;
  /** Its live network estimate, when asked for and the session has one. */
  estimate: NetworkEstimate | undefined;
}

/**
 * The session's engine model and (when `withEstimate`) its live network estimate, in one Redis
 * round trip; a missing estimate is rebuilt from the last samples in Postgres and cached again.
 * Never throws for Redis.
 */
export async function loadLiveSession(
  runtime: Runtime,
  sessionId: string,
  userId: string,
  withEstimate: boolean,
): Promise<LiveSession> {
  const live = await readLiveState(runtime, userId, sessionId, true);
  if (!withEstimate || live.state) {
    return { model: live.model, estimate: live.state ? describeEstimate(live.state) : undefined };
  }
  const rebuilt = await rebuildState(runtime.db.sql, sessionId, userId);
  if (rebuilt === undefined) return { model: live.model, estimate: undefined };
  await writeLiveState(runtime, userId, sessionId, live.seq, rebuilt.state, rebuilt.lastId);
  return { model: live.model, estimate: describeEstimate(rebuilt.state) };
}

/**
 * The session's live network estimate, or undefined (see {@link loadLiveSession}), with the budget
 * its bit bucket gives its next frame (see {@link planNextFrame}).
 */
export async function loadNetworkEstimate(
  runtime: Runtime,
  sessionId: string,
  userId: string,
): Promise<NetworkEstimate | undefined> {
  const [{ estimate }, temporal] = await Promise.all([
    loadLiveSession(runtime, sessionId, userId, true),
    readTemporalState(runtime, userId, sessionId),
  ]);
  if (!estimate || !temporal) return estimate;
  return {
    ...estimate,
    budgetBytesPerFrame: nextFrameBudget(temporal.state.bucket, estimate.sample),
  };
}

/** Statistics of the caller's session; 404 when the caller has no such session. */
export async function getSessionStatistics(
  runtime: Runtime,
  userId: string,
  sessionId: string,
): Promise<SessionStatistics> {
  const totals = await sessionTotals(runtime.db.sql, sessionId, userId);
  if (totals === null) throw sessionNotFound();
  const { frames } = totals;
  const perFrame = (sum: number, digits: number) =>
    frames > 0 ? round(sum / frames, digits) : null;
  // A dropped frame has no SSIM; an unchanged one has that of the viewer's image against it.
  const measured = frames - totals.dropped;
  return {
    session_id: sessionId,
    started_at: totals.startedAt.toISOString(),
    last_seen_at: totals.lastSeenAt.toISOString(),
    duration_s: round((totals.lastSeenAt.getTime() - totals.startedAt.getTime()) / 1000, 3),
    frames,
    fallbacks: totals.fallbacks,
    fallback_rate: perFrame(totals.fallbacks, 4),
    dropped: totals.dropped,
    dropped_rate: perFrame(totals.dropped, 4),
    unchanged: totals.unchanged,
    unchanged_rate: perFrame(totals.unchanged, 4),
    avg_compression_ratio:
      totals.bytesIn > 0 ? round(1 - totals.bytesOut / totals.bytesIn, 4) : null,
    avg_ssim: measured > 0 ? round(totals.ssimSum / measured, 5) : null,
    avg_latency_ms: perFrame(totals.latencyMsSum, 2),
    bytes_in: totals.bytesIn,
    bytes_out: totals.bytesOut,
    bytes_saved: totals.bytesIn - totals.bytesOut,
  };
}
