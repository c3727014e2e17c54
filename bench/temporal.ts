/**
 * `npm run bench:temporal`: temporal rate control against today's per-frame engine, as a viewer
 * sees it. Four generated sequences (`temporal-sequences.ts`) under the three network profiles of
 * the compression benchmark; for each, both servers serve the same frames in fresh sessions, and
 * the viewer model (`temporal-viewer.ts`) turns their answers into viewer SSIM per frame, bytes,
 * the highest one-second rate and, on the still screen, how soon and how cheaply it becomes sharp.
 * The floor of that (`temporal-floor.ts`) is measured in the same run: the smallest encoding of the
 * still page at the settled SSIM against the largest frame a session's bit bucket lets through.
 *
 * The temporal side is injected: `temporalSession` from `temporal-serve.ts`. Writes
 * docs/benchmarks/temporal.md; `BENCH_QUICK=1` runs 1.5 s sequences and writes to the OS temp
 * directory instead.
 */
import type { FrameType } from '../functions/core/engine/candidates.ts';
import {
  DEFAULT_FPS,
  type NetworkSample,
  networkBytesPerFrame,
  usableBytesPerSecond,
} from '../functions/core/network/budget.ts';
import { type NetworkProfile, POLICY, PROFILES } from './compress-support.ts';
import { formatBytes } from './format.ts';
import { QUICK, startRun, writeBenchmarkPage } from './report-page.ts';
import { mean } from './stats.ts';
import { perFrameEngine } from './temporal-baseline.ts';
import { measureStillFloor, type StillFloor } from './temporal-floor.ts';
import {
  type RunResult,
  SETTLED_SSIM,
  type SessionMeasures,
  temporalPage,
} from './temporal-report.ts';
import { generateSequences, type Sequence } from './temporal-sequences.ts';
import { temporalSession } from './temporal-serve.ts';
import {
  peakSecondBytes,
  settledFrames,
  stillScreenSsims,
  timesToReach,
  type ViewerSeries,
  viewerSsims,
} from './temporal-viewer.ts';

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

/** Starts a fresh session. */
export type ServerFactory = () => SessionServer;

const DURATION_S = QUICK ? 1.5 : 6;
const EDIT_EVERY_S = QUICK ? 0.75 : 2;

const t0 = performance.now();
const log = (message: string) => {
  process.stderr.write(
    `[bench:temporal ${((performance.now() - t0) / 1000).toFixed(0)} s] ${message}\n`,
  );
};

/** Serves every frame of `sequence` in order through a fresh session of `factory`. */
async function serveSession(
  factory: ServerFactory,
  sequence: Sequence,
  network: NetworkSample,
): Promise<SentFrame[]> {
  const session = factory();
  const answers: SentFrame[] = [];
  for (const frame of sequence.frames) {
    const { data, timestampUs, index } = frame;
    const toServe = { data, frameType: sequence.frameType, timestampUs, frameNumber: index };
    answers.push(await session(toServe, network));
  }
  return answers;
}

function countStatuses(answers: readonly SentFrame[]): SessionMeasures['statuses'] {
  const counts = { success: 0, fallback: 0, dropped: 0, unchanged: 0 };
  for (const answer of answers) counts[answer.status]++;
  return counts;
}

/** The still screen's measures: time to sharp after the start and each edit, bytes once sharp. */
function stillMeasures(
  sequence: Sequence,
  network: NetworkSample,
  bytes: readonly number[],
  series: ViewerSeries,
) {
  const timestampsUs = sequence.frames.map((frame) => frame.timestampUs);
  const editsUs = sequence.edits.map((edit) => edit.timestampUs);
  const combined = stillScreenSsims(series);
  const worst = (ssims: readonly number[]) =>
    Math.max(...timesToReach(ssims, timestampsUs, editsUs, SETTLED_SSIM));
  const settled = settledFrames(combined, timestampsUs, editsUs, SETTLED_SSIM);
  const settledBytesPerFrame = mean(settled.map((i) => bytes[i] as number));
  return {
    worstFrameSettleMs: worst(series.ssim),
    worstSettleMs: worst(combined),
    settledBytesPerFrame,
    settledBudgetShare: settledBytesPerFrame / networkBytesPerFrame(network),
  };
}

/** The measures of one session from its answers and its viewer. */
function measure(
  sequence: Sequence,
  network: NetworkSample,
  answers: readonly SentFrame[],
  series: ViewerSeries,
): SessionMeasures {
  const bytes = answers.map((answer) => answer.bytes.length);
  const timestampsUs = sequence.frames.map((frame) => frame.timestampUs);
  const notStill = {
    worstFrameSettleMs: Number.NaN,
    worstSettleMs: Number.NaN,
    settledBytesPerFrame: Number.NaN,
    settledBudgetShare: Number.NaN,
  };
  return {
    frames: answers.length,
    meanSsim: mean(series.ssim),
    totalBytes: bytes.reduce((a, b) => a + b, 0),
    peakRateShare: peakSecondBytes(timestampsUs, bytes) / usableBytesPerSecond(network),
    imagesSent: bytes.filter((n) => n > 0).length,
    statuses: countStatuses(answers),
    ...(sequence.name === 'static-screen'
      ? stillMeasures(sequence, network, bytes, series)
      : notStill),
  };
}

/** Both servers on one sequence under one profile. */
async function runOne(sequence: Sequence, profile: NetworkProfile): Promise<RunResult> {
  const sides: [string, ServerFactory][] = [
    ['per-frame engine', perFrameEngine],
    ['temporal', temporalSession],
  ];
  const answers: SentFrame[][] = [];
  for (const [label, factory] of sides) {
    const started = performance.now();
    const served = await serveSession(factory, sequence, profile);
    const sent = served.reduce((sum, answer) => sum + answer.bytes.length, 0);
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    log(
      `${profile.name}, ${sequence.name}, ${label}: ${served.length} frames, ${formatBytes(sent)} sent, ${seconds} s`,
    );
    answers.push(served);
  }
  const [perFrame, temporal] = (await viewerSsims(sequence, answers)) as [
    ViewerSeries,
    ViewerSeries,
  ];
  return {
    sequence: sequence.name,
    profile,
    perFrame: measure(sequence, profile, answers[0] ?? [], perFrame),
    temporal: measure(sequence, profile, answers[1] ?? [], temporal),
    perFrameAgain: sequence.frameType === 'video' ? await again(sequence, profile) : undefined,
  };
}

/**
 * The per-frame engine's mean viewer SSIM on a second session of the same frames: the engine's
 * choices depend on how long its encodes take, so two runs of the same server differ by this much.
 */
async function again(sequence: Sequence, profile: NetworkProfile): Promise<number> {
  const served = await serveSession(perFrameEngine, sequence, profile);
  const [series] = (await viewerSsims(sequence, [served])) as [ViewerSeries];
  log(`${profile.name}, ${sequence.name}, per-frame engine again: ${served.length} frames`);
  return mean(series.ssim);
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

/**
 * The floor of a sharp still screen on the static screen's first frame (the page is drawn the same
 * at every frame rate), after the sessions so that its encodes never run beside theirs.
 */
async function floorOf(page: Buffer): Promise<StillFloor> {
  const started = performance.now();
  const floor = await measureStillFloor(page, PROFILES, SETTLED_SSIM, POLICY.allowedFormats);
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  const smallest = floor.smallest
    ? `${floor.smallest.candidate}, ${formatBytes(floor.smallest.bytes)}`
    : 'none';
  log(
    `floor: ${floor.encodings.length} encodings, smallest at ${SETTLED_SSIM}: ${smallest}, ${seconds} s`,
  );
  return floor;
}

async function main(): Promise<void> {
  const run = startRun();
  const results: RunResult[] = [];
  const options = { durationS: DURATION_S, editEveryS: EDIT_EVERY_S };
  const fpsOf = (profile: NetworkProfile) => profile.fps ?? DEFAULT_FPS;
  let page: Buffer | undefined;
  for (const fps of new Set(PROFILES.map(fpsOf))) {
    log(`generating the sequences at ${fps} fps`);
    const sequences = await generateSequences({ fps, ...options });
    page ??= sequences.find((s) => s.name === 'static-screen')?.frames[0]?.data;
    const profiles = PROFILES.filter((profile) => fpsOf(profile) === fps);
    if (results.length === 0 && profiles[0]) await warmUp(sequences, profiles[0]);
    for (const profile of profiles) {
      for (const sequence of sequences) results.push(await runOne(sequence, profile));
    }
  }
  if (page === undefined) throw new Error('no static screen was generated');
  const floor = await floorOf(page);
  await writeBenchmarkPage(run, temporalPage(results, floor, options));
}

await main();
