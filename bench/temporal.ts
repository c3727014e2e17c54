/**
 * `npm run bench:temporal`: temporal rate control against today's per-frame engine, as a viewer
 * sees it. Four generated sequences (`temporal-sequences.ts`) under the three network profiles of
 * the compression benchmark; for each, both servers serve the same frames in fresh sessions, and
 * the viewer model (`temporal-viewer.ts`) turns their answers into viewer SSIM per frame, bytes,
 * the highest one-second rate and, on the still screen, how soon and how cheaply it becomes sharp.
 * On screen content the temporal server is also run at a usable bandwidth scaled down until it
 * sends no more bytes than the per-frame engine (`temporal-session.ts`); on camera content both
 * servers are also run under a latency budget that never binds, where the per-frame engine repeats
 * itself. The floors (`temporal-floor.ts`) are measured in the same run: the smallest encoding of
 * the still page at the settled SSIM against the largest frame a session's bit bucket lets
 * through, and the smallest encoding of each screen sequence's first frame at the quality floor
 * against a frame's budget.
 *
 * The temporal side is injected: `temporalSession` from `temporal-serve.ts`. Writes
 * docs/benchmarks/temporal.md; `BENCH_QUICK=1` runs 1.5 s sequences and writes to the OS temp
 * directory instead.
 */
import type { FrameType } from '../functions/core/engine/candidates.ts';
import { DEFAULT_FPS, type NetworkSample } from '../functions/core/network/budget.ts';
import { type NetworkProfile, POLICY, PROFILES } from './compress-support.ts';
import { formatBytes } from './format.ts';
import { QUICK, startRun, writeBenchmarkPage } from './report-page.ts';
import { perFrameEngine } from './temporal-baseline.ts';
import {
  ceilingFrames,
  ceilingOf,
  type EncodingCache,
  type ProfileCeiling,
} from './temporal-ceiling.ts';
import {
  measureFloorEncodings,
  type QualityFloor,
  qualityFloor,
  type StillFloor,
  stillFloor,
} from './temporal-floor.ts';
import {
  isScreen,
  type RunResult,
  SETTLED_SSIM,
  type SessionMeasures,
  type UnboundRun,
} from './temporal-goals.ts';
import { temporalPage } from './temporal-report.ts';
import { generateSequences, type Sequence } from './temporal-sequences.ts';
import { temporalSession } from './temporal-serve.ts';
import { equalBytesRun, measureSessions, serveSession } from './temporal-session.ts';

/** What a server answered for one frame. */
export interface SentFrame {
  status: 'success' | 'fallback' | 'dropped' | 'unchanged';
  /** The image sent; empty when nothing was sent. */
  bytes: Buffer;
}

/** A frame as a session's server receives it. */
export interface FrameToServe {
  /** The frame encoded as the client sends it. */
  data: Buffer;
  frameType: FrameType;
  timestampUs: number;
  /** 0 for the session's first frame. */
  frameNumber: number;
}

/** One session's server: called with the frames in order. */
export type SessionServer = (frame: FrameToServe, network: NetworkSample) => Promise<SentFrame>;

/** Starts a fresh session; with `maxLatencyMs`, every frame is sent with that latency budget. */
export type ServerFactory = (maxLatencyMs?: number) => SessionServer;

/**
 * A latency budget that never binds on the camera frames (the contract's largest): the per-frame
 * engine's choices then depend on the frames alone, not on how long its encodes take.
 */
const UNBOUND_LATENCY_MS = 100;

const DURATION_S = QUICK ? 1.5 : 6;
const EDIT_EVERY_S = QUICK ? 0.75 : 2;

const t0 = performance.now();
const log = (message: string) => {
  process.stderr.write(
    `[bench:temporal ${((performance.now() - t0) / 1000).toFixed(0)} s] ${message}\n`,
  );
};

const SIDES: [string, ServerFactory][] = [
  ['per-frame engine', perFrameEngine],
  ['temporal', temporalSession],
];

/** Both servers on one sequence under one profile, and the runs that make them comparable. */
async function runOne(sequence: Sequence, profile: NetworkProfile): Promise<RunResult> {
  const [perFrame, temporal] = (await measureSessions(SIDES, sequence, profile, log)) as [
    SessionMeasures,
    SessionMeasures,
  ];
  const result = { sequence: sequence.name, profile, perFrame, temporal };
  if (sequence.frameType === 'video') {
    const perFrameAgain = await again(sequence, profile);
    return { ...result, perFrameAgain, unbound: await unbound(sequence, profile) };
  }
  // Where the per-frame engine sent nothing, no server can show anything at no more bytes.
  if (perFrame.totalBytes === 0) return result;
  const full = { temporal, limit: perFrame.totalBytes };
  return {
    ...result,
    equalBytes: await equalBytesRun(temporalSession, sequence, profile, full, log),
  };
}

/**
 * The per-frame engine's mean viewer SSIM on a second session of the same frames: the engine's
 * choices depend on how long its encodes take, so two runs of the same server differ by this much.
 */
async function again(
  sequence: Sequence,
  profile: NetworkProfile,
  maxLatencyMs?: number,
): Promise<number> {
  const sides: [string, ServerFactory][] = [['per-frame engine again', perFrameEngine]];
  const [measures] = await measureSessions(sides, sequence, profile, log, maxLatencyMs);
  return (measures as SessionMeasures).meanSsim;
}

/** Both servers, and the per-frame engine a second time, under a latency budget that never binds. */
async function unbound(sequence: Sequence, profile: NetworkProfile): Promise<UnboundRun> {
  const latencyMs = UNBOUND_LATENCY_MS;
  const [perFrame, temporal] = (await measureSessions(
    SIDES,
    sequence,
    profile,
    log,
    latencyMs,
  )) as [SessionMeasures, SessionMeasures];
  const perFrameAgain = await again(sequence, profile, latencyMs);
  return { latencyMs, perFrame, temporal, perFrameAgain };
}

/**
 * Libvips start-up, the JIT and the SSIM buffers, before anything is recorded: the engine's
 * latency budget makes its choices depend on how long encodes take, so a cold first session would
 * choose differently from the rest.
 */
async function warmUp(sequences: readonly Sequence[], profile: NetworkProfile): Promise<void> {
  for (const sequence of sequences) {
    await serveSession(
      perFrameEngine,
      { ...sequence, frames: sequence.frames.slice(0, 3) },
      profile,
    );
  }
}

/** What the floors rest on: the first frame of each screen sequence (the same at every frame rate). */
interface FirstFrames {
  readonly page: Buffer;
  readonly scrolling: Buffer;
}

/**
 * The floors, after the sessions so that their encodes never run beside theirs: the fewest bytes
 * that show the still page sharp, against the largest frame a bucket allows, and the fewest that
 * send each screen sequence's first frame at the policy's quality floor, against a frame's budget.
 */
async function floorsOf(
  first: FirstFrames,
): Promise<{ still: StillFloor; quality: QualityFloor[] }> {
  const started = performance.now();
  const formats = POLICY.allowedFormats;
  const pageEncodings = await measureFloorEncodings(first.page, formats);
  const still = stillFloor(pageEncodings, PROFILES, SETTLED_SSIM);
  const scrollingEncodings = await measureFloorEncodings(first.scrolling, formats);
  const quality = [
    qualityFloor('static-screen', first.page, pageEncodings, POLICY.minQualityScore),
    qualityFloor('scrolling-page', first.scrolling, scrollingEncodings, POLICY.minQualityScore),
  ];
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  const smallest = still.smallest
    ? `${still.smallest.candidate}, ${formatBytes(still.smallest.bytes)}`
    : 'none';
  log(`floors: smallest page at ${SETTLED_SSIM}: ${smallest}, ${seconds} s`);
  return { still, quality };
}

/**
 * The ceiling of an intra-only server on each screen sequence, at the per-frame engine's bytes
 * under each profile of `runs` where it sent any: the grid is encoded once per frame (`cache`
 * keeps it across frame rates), after the sessions so that its encodes never run beside theirs.
 */
async function ceilingsOf(
  sequences: readonly Sequence[],
  runs: readonly RunResult[],
  cache: EncodingCache,
): Promise<ProfileCeiling[]> {
  const ceilings: ProfileCeiling[] = [];
  for (const sequence of sequences.filter((s) => isScreen(s.name))) {
    const spent = runs.filter((r) => r.sequence === sequence.name && r.perFrame.totalBytes > 0);
    if (spent.length === 0) continue;
    const started = performance.now();
    const windowFrames = Math.round(sequence.fps);
    const allowedFormats = POLICY.allowedFormats;
    const measured = await ceilingFrames(sequence, { allowedFormats, windowFrames, cache });
    for (const run of spent) {
      const ceiling = ceilingOf(measured.frames, run.perFrame.totalBytes);
      const { olderMargin } = measured;
      ceilings.push({
        sequence: sequence.name,
        profile: run.profile.name,
        ceiling,
        windowFrames,
        olderMargin,
      });
      const gain = ceiling.meanSsim - run.perFrame.meanSsim;
      log(
        `ceiling: ${run.profile.name}, ${sequence.name}: ${ceiling.meanSsim.toFixed(4)} (${gain >= 0 ? '+' : ''}${gain.toFixed(4)})`,
      );
    }
    log(
      `ceiling: ${sequence.name} at ${sequence.fps} fps, ${((performance.now() - started) / 1000).toFixed(1)} s`,
    );
  }
  return ceilings;
}

/** The first frame of the sequence `name` among `sequences`. */
function firstFrame(sequences: readonly Sequence[], name: string): Buffer {
  const data = sequences.find((s) => s.name === name)?.frames[0]?.data;
  if (data === undefined) throw new Error(`no ${name} was generated`);
  return data;
}

async function main(): Promise<void> {
  const run = startRun();
  const results: RunResult[] = [];
  const options = { durationS: DURATION_S, editEveryS: EDIT_EVERY_S };
  const fpsOf = (profile: NetworkProfile) => profile.fps ?? DEFAULT_FPS;
  let first: FirstFrames | undefined;
  const ceilings: ProfileCeiling[] = [];
  const cache: EncodingCache = new Map();
  for (const fps of new Set(PROFILES.map(fpsOf))) {
    log(`generating the sequences at ${fps} fps`);
    const sequences = await generateSequences({ fps, ...options });
    first ??= {
      page: firstFrame(sequences, 'static-screen'),
      scrolling: firstFrame(sequences, 'scrolling-page'),
    };
    const profiles = PROFILES.filter((profile) => fpsOf(profile) === fps);
    if (results.length === 0 && profiles[0]) await warmUp(sequences, profiles[0]);
    const runs: RunResult[] = [];
    for (const profile of profiles) {
      for (const sequence of sequences) runs.push(await runOne(sequence, profile));
    }
    results.push(...runs);
    ceilings.push(...(await ceilingsOf(sequences, runs, cache)));
  }
  if (first === undefined) throw new Error('no sequence was generated');
  const floors = { ...(await floorsOf(first)), ceilings };
  await writeBenchmarkPage(run, temporalPage(results, floors, options));
}

await main();
