import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { type CompressResponse, MAX_FRAME_BYTES_HTTP } from '../core/contracts/compress.ts';
import { applyBudgetMiss, type FrameOutcome } from '../core/engine/budget-miss.ts';
import { type CompressionDecision, compressFrame } from '../core/engine/engine.ts';
import type { EngineModel } from '../core/engine/model.ts';
import { describeCandidate, reportedQuality } from '../core/engine/screen-candidates.ts';
import type { MeasuredEncoding } from '../core/engine/selection.ts';
import { PayloadTooLargeError } from '../core/errors.ts';
import { LruMap } from '../core/lru-map.ts';
import { type FrameBudget, frameBudget } from '../core/network/budget.ts';
import { type ResolvedPolicy, resolvePolicy } from '../core/policy.ts';
import { getConfig } from '../platform/db/config-repository.ts';
import type { FrameMetricRecord } from '../platform/db/frame-metrics-repository.ts';
import { checkSessionQuota, claimSession } from '../platform/db/session-repository.ts';
import { answerOnce, type OnceAnswer } from '../platform/idempotency/answer-once.ts';
import { type RequestIdentity, requestIdentity } from '../platform/idempotency/identity.ts';
import { decodeFrame } from '../platform/imaging/frame-decoder.ts';
import {
  createSharpEnginePort,
  type SharpEnginePort,
} from '../platform/imaging/sharp-engine-port.ts';
import { toFrameEvent } from '../platform/metrics/frame-event-of.ts';
import { logger, metrics } from '../platform/observability.ts';
import { saveModel } from '../platform/redis/session-model.ts';
import type { Runtime } from '../platform/runtime.ts';
import type { CompressCommand } from './compress-command.ts';
import { type LiveSession, loadLiveSession } from './network-service.ts';
import { admitSessionFrame } from './session-rate-limit.ts';

const round = (value: number, digits = 2) => Math.round(value * 10 ** digits) / 10 ** digits;

/**
 * Sessions this process has seen claimed (`owner\0session`): a session is never deleted, so a hit
 * needs no look-up and no claim; a miss costs one of each.
 */
const ownedSessions = new LruMap<string, true>(50_000);
const ownedKey = (userId: string, sessionId: string) => `${userId}\u0000${sessionId}`;

/** What a caller already knows about a frame's session, so {@link prepareFrame} need not ask. */
export interface SessionKnowledge {
  /** The caller's session exists: a frame of it was stored for them (sessions are never deleted). */
  owned?: boolean;
  /** The caller holds the session's latest model: Redis is read only for the live estimate. */
  modelInHand?: boolean;
}

/** A frame checked, decoded and looked up, ready for the engine. */
export interface PreparedFrame {
  command: CompressCommand;
  /** `performance.now()` when the frame's work began (the origin of `latency_ms.total`). */
  started: number;
  decodeMs: number;
  decoded: Awaited<ReturnType<typeof decodeFrame>>;
  stored: Awaited<ReturnType<typeof getConfig>>;
  /** The session's cached model (unless the caller holds it) and live estimate. */
  live: LiveSession;
}

/** A frame the engine has compressed: its response, the row to store and the updated model. */
export interface CompressedFrame {
  response: CompressResponse;
  record: FrameMetricRecord;
  /** The session's model after this frame, for its next frame. */
  model: EngineModel;
  /** The measured SSIM of the chosen encoding, unrounded; undefined when the original is sent. */
  ssim: number | undefined;
  fallbackReason: string | undefined;
  /** The encodes the engine tried, in order (for diagnostics such as `Server-Timing`). */
  trials: readonly TrialSummary[];
}

/** One encode the engine tried. */
export interface TrialSummary {
  /** What was tried, e.g. `webp q40 x0.25` or `webp lossless x1` (`describeCandidate`). */
  readonly description: string;
  /** Encoded size; undefined when the encode failed. */
  readonly bytes: number | undefined;
  /** Encode time in ms (0 when the encode failed). */
  readonly encodeMs: number;
}

/**
 * The first phase of a frame: checks the frame cap and counts the frame against its session's own
 * rate limit (429 when over it) before decoding, then decodes while it checks that the session
 * exists or may be started (429 when it is new and the caller has no new session left today), and
 * reads the caller's stored config and the session's model and live estimate.
 */
export async function prepareFrame(
  runtime: Runtime,
  command: CompressCommand,
  maxFrameBytes = MAX_FRAME_BYTES_HTTP,
  known: SessionKnowledge = {},
): Promise<PreparedFrame> {
  const started = performance.now();
  if (command.frame.length > maxFrameBytes) throw new PayloadTooLargeError(maxFrameBytes);
  await admitSessionFrame(runtime, command.userId, command.sessionId);
  const { sql } = runtime.db;
  const withEstimate = !command.network;

  // The three lookups and the decode are independent: run them side by side.
  const decodeStarted = performance.now();
  const [, stored, decoded, live] = await Promise.all([
    known.owned || ownedSessions.get(ownedKey(command.userId, command.sessionId))
      ? undefined
      : checkSessionQuota(
          sql,
          command.sessionId,
          command.userId,
          runtime.settings.SESSIONS_PER_USER_PER_DAY,
        ),
    getConfig(sql, command.userId),
    decodeFrame(command.frame),
    // The learned model, and the live estimate when the request carries no network fields.
    known.modelInHand && !withEstimate
      ? { model: undefined, estimate: undefined }
      : loadLiveSession(runtime, command.sessionId, command.userId, withEstimate),
  ]);
  const decodeMs = performance.now() - decodeStarted;
  command.signal?.throwIfAborted();
  return { command, started, decodeMs, decoded, stored, live };
}

/**
 * The second phase: resolves the policy (request, stored config, mode defaults) and runs the engine
 * with `model` (the session's learned model; undefined starts from the priors).
 */
export async function runEngine(
  prepared: PreparedFrame,
  model: EngineModel | undefined,
): Promise<CompressedFrame> {
  const { command } = prepared;
  const policy = resolvePolicy(command.policy, prepared.stored);
  const budget = frameBudget({
    originalBytes: command.frame.length,
    targetCompressionRatio: policy.targetCompressionRatio,
    network: command.network ?? prepared.live.estimate?.sample,
  });
  const { decision, port } = await searchEncoding(prepared, policy, budget, model);
  const sent = applyBudgetMiss(decision, policy.onBudgetMiss, budget, command.frame.length);
  const chosen = sent.kind === 'as_decided' ? decision.chosen : undefined;
  const output = sent.kind === 'dropped' ? EMPTY : chosen ? port.output(chosen) : command.frame;
  const outcome: EngineOutcome = {
    decision,
    sent,
    chosen,
    budget,
    output,
    ratio: 1 - output.length / command.frame.length,
    // Taken once the output is in hand: `total` covers everything the frame cost so far.
    times: frameTimes(prepared, decision),
  };
  const response = toResponse(prepared, outcome);
  return {
    response,
    record: toRecord(command, policy.mode, response, outcome),
    model: decision.model,
    ssim: chosen?.ssim,
    fallbackReason: response.fallback_reason ?? undefined,
    trials: trialSummaries(decision),
  };
}

/** The engine's search for the frame's encoding, under the frame's whole latency budget. */
async function searchEncoding(
  prepared: PreparedFrame,
  policy: ResolvedPolicy,
  budget: FrameBudget,
  model: EngineModel | undefined,
): Promise<{ decision: CompressionDecision; port: SharpEnginePort }> {
  const { command, decoded, decodeMs } = prepared;
  const port = createSharpEnginePort(decoded);
  const decision = await compressFrame({
    frame: {
      width: decoded.width,
      height: decoded.height,
      originalBytes: command.frame.length,
      frameType: command.frameType,
    },
    // The latency budget covers the whole frame: what decoding took is not left for the search.
    policy: { ...policy, maxLatencyMs: Math.max(1, policy.maxLatencyMs - decodeMs) },
    budget,
    model: policy.predictive ? model : undefined,
    port,
    now: () => performance.now(),
  }).finally(() => port.finish());
  return { decision, port };
}

/** Per-phase times of one frame, in ms. */
interface FrameTimes {
  decodeMs: number;
  encodeMs: number;
  metricsMs: number;
  totalMs: number;
}

/** What goes out for a dropped frame. */
const EMPTY = Buffer.alloc(0);

/** What the engine made of a frame: the bytes to send and how they were reached. */
interface EngineOutcome {
  decision: CompressionDecision;
  /** What of the decision goes out, given the policy's `on_budget_miss`. */
  sent: FrameOutcome;
  /** The encoding that goes out, if one does. */
  chosen: MeasuredEncoding | undefined;
  budget: FrameBudget;
  /** The compressed frame, the original on passthrough and fallback, nothing when dropped. */
  output: Buffer;
  /** 1 - output/original, unrounded. */
  ratio: number;
  times: FrameTimes;
}

function frameTimes(prepared: PreparedFrame, decision: CompressionDecision): FrameTimes {
  const encodeMs = decision.trials.reduce((sum, trial) => sum + (trial.encoded?.encodeMs ?? 0), 0);
  const metricsMs = decision.trials.reduce(
    (sum, trial) => sum + (trial.measurement?.measureMs ?? 0),
    0,
  );
  const totalMs = performance.now() - prepared.started;
  return { decodeMs: prepared.decodeMs, encodeMs, metricsMs, totalMs };
}

/** The response of docs/design.md section 2. */
function toResponse(prepared: PreparedFrame, outcome: EngineOutcome): CompressResponse {
  const { command, decoded } = prepared;
  const { decision, sent, chosen, budget, output, ratio, times } = outcome;
  const originalBytes = command.frame.length;
  const status =
    sent.kind === 'as_decided'
      ? decision.status
      : sent.kind === 'original'
        ? 'fallback'
        : 'dropped';
  return {
    status,
    session_id: command.sessionId,
    frame_number: command.frameNumber ?? null,
    compressed_data: output.toString('base64'),
    format: chosen?.candidate.format ?? decoded.format,
    quality: chosen ? reportedQuality(chosen.candidate) : null,
    width: chosen?.width ?? decoded.width,
    height: chosen?.height ?? decoded.height,
    original_size_bytes: originalBytes,
    compressed_size_bytes: output.length,
    compression_ratio: round(ratio, 4),
    bandwidth_savings_percent: round(ratio * 100),
    budget_bytes: budget.budgetBytes,
    within_budget: chosen ? decision.withinBudget : output.length <= budget.budgetBytes,
    ...sentQuality(chosen, status),
    encode_attempts: decision.encodeAttempts,
    latency_ms: {
      decode: round(times.decodeMs),
      encode: round(times.encodeMs),
      metrics: round(times.metricsMs),
      total: round(times.totalMs),
    },
    fallback_used: status === 'fallback',
    fallback_reason:
      status !== 'fallback'
        ? null
        : sent.kind === 'original'
          ? sent.reason
          : (decision.fallbackReason ?? null),
    drop_reason: sent.kind === 'dropped' ? sent.reason : null,
  };
}

/**
 * The measured quality of what goes out: the encoding's; exact for the original, which travels
 * unchanged on passthrough and fallback; none for a dropped frame.
 */
function sentQuality(
  chosen: MeasuredEncoding | undefined,
  status: CompressResponse['status'],
): Pick<CompressResponse, 'ssim' | 'psnr_db' | 'quality_score'> {
  if (chosen) {
    const ssim = round(chosen.ssim, 5);
    return { ssim, psnr_db: round(chosen.psnrDb), quality_score: ssim };
  }
  if (status === 'dropped') return { ssim: null, psnr_db: null, quality_score: null };
  return { ssim: 1, psnr_db: 100, quality_score: 1 };
}

/** The frame's row in the metrics store. */
function toRecord(
  command: CompressCommand,
  mode: ResolvedPolicy['mode'],
  response: CompressResponse,
  outcome: EngineOutcome,
): FrameMetricRecord {
  const { times } = outcome;
  return {
    sessionId: command.sessionId,
    userId: command.userId,
    frameNumber: command.frameNumber ?? null,
    frameType: command.frameType,
    mode,
    format: response.format,
    quality: response.quality,
    width: response.width,
    height: response.height,
    originalBytes: command.frame.length,
    compressedBytes: outcome.output.length,
    compressionRatio: outcome.ratio,
    ssim: response.ssim,
    psnrDb: response.psnr_db,
    budgetBytes: outcome.budget.budgetBytes,
    withinBudget: response.within_budget,
    encodeAttempts: outcome.decision.encodeAttempts,
    decodeMs: times.decodeMs,
    encodeMs: times.encodeMs,
    metricsMs: times.metricsMs,
    totalMs: times.totalMs,
    fallback: response.fallback_used,
    fallbackReason: response.fallback_reason,
    status: response.status,
    dropReason: response.drop_reason,
  };
}

function trialSummaries(decision: CompressionDecision): TrialSummary[] {
  return decision.trials.map(({ candidate, encoded }) => ({
    description: describeCandidate(candidate),
    bytes: encoded?.bytes,
    encodeMs: encoded?.encodeMs ?? 0,
  }));
}

/**
 * The last phase: claims the frame's session for its owner on first use (within the owner's daily
 * quota of new sessions), then appends the frame's event to the metrics log and resolves once the
 * log holds it durably (docs/design.md section 5.8): the frame may then be answered. The consumer
 * counts it once, however often it is appended.
 *
 * @throws SessionQuotaExceededError when the session is new and its owner has no new session left
 *   today (nothing was stored).
 * @throws DependencyUnavailableError when the log could not store the event.
 */
export async function storeFrame(runtime: Runtime, frame: CompressedFrame): Promise<void> {
  const { record } = frame;
  const key = ownedKey(record.userId, record.sessionId);
  if (!ownedSessions.get(key)) {
    const claim = {
      sessionId: record.sessionId,
      userId: record.userId,
      sessionsPerDay: runtime.settings.SESSIONS_PER_USER_PER_DAY,
    };
    await claimSession(runtime.db.sql, claim);
    ownedSessions.set(key, true);
  }
  await runtime.frameLog.append([toFrameEvent(record)]);
}

/** Emits the EMF metrics of a stored frame. */
export function emitFrameMetrics(frame: CompressedFrame): void {
  const { record } = frame;
  // Every answered frame counts, dropped ones included: the denominator of the shares per frame.
  metrics.addMetric('FramesCompressed', MetricUnit.Count, 1);
  if (record.status === 'dropped') {
    metrics.addMetric('FramesDropped', MetricUnit.Count, 1);
    logger.info('frame dropped: nothing fits its budget', { reason: record.dropReason });
  } else {
    metrics.addMetric('CompressionRatio', MetricUnit.NoUnit, record.compressionRatio);
  }
  metrics.addMetric(
    'BytesSaved',
    MetricUnit.Bytes,
    Math.max(0, record.originalBytes - record.compressedBytes),
  );
  metrics.addMetric('EncodeMs', MetricUnit.Milliseconds, record.encodeMs);
  metrics.addMetric('EncodeAttempts', MetricUnit.Count, record.encodeAttempts);
  if (record.withinBudget) metrics.addMetric('FramesWithinBudget', MetricUnit.Count, 1);
  if (frame.ssim !== undefined) metrics.addMetric('SSIM', MetricUnit.NoUnit, frame.ssim);
  if (record.fallback) {
    metrics.addMetric('Fallbacks', MetricUnit.Count, 1);
    logger.warn('frame fell back to the original', { reason: frame.fallbackReason });
  }
}

/**
 * Compresses one frame for its session's owner: the three phases in turn ({@link prepareFrame},
 * {@link runEngine} with the session's cached model, {@link storeFrame}), then the updated model
 * is cached and the EMF metrics are emitted. Returns the stored frame: the response of docs/design.md
 * section 2 and the encodes the engine tried. `idempotencyKey` names a frame without a number in
 * Postgres (a frame with a number is named by it).
 */
export async function compress(
  runtime: Runtime,
  command: CompressCommand,
  maxFrameBytes = MAX_FRAME_BYTES_HTTP,
  idempotencyKey?: string,
): Promise<CompressedFrame> {
  const prepared = await prepareFrame(runtime, command, maxFrameBytes);
  const frame = await runEngine(prepared, prepared.live.model);
  if (command.frameNumber === undefined) frame.record.idempotencyKey = idempotencyKey ?? null;
  command.signal?.throwIfAborted();
  await storeFrame(runtime, frame);
  // A cache: when Redis is down the next frame starts from the priors (the breaker keeps this cheap).
  await saveModel(runtime, command.userId, command.sessionId, frame.model);
  emitFrameMetrics(frame);
  return frame;
}

/** The identity of a frame (docs/design.md section 2.3): its number, else the client's key. */
export function frameIdentity(
  command: Pick<CompressCommand, 'userId' | 'sessionId' | 'frameNumber'>,
  idempotencyKey: string | undefined,
): RequestIdentity | undefined {
  return requestIdentity(
    'compress',
    command.userId,
    command.sessionId,
    command.frameNumber,
    idempotencyKey,
  );
}

/** A frame's answer: the response, the encodes tried (none for a replay), and whether it is one. */
export interface FrameAnswer {
  response: CompressResponse;
  trials: readonly TrialSummary[];
  /** The response is the stored answer of an earlier copy of the frame (`X-AIC-Replay: true`). */
  replay: boolean;
}

/**
 * {@link compress} once per frame identity (docs/design.md section 2.3): a repeat within the
 * idempotency window gets the first answer, marked as a replay, and runs no engine and stores
 * nothing.
 *
 * @throws IdempotencyInProgressError when the first copy of the frame is still in the work.
 */
export async function compressOnce(
  runtime: Runtime,
  command: CompressCommand,
  maxFrameBytes = MAX_FRAME_BYTES_HTTP,
  idempotencyKey?: string,
): Promise<FrameAnswer> {
  let trials: readonly TrialSummary[] = [];
  const { answer, replay } = await answerFrameOnce(
    runtime,
    command,
    async () => {
      const frame = await compress(runtime, command, maxFrameBytes, idempotencyKey);
      trials = frame.trials;
      return frame.response;
    },
    idempotencyKey,
  );
  return { response: answer, trials, replay };
}

/**
 * `work`'s response for the frame `command` names (its number, else `idempotencyKey`), worked out
 * once per idempotency window; a frame with neither is simply worked.
 *
 * @throws IdempotencyInProgressError when the first copy of the frame is still in the work.
 */
export function answerFrameOnce(
  runtime: Runtime,
  command: CompressCommand,
  work: () => Promise<CompressResponse>,
  idempotencyKey?: string,
): Promise<OnceAnswer<CompressResponse>> {
  return answerOnce(runtime, frameIdentity(command, idempotencyKey), work);
}
