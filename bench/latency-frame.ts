/**
 * One frame of `bench:latency`, twice: first through the compress service as the HTTP handler runs
 * it (`answerFrameOnce` around `compress`, on the real Postgres and Redis), which gives its own
 * `latency_ms`; then phase by phase, each call the service makes run alone and timed, on a shadow
 * session that mirrors the service's (the service's model and temporal change are written to it
 * after each frame, so the replay plans each frame with the same model and byte budget).
 */
import { createHash } from 'node:crypto';
import type { CompressCommand } from '../functions/app/compress-command.ts';
import {
  answerFrameOnce,
  type CompressedFrame,
  compress,
} from '../functions/app/compress-service.ts';
import { loadLiveSession } from '../functions/app/network-service.ts';
import { admitSessionFrame } from '../functions/app/session-rate-limit.ts';
import { dropsWhatMisses } from '../functions/core/engine/budget-miss.ts';
import { compressFrame } from '../functions/core/engine/engine.ts';
import type { EngineModel } from '../functions/core/engine/model.ts';
import { frameBudget } from '../functions/core/network/budget.ts';
import { type ResolvedPolicy, resolvePolicy } from '../functions/core/policy.ts';
import { planTemporal } from '../functions/core/temporal/temporal-plan.ts';
import { getConfig } from '../functions/platform/db/config-repository.ts';
import { applyFrameEvents } from '../functions/platform/db/frame-metrics-repository.ts';
import { checkSessionQuota, claimSession } from '../functions/platform/db/session-repository.ts';
import { type DecodedFrame, decodeFrame } from '../functions/platform/imaging/frame-decoder.ts';
import { createSharpEnginePort } from '../functions/platform/imaging/sharp-engine-port.ts';
import { toFrameEvent } from '../functions/platform/metrics/frame-event-of.ts';
import { saveModel } from '../functions/platform/redis/session-model.ts';
import type { Runtime } from '../functions/platform/runtime.ts';
import {
  readTemporalState,
  type StoredTemporalState,
  saveTemporalChange,
} from '../functions/platform/temporal/temporal-store.ts';
import type { NetworkProfile } from './compress-support.ts';
import type { KernelSplitter } from './latency-kernels.ts';
import { timeKernels } from './latency-measure.ts';
import { type PortLog, timedPort } from './latency-port.ts';
import { addSample, type FrameSample, type PhaseKey } from './latency-stats.ts';

/** What every frame of the run shares. */
export interface LatencyRun {
  readonly runtime: Runtime;
  /** The kernels one call at a time, or why they cannot be. */
  readonly splitter: KernelSplitter | string;
  readonly userId: string;
}

/** A session of the run: the service's, and the shadow the replay works on. */
export interface LatencySession {
  readonly size: { readonly width: number; readonly height: number };
  readonly profile: NetworkProfile;
  readonly sessionId: string;
  readonly shadowId: string;
}

/** What one frame gave. */
export interface FrameResult {
  readonly sample: FrameSample;
  /** The frame's byte budget, as the service planned it. */
  readonly budgetBytes: number;
  readonly status: string;
  readonly fallbackReason: string | null;
  readonly encodes: number;
  /**
   * Whether the kernels called one at a time gave exactly the fused calls' figures on this frame;
   * undefined when they could not be called apart.
   */
  readonly kernelsAgree: boolean | undefined;
}

type Phases = FrameSample['phases'];

/** Runs `work`, adding its wall time to `phases` under `key`. */
async function timed<T>(phases: Phases, key: PhaseKey, work: () => Promise<T> | T): Promise<T> {
  const started = performance.now();
  const value = await work();
  addSample(phases, key, performance.now() - started);
  return value;
}

/** The frame's command as a client sends it: numbered, with its capture time and network. */
function commandOf(
  run: LatencyRun,
  session: LatencySession,
  frame: Buffer,
  index: number,
): CompressCommand {
  const fps = session.profile.fps ?? 30;
  return {
    userId: run.userId,
    sessionId: session.sessionId,
    frame,
    frameNumber: index,
    timestampUs: Math.round((index * 1e6) / fps),
    frameType: 'video',
    policy: {},
    network: session.profile,
  };
}

/** The service's run of a frame (what `compressOnce` does, keeping the stored frame). */
async function serviceFrame(run: LatencyRun, command: CompressCommand, phases: Phases) {
  let stored: CompressedFrame | undefined;
  await timed(phases, 'svcWall', () =>
    answerFrameOnce(run.runtime, command, async () => {
      stored = await compress(run.runtime, command);
      return stored.response;
    }),
  );
  if (!stored) throw new Error('the service answered a fresh frame as a replay');
  const { latency_ms } = stored.response;
  addSample(phases, 'svcDecode', latency_ms.decode);
  addSample(phases, 'svcEncode', latency_ms.encode);
  addSample(phases, 'svcMetrics', latency_ms.metrics);
  addSample(phases, 'svcTotal', latency_ms.total);
  return stored;
}

/** The request body's parse and the frame's base64 decode, as the HTTP body parser does. */
function timeRequest(command: CompressCommand, phases: Phases): void {
  const body = JSON.stringify({
    session_id: command.sessionId,
    frame_number: command.frameNumber,
    frame_data: command.frame.toString('base64'),
  });
  const started = performance.now();
  const parsed = JSON.parse(body) as { frame_data: string };
  Buffer.from(parsed.frame_data, 'base64');
  addSample(phases, 'request', performance.now() - started);
}

/** What the look-ups found for the shadow session. */
interface LookedUp {
  decoded: DecodedFrame;
  decodeMs: number;
  stored: Awaited<ReturnType<typeof getConfig>>;
  model: EngineModel | undefined;
  temporal: StoredTemporalState | null;
}

/** The request's checks and look-ups, one at a time, on the shadow session. */
async function timeLookups(run: LatencyRun, command: CompressCommand, phases: Phases) {
  const { runtime, userId } = run;
  const { sessionId } = command;
  const { sql } = runtime.db;
  await timed(phases, 'admit', () => admitSessionFrame(runtime, userId, sessionId));
  const decodeStarted = performance.now();
  const decoded = await decodeFrame(command.frame);
  const decodeMs = performance.now() - decodeStarted;
  addSample(phases, 'decode', decodeMs);
  const perDay = runtime.settings.SESSIONS_PER_USER_PER_DAY;
  await timed(phases, 'quota', () => checkSessionQuota(sql, sessionId, userId, perDay));
  const stored = await timed(phases, 'config', () => getConfig(sql, userId));
  const live = await timed(phases, 'model', () =>
    loadLiveSession(runtime, sessionId, userId, false),
  );
  const temporal = await timed(phases, 'temporal', () =>
    readTemporalState(runtime, userId, sessionId),
  );
  return { decoded, decodeMs, stored, model: live.model, temporal } satisfies LookedUp;
}

/** The engine as `runEngine` runs it for a video frame, on the timed port; returns its log. */
async function timeEngine(command: CompressCommand, found: LookedUp, phases: Phases) {
  const { decoded } = found;
  const policy: ResolvedPolicy = resolvePolicy(command.policy, found.stored);
  const started = performance.now();
  const { port, log } = timedPort(createSharpEnginePort(decoded));
  const frame = { width: decoded.width, height: decoded.height };
  const plan = await planTemporal({
    state: found.temporal?.state ?? null,
    frame: {
      ...frame,
      frameType: command.frameType,
      timestampUs: command.timestampUs,
      digest: () => createHash('sha1').update(command.frame).digest('base64'),
    },
    network: command.network,
    threshold: policy.unchangedSsim.video,
    floor: policy.minQualityScore,
    compare: (image) => port.compare(image),
  });
  const budget = frameBudget({
    originalBytes: command.frame.length,
    targetCompressionRatio: policy.targetCompressionRatio,
    network: command.network,
    networkBytes: plan.networkBytes,
    capByRatio: plan.plan.kind !== 'refine',
  });
  addSample(phases, 'plan', performance.now() - started);
  const spentMs = found.decodeMs + (plan.viewer?.measureMs ?? 0);
  await compressFrame({
    frame: { ...frame, originalBytes: command.frame.length, frameType: command.frameType },
    policy: { ...policy, maxLatencyMs: Math.max(1, policy.maxLatencyMs - spentMs) },
    budget,
    model: policy.predictive ? found.model : undefined,
    port,
    now: () => performance.now(),
    onlyWithinBudget: dropsWhatMisses(policy.onBudgetMiss, budget),
  }).finally(() => port.finish());
  const engineMs = performance.now() - started;
  addSample(phases, 'engine', engineMs);
  addSample(phases, 'decodeEngine', found.decodeMs + engineMs);
  return log;
}

/** The port's log as phases: each encode and measurement by its rank in the search. */
function logPhases(log: PortLog, phases: Phases): void {
  log.encodes.forEach((ms, i) => {
    addSample(phases, i === 0 ? 'encode1' : i === 1 ? 'encode2' : 'encode3', ms);
  });
  log.measurements.forEach((m, i) => {
    addSample(phases, i === 0 ? 'outDecode1' : 'outDecode2', m.decodeMs);
    addSample(phases, i === 0 ? 'kernels1' : 'kernels2', m.kernelsMs);
  });
  addSample(phases, 'encodes', sum(log.encodes));
  addSample(phases, 'measures', sum(log.measurements.map((m) => m.decodeMs + m.kernelsMs)));
}

const sum = (values: readonly number[]) => values.reduce((a, b) => a + b, 0);

/** The service's writes for a frame, one at a time, on the shadow session. */
async function timeStore(
  run: LatencyRun,
  command: CompressCommand,
  served: CompressedFrame,
  temporal: StoredTemporalState | null,
  phases: Phases,
): Promise<void> {
  const { runtime, userId } = run;
  const { sessionId } = command;
  const { sql } = runtime.db;
  if (command.frameNumber === 0) {
    const claim = {
      sessionId,
      userId,
      sessionsPerDay: runtime.settings.SESSIONS_PER_USER_PER_DAY,
    };
    await timed(phases, 'claim', () => claimSession(sql, claim));
  }
  const event = toFrameEvent({ ...served.record, sessionId });
  await timed(phases, 'append', () => runtime.frameLog.append([event]));
  await timed(phases, 'insert', () => applyFrameEvents(sql, [event]));
  await timed(phases, 'saveModel', () => saveModel(runtime, userId, sessionId, served.model));
  if (temporal) {
    const change = served.temporalChange;
    await timed(phases, 'saveTemporal', () =>
      saveTemporalChange(runtime, userId, sessionId, temporal, change),
    );
  }
  await timed(phases, 'idempotency', () =>
    answerFrameOnce(runtime, command, async () => served.response),
  );
}

/** The response's share: the output to base64, the body to JSON. */
function timeResponse(served: CompressedFrame, phases: Phases): void {
  const output = Buffer.from(served.response.compressed_data, 'base64');
  timedSync(phases, 'base64', () => output.toString('base64'));
  timedSync(phases, 'json', () => JSON.stringify(served.response));
}

function timedSync(phases: Phases, key: PhaseKey, work: () => unknown): void {
  const started = performance.now();
  work();
  addSample(phases, key, performance.now() - started);
}

/** Serves frame `index` of `session` through the service, then replays it phase by phase. */
export async function runFrame(
  run: LatencyRun,
  session: LatencySession,
  frame: Buffer,
  index: number,
): Promise<FrameResult> {
  const phases: Phases = {};
  const command = commandOf(run, session, frame, index);
  const served = await serviceFrame(run, command, phases);
  const shadow = { ...command, sessionId: session.shadowId };
  timeRequest(shadow, phases);
  const found = await timeLookups(run, shadow, phases);
  const log = await timeEngine(shadow, found, phases);
  logPhases(log, phases);
  const kernelsAgree = timeKernels(run.splitter, found.decoded, log, phases);
  await timeStore(run, shadow, served, found.temporal, phases);
  timeResponse(served, phases);
  return {
    sample: { size: sizeLabel(session.size), profile: session.profile.name, phases },
    budgetBytes: served.response.budget_bytes,
    status: served.response.status,
    fallbackReason: served.response.fallback_reason,
    encodes: served.response.encode_attempts,
    kernelsAgree,
  };
}

/** `1280x720` */
export const sizeLabel = (size: { width: number; height: number }) =>
  `${size.width}x${size.height}`;
