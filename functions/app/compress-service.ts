import { createHash } from 'node:crypto';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { type CompressResponse, MAX_FRAME_BYTES_HTTP } from '../core/contracts/compress.ts';
import {
  applyBudgetMiss,
  applyRefinement,
  dropsWhatMisses,
  type FrameOutcome,
  REFINEMENT_DEFERRED,
} from '../core/engine/budget-miss.ts';
import { type CompressionDecision, compressFrame } from '../core/engine/engine.ts';
import {
  type LadderMemory,
  NO_LADDER_MEMORY,
  rememberLadder,
} from '../core/engine/ladder-memory.ts';
import { type EngineModel, initialModel } from '../core/engine/model.ts';
import type { Measurement } from '../core/engine/port.ts';
import { describeCandidate, reportedQuality } from '../core/engine/screen-candidates.ts';
import type { MeasuredEncoding } from '../core/engine/selection.ts';
import { PayloadTooLargeError } from '../core/errors.ts';
import { LruMap } from '../core/lru-map.ts';
import { type FrameBudget, frameBudget, type NetworkSample } from '../core/network/budget.ts';
import { type ResolvedPolicy, resolvePolicy } from '../core/policy.ts';
import { burstBytes, isFull } from '../core/temporal/bit-bucket.ts';
import {
  applyChange,
  type TemporalChange,
  type TemporalState,
  type ViewerSource,
} from '../core/temporal/session-state.ts';
import { planTemporal, type TemporalPlan } from '../core/temporal/temporal-plan.ts';
import { encodeSignature, tileSignature } from '../core/temporal/tile-signature.ts';
import { REFINE_LATENCY_MS } from '../core/temporal/viewer-plan.ts';
import { getConfig } from '../platform/db/config-repository.ts';
import type { FrameMetricRecord } from '../platform/db/frame-metrics-repository.ts';
import { checkSessionQuota, claimSession } from '../platform/db/session-repository.ts';
import { answerOnce, type OnceAnswer } from '../platform/idempotency/answer-once.ts';
import { type RequestIdentity, requestIdentity } from '../platform/idempotency/identity.ts';
import { decodeFrame } from '../platform/imaging/frame-decoder.ts';
import {
  createSharpEnginePort,
  type SharpEnginePort,
  useImagingThreads,
} from '../platform/imaging/sharp-engine-port.ts';
import { toFrameEvent } from '../platform/metrics/frame-event-of.ts';
import { logger, metrics } from '../platform/observability.ts';
import { saveModel } from '../platform/redis/session-model.ts';
import type { Runtime } from '../platform/runtime.ts';
import {
  readTemporalState,
  type StoredTemporalState,
  saveTemporalChange,
} from '../platform/temporal/temporal-store.ts';
import type { CompressCommand } from './compress-command.ts';
import { measureEdit } from './edit-quality.ts';
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
  /**
   * The caller holds the session's latest model and temporal state: Redis is read only for the
   * live estimate.
   */
  stateInHand?: boolean;
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
  /**
   * The session's temporal state as Redis holds it; null when Redis did not answer, or the caller
   * holds the state.
   */
  temporal: StoredTemporalState | null;
  /** Encodes the engine may run at once (`ENGINE_PARALLEL_ENCODES`); unset: one at a time. */
  parallelEncodes?: number;
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
  /** The session's temporal state after this frame; null when it was not known. */
  temporal: TemporalState | null;
  /** What this frame changed in its session's temporal state (to store it). */
  temporalChange: TemporalChange;
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
 * reads the caller's stored config and the session's model, live estimate and temporal state.
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
  const [, stored, decoded, live, temporal] = await Promise.all([
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
    known.stateInHand && !withEstimate
      ? { model: undefined, estimate: undefined }
      : loadLiveSession(runtime, command.sessionId, command.userId, withEstimate),
    known.stateInHand ? null : readTemporalState(runtime, command.userId, command.sessionId),
  ]);
  const decodeMs = performance.now() - decodeStarted;
  command.signal?.throwIfAborted();
  const parallelEncodes = runtime.settings.ENGINE_PARALLEL_ENCODES;
  useImagingThreads(parallelEncodes);
  return { command, started, decodeMs, decoded, stored, live, temporal, parallelEncodes };
}

/**
 * The second phase: resolves the policy (request, stored config, mode defaults), plans the frame on
 * its session's temporal state (`temporal`: the bit bucket and the viewer's image; null when it
 * could not be read) and, unless the viewer's image already meets the policy's threshold, runs the
 * engine with `model` (the session's learned model; undefined starts from the priors).
 */
export async function runEngine(
  prepared: PreparedFrame,
  model: EngineModel | undefined,
  temporal: TemporalState | null = prepared.temporal?.state ?? null,
): Promise<CompressedFrame> {
  const { command, decoded } = prepared;
  const policy = resolvePolicy(command.policy, prepared.stored);
  const network = command.network ?? prepared.live.estimate?.sample;
  const port = createSharpEnginePort(decoded);
  try {
    const { plan, frame, threshold, viewerImage } = await planFrame(
      prepared,
      policy,
      network,
      temporal,
      port,
    );
    const budget = frameBudget({
      originalBytes: command.frame.length,
      targetCompressionRatio: policy.targetCompressionRatio,
      network,
      networkBytes: plan.networkBytes,
      capByRatio: plan.plan.kind !== 'refine',
    });
    const { decision, sent } = await decideFrame(prepared, policy, plan, budget, model, port);
    const chosen = sent.kind === 'as_decided' ? decision.chosen : undefined;
    const output = outputOf(sent, chosen, port, command.frame);
    const reported = await measureAsReported(port, sent, chosen, {
      image: viewerImage(),
      source: temporal?.viewer,
    });
    const edit = await measureEdit(port, plan.editTiles, output, chosen);
    const outcome: EngineOutcome = {
      decision,
      sent,
      chosen,
      viewer: plan.viewer,
      reported,
      budget,
      output,
      ratio: 1 - output.length / command.frame.length,
      // Taken once the output is in hand: `total` covers everything the frame cost so far.
      times: frameTimes(prepared, decision, [plan.viewer, reported, edit]),
    };
    const response = toResponse(prepared, outcome);
    const change: TemporalChange = {
      bucket: plan.bucket && {
        clockUs: plan.bucket.clockUs,
        bytesPerSecond: plan.bucket.bytesPerSecond,
        fps: plan.bucket.fps,
      },
      sent: output,
      frame,
      // What goes out is the encoding, or the original itself.
      quality: chosen
        ? { ssim: chosen.ssim, psnrDb: chosen.psnrDb, reportedSsim: reported?.ssim }
        : { ssim: 1, psnrDb: 100 },
      keepViewer: threshold !== null,
      stalledAt: stalledAt(plan, sent, decision),
      target: plan.plan.kind === 'refine' ? plan.plan.target : undefined,
      ladder: ladderAfter(plan, decision, output),
      edit: edit?.quality,
      missed: sent.kind === 'dropped' && sent.reason !== 'refinement_deferred',
    };
    return {
      response,
      record: toRecord(command, policy.mode, response, outcome),
      model: decision.model,
      ssim: chosen && (reported ?? chosen).ssim,
      fallbackReason: response.fallback_reason ?? undefined,
      trials: trialSummaries(decision),
      temporal: temporal && applyChange(temporal, change),
      temporalChange: change,
    };
  } finally {
    port.finish();
  }
}

/** The frame as the temporal rules see it, its policy threshold and its temporal plan. */
async function planFrame(
  prepared: PreparedFrame,
  policy: ResolvedPolicy,
  network: NetworkSample | undefined,
  temporal: TemporalState | null,
  port: SharpEnginePort,
) {
  const started = performance.now();
  const { command, decoded } = prepared;
  const threshold = policy.unchangedSsim[command.frameType === 'screen' ? 'screen' : 'video'];
  const frame = {
    width: decoded.width,
    height: decoded.height,
    digest: once(() => createHash('sha1').update(command.frame).digest('base64')),
    tiles: command.frameType === 'screen' ? once(() => screenTiles(decoded)) : undefined,
  };
  let viewerImage: Buffer | undefined;
  const plan = await planTemporal({
    state: temporal,
    frame: { ...frame, frameType: command.frameType, timestampUs: command.timestampUs },
    network,
    threshold,
    floor: policy.minQualityScore,
    compare: (image) => {
      viewerImage = image;
      return port.compare(image);
    },
  });
  const planned: PlannedFrame = { ...plan, planMs: performance.now() - started };
  return { plan: planned, frame, threshold, viewerImage: () => viewerImage };
}

/** A frame's temporal plan, and what planning it took (its digest, tile hashes, viewer comparison). */
type PlannedFrame = TemporalPlan & { readonly planMs: number };

/**
 * Wang's SSIM of what the viewer is left with (docs/design.md section 4.9): the chosen encoding, or
 * the viewer's own image when the frame is `unchanged` (measured when it was compared with the
 * frame, else as it was sent for the same frame); undefined where the engine's factor is Wang's,
 * or nothing new is shown.
 */
function measureAsReported(
  port: SharpEnginePort,
  sent: FrameOutcome,
  chosen: MeasuredEncoding | undefined,
  viewer: { image: Buffer | undefined; source: ViewerSource | undefined },
): Promise<Measurement | undefined> {
  if (chosen) return port.reportedQuality(chosen);
  if (sent.kind !== 'unchanged') return Promise.resolve(undefined);
  if (viewer.image) return port.reportedQuality(viewer.image);
  const ssim = viewer.source?.reportedSsim;
  const psnrDb = viewer.source?.psnrDb ?? 100;
  return Promise.resolve(ssim === undefined ? undefined : { ssim, psnrDb, measureMs: 0 });
}

/**
 * The burst a refinement found nothing better with, when its bucket was full and its screen ladder
 * passed over no step for want of time (a later frame may afford it); else undefined.
 */
function stalledAt(
  plan: TemporalPlan,
  sent: FrameOutcome,
  decision: CompressionDecision,
): number | undefined {
  const { bucket } = plan;
  if (plan.plan.kind !== 'refine' || sent.kind !== 'dropped' || !bucket) return undefined;
  if ((decision.ladderPassedOver?.length ?? 0) > 0) return undefined;
  return isFull(bucket.state, bucket.bytesPerSecond)
    ? burstBytes(bucket.bytesPerSecond)
    : undefined;
}

/**
 * What the screen ladder knows after the frame, of the content the viewer's image is kept for:
 * a refinement adds its encodes to what was known of the content; a frame sent starts the new
 * image's content with its own; any other frame changes nothing.
 */
function ladderAfter(
  plan: PlannedFrame,
  decision: CompressionDecision,
  output: Buffer,
): LadderMemory | undefined {
  if (plan.plan.kind === 'refine') {
    const known = plan.ladder ?? NO_LADDER_MEMORY;
    return rememberLadder(known, decision.trials, decision.ladderPassedOver);
  }
  return output.length > 0 ? rememberLadder(NO_LADDER_MEMORY, decision.trials) : undefined;
}

/**
 * `compute`'s value, worked out on the first call only. The frame's digest and tile signature are
 * asked for only by a policy with an `unchanged` threshold, and then more than once.
 */
function once(compute: () => string): () => string {
  let value: string | undefined;
  return () => {
    value ??= compute();
    return value;
  };
}

/**
 * The frame's tile signature. A still screen's captures encode to the same bytes, so its digest
 * (SHA-1, not a security boundary: a session only ever compares its own frames) tells a repeat
 * without this; the signature tells the same pixels in other bytes, and which tiles changed.
 */
function screenTiles(decoded: PreparedFrame['decoded']): string {
  return encodeSignature(
    tileSignature(decoded.pixels, decoded.width, decoded.height, decoded.channels),
  );
}

/** The bytes that go out: the encoding, the original, or nothing. */
function outputOf(
  sent: FrameOutcome,
  chosen: MeasuredEncoding | undefined,
  port: SharpEnginePort,
  original: Buffer,
): Buffer {
  if (sent.kind === 'as_decided') return chosen ? port.output(chosen) : original;
  return sent.kind === 'original' ? original : EMPTY;
}

/**
 * The engine's decision and what of it goes out: nothing for a frame the viewer already has; for a
 * refinement (searched within `REFINE_LATENCY_MS`), only an encoding that fits and beats the viewer's
 * image; else `on_budget_miss`.
 */
async function decideFrame(
  prepared: PreparedFrame,
  policy: ResolvedPolicy,
  plan: PlannedFrame,
  budget: FrameBudget,
  model: EngineModel | undefined,
  port: SharpEnginePort,
): Promise<{ decision: CompressionDecision; sent: FrameOutcome }> {
  if (plan.plan.kind === 'unchanged') {
    return { decision: nothingEncoded(model), sent: { kind: 'unchanged' } };
  }
  if (plan.plan.kind === 'hold') {
    return { decision: nothingEncoded(model), sent: REFINEMENT_DEFERRED };
  }
  const refine = plan.plan.kind === 'refine';
  const enginePolicy = refine
    ? {
        ...policy,
        minQualityScore: plan.plan.floor,
        maxLatencyMs: Math.max(policy.maxLatencyMs, REFINE_LATENCY_MS),
      }
    : policy;
  // Text is not downscaled to refine it while waiting lets a full-scale version fit.
  const fullScaleOnly =
    refine &&
    prepared.command.frameType === 'screen' &&
    plan.bucket !== undefined &&
    !isFull(plan.bucket.state, plan.bucket.bytesPerSecond);
  // A frame that misses its budget is dropped: the smallest encoding over it is not worth looking for.
  const onlyWithinBudget = refine || dropsWhatMisses(policy.onBudgetMiss, budget);
  const search = {
    policy: enginePolicy,
    budget,
    model,
    port,
    planMs: plan.planMs,
    fullScaleOnly,
    onlyWithinBudget,
    // A screen in motion is shown for a frame: the lossy search, not lossless text that costs the
    // time and bytes of several frames.
    screenLadder: plan.moving !== true,
    ladderMemory: plan.ladder,
  };
  const decision = await searchEncoding(prepared, search);
  const sent = refine
    ? applyRefinement(decision)
    : applyBudgetMiss(decision, policy.onBudgetMiss, budget, prepared.command.frame.length);
  return { decision, sent };
}

/** The decision of a frame nothing was encoded for: the model as it was. */
function nothingEncoded(model: EngineModel | undefined): CompressionDecision {
  return {
    status: 'success',
    passthrough: false,
    withinBudget: true,
    encodeAttempts: 0,
    model: model ?? initialModel(),
    trials: [],
  };
}

/** What one frame's search runs with. */
interface SearchInput {
  policy: ResolvedPolicy;
  budget: FrameBudget;
  model: EngineModel | undefined;
  port: SharpEnginePort;
  /** What planning the frame took (its digest, tile hashes, the viewer's comparison), ms. */
  planMs: number;
  fullScaleOnly: boolean;
  onlyWithinBudget: boolean;
  /** What the screen ladder knows of the content (`TemporalPlan.ladder`). */
  ladderMemory: LadderMemory | undefined;
  /** Whether a screen frame tries the screen ladder first. */
  screenLadder: boolean;
}

/** The engine's search for the frame's encoding, within what is left of its latency budget. */
function searchEncoding(
  prepared: PreparedFrame,
  search: SearchInput,
): Promise<CompressionDecision> {
  const { command, decoded } = prepared;
  const { policy, model } = search;
  // The latency budget covers the whole frame: what decoding and planning it took is not left for
  // the search.
  const spentMs = prepared.decodeMs + search.planMs;
  return compressFrame({
    frame: {
      width: decoded.width,
      height: decoded.height,
      originalBytes: command.frame.length,
      frameType: command.frameType,
    },
    policy: { ...policy, maxLatencyMs: Math.max(1, policy.maxLatencyMs - spentMs) },
    budget: search.budget,
    model: policy.predictive ? model : undefined,
    port: search.port,
    now: () => performance.now(),
    fullScaleOnly: search.fullScaleOnly,
    onlyWithinBudget: search.onlyWithinBudget,
    screenLadder: search.screenLadder,
    ladderMemory: search.ladderMemory,
    parallelEncodes: prepared.parallelEncodes,
  });
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
  /** The viewer's image measured against the frame, when it was compared. */
  viewer: Measurement | undefined;
  /** What the viewer is left with measured at Wang's factor, where it is not the engine's. */
  reported: Measurement | undefined;
  budget: FrameBudget;
  /** The compressed frame, the original on passthrough and fallback, nothing when dropped. */
  output: Buffer;
  /** 1 - output/original, unrounded. */
  ratio: number;
  times: FrameTimes;
}

/** The frame's phases; `extra` are the measurements made outside the engine's search. */
function frameTimes(
  prepared: PreparedFrame,
  decision: CompressionDecision,
  extra: readonly ({ readonly measureMs: number } | undefined)[],
): FrameTimes {
  const encodeMs = decision.trials.reduce((sum, trial) => sum + (trial.encoded?.encodeMs ?? 0), 0);
  const metricsMs = decision.trials.reduce(
    (sum, trial) => sum + (trial.measurement?.measureMs ?? 0),
    extra.reduce((sum, measured) => sum + (measured?.measureMs ?? 0), 0),
  );
  const totalMs = performance.now() - prepared.started;
  return { decodeMs: prepared.decodeMs, encodeMs, metricsMs, totalMs };
}

/** The response of docs/design.md section 2. */
function toResponse(prepared: PreparedFrame, outcome: EngineOutcome): CompressResponse {
  const { command, decoded } = prepared;
  const { decision, sent, chosen, viewer, reported, budget, output, ratio, times } = outcome;
  const originalBytes = command.frame.length;
  const status = statusOf(decision, sent);
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
    ...sentQuality(chosen ?? (status === 'unchanged' ? viewer : undefined), reported, status),
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

/** The frame's status from the engine's decision and what of it goes out. */
function statusOf(decision: CompressionDecision, sent: FrameOutcome): CompressResponse['status'] {
  switch (sent.kind) {
    case 'as_decided':
      return decision.status;
    case 'original':
      return 'fallback';
    default:
      return sent.kind;
  }
}

/**
 * The measured quality of what the viewer is left with (`measured`: the encoding sent, or the
 * viewer's image for an `unchanged` frame): `ssim` at Wang's factor (`reported`, where it is not
 * the engine's), `quality_score` the engine's measurement that the policy's floors apply to (docs/
 * design.md section 4.9); exact for the original, which travels unchanged on passthrough and
 * fallback; none for a dropped frame.
 */
function sentQuality(
  measured: Measurement | undefined,
  reported: Measurement | undefined,
  status: CompressResponse['status'],
): Pick<CompressResponse, 'ssim' | 'psnr_db' | 'quality_score'> {
  if (measured) {
    const quality_score = round(measured.ssim, 5);
    const ssim = reported ? round(reported.ssim, 5) : quality_score;
    return { ssim, psnr_db: round(measured.psnrDb), quality_score };
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
    qualityScore: response.quality_score,
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
  } else if (record.status === 'unchanged') {
    metrics.addMetric('FramesUnchanged', MetricUnit.Count, 1);
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
  await Promise.all([
    saveModel(runtime, command.userId, command.sessionId, frame.model),
    prepared.temporal &&
      saveTemporalChange(
        runtime,
        command.userId,
        command.sessionId,
        prepared.temporal,
        frame.temporalChange,
      ),
  ]);
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
