/**
 * One session of the temporal benchmark: a server serving a sequence's frames in order, what its
 * viewer sees, and the session's measures; and the temporal server's run at no more bytes than the
 * per-frame engine's, at a usable bandwidth scaled down until its bytes fit.
 */
import { networkBytesPerFrame, usableBytesPerSecond } from '../functions/core/network/budget.ts';
import type { NetworkProfile } from './compress-support.ts';
import { formatBytes } from './format.ts';
import { mean } from './stats.ts';
import type { SentFrame, ServerFactory } from './temporal.ts';
import { type ScaledRun, SETTLED_SSIM, type SessionMeasures } from './temporal-goals.ts';
import type { Sequence } from './temporal-sequences.ts';
import {
  peakSecondBytes,
  settledFrames,
  stillScreenSsims,
  timesToReach,
  type ViewerSeries,
  viewerSsims,
} from './temporal-viewer.ts';

/** Runs of the temporal server at a scaled bandwidth before the equal-bytes run gives up. */
export const EQUAL_BYTES_TRIES = 4;

/**
 * Each next scale aims this far below the per-frame engine's bytes: a session's bytes follow its
 * bandwidth closely but not exactly.
 */
const EQUAL_BYTES_AIM = 0.98;

/** Writes a progress line to stderr. */
export type Log = (message: string) => void;

/** Serves every frame of `sequence` in order through a fresh session of `factory`. */
export async function serveSession(
  factory: ServerFactory,
  sequence: Sequence,
  network: NetworkProfile,
  maxLatencyMs?: number,
): Promise<SentFrame[]> {
  const session = factory(maxLatencyMs);
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

/**
 * The still screen's measures from the start and each edit: the time to sharp and the bytes a
 * frame once sharp, by the whole frame's viewer SSIM and by the edited region's too.
 */
function stillMeasures(
  sequence: Sequence,
  network: NetworkProfile,
  bytes: readonly number[],
  series: ViewerSeries,
) {
  const timestampsUs = sequence.frames.map((frame) => frame.timestampUs);
  const editsUs = sequence.edits.map((edit) => edit.timestampUs);
  const worst = (ssims: readonly number[]) =>
    Math.max(...timesToReach(ssims, timestampsUs, editsUs, SETTLED_SSIM));
  const perFrame = (ssims: readonly number[]) =>
    mean(settledFrames(ssims, timestampsUs, editsUs, SETTLED_SSIM).map((i) => bytes[i] as number));
  const share = networkBytesPerFrame(network);
  const combined = stillScreenSsims(series);
  const settledBytesPerFrame = perFrame(series.ssim);
  const editSettledBytesPerFrame = perFrame(combined);
  return {
    worstSettleMs: worst(series.ssim),
    worstEditSettleMs: worst(combined),
    settledBytesPerFrame,
    settledBudgetShare: settledBytesPerFrame / share,
    editSettledBytesPerFrame,
    editSettledBudgetShare: editSettledBytesPerFrame / share,
  };
}

/** The still-screen measures of a sequence that is not the still screen: none. */
export const NOT_STILL = {
  worstSettleMs: Number.NaN,
  worstEditSettleMs: Number.NaN,
  settledBytesPerFrame: Number.NaN,
  settledBudgetShare: Number.NaN,
  editSettledBytesPerFrame: Number.NaN,
  editSettledBudgetShare: Number.NaN,
};

/** The measures of one session from its answers and its viewer, against `network`'s rate. */
export function measure(
  sequence: Sequence,
  network: NetworkProfile,
  answers: readonly SentFrame[],
  series: ViewerSeries,
): SessionMeasures {
  const bytes = answers.map((answer) => answer.bytes.length);
  const timestampsUs = sequence.frames.map((frame) => frame.timestampUs);
  return {
    frames: answers.length,
    meanSsim: mean(series.ssim),
    totalBytes: bytes.reduce((a, b) => a + b, 0),
    peakRateShare: peakSecondBytes(timestampsUs, bytes) / usableBytesPerSecond(network),
    imagesSent: bytes.filter((n) => n > 0).length,
    statuses: countStatuses(answers),
    ...(sequence.name === 'static-screen'
      ? stillMeasures(sequence, network, bytes, series)
      : NOT_STILL),
  };
}

/** Serves `sequence` through one or more servers, each in a fresh session, and measures each. */
export async function measureSessions(
  sides: readonly (readonly [label: string, factory: ServerFactory])[],
  sequence: Sequence,
  network: NetworkProfile,
  log: Log,
  maxLatencyMs?: number,
): Promise<SessionMeasures[]> {
  const answers: SentFrame[][] = [];
  for (const [label, factory] of sides) {
    const started = performance.now();
    const served = await serveSession(factory, sequence, network, maxLatencyMs);
    const sent = served.reduce((sum, answer) => sum + answer.bytes.length, 0);
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    const latency = maxLatencyMs === undefined ? '' : `, ${maxLatencyMs} ms latency budget`;
    log(
      `${network.name}${latency}, ${sequence.name}, ${label}: ${served.length} frames, ${formatBytes(sent)} sent, ${seconds} s`,
    );
    answers.push(served);
  }
  const series = await viewerSsims(sequence, answers);
  return answers.map((served, i) => measure(sequence, network, served, series[i] as ViewerSeries));
}

/**
 * The usable-bandwidth scale to run the temporal server at next, from a run at `scale` that sent
 * `bytes`, so that it sends at most `limit`; undefined when `bytes` is already within it. The
 * temporal server spends about its usable rate, so its bytes scale with it: the next scale aims
 * {@link EQUAL_BYTES_AIM} of the way to the limit.
 */
export function nextScale(scale: number, bytes: number, limit: number): number | undefined {
  if (bytes <= limit) return undefined;
  return (scale * limit * EQUAL_BYTES_AIM) / bytes;
}

/** `profile` with its bandwidth scaled by `scale`. */
export function scaledProfile(profile: NetworkProfile, scale: number): NetworkProfile {
  return { ...profile, bandwidthKbps: profile.bandwidthKbps * scale };
}

/**
 * The temporal server at no more bytes than the per-frame engine sent (`limit`): its full-rate run
 * (`temporal`) when that is within it, else runs at a usable bandwidth scaled by the byte ratio
 * until one is, at most {@link EQUAL_BYTES_TRIES} of them (the last one is returned either way).
 */
export async function equalBytesRun(
  factory: ServerFactory,
  sequence: Sequence,
  profile: NetworkProfile,
  full: { temporal: SessionMeasures; limit: number },
  log: Log,
): Promise<ScaledRun> {
  let run: ScaledRun = { scale: 1, bandwidthKbps: profile.bandwidthKbps, measures: full.temporal };
  for (let tries = 0; tries < EQUAL_BYTES_TRIES; tries++) {
    const scale = nextScale(run.scale, run.measures.totalBytes, full.limit);
    if (scale === undefined) break;
    const network = scaledProfile(profile, scale);
    const label = `temporal at x${scale.toFixed(3)} the bandwidth`;
    const [measures] = await measureSessions([[label, factory]], sequence, network, log);
    run = { scale, bandwidthKbps: network.bandwidthKbps, measures: measures as SessionMeasures };
  }
  return run;
}
