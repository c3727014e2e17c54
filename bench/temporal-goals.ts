/**
 * The goals of `npm run bench:temporal` and what a run measured against them: a still
 * screen sharp within a second and nearly free after that, where one frame the bucket allows can
 * carry it; no second above the usable rate; screen content sharper than the per-frame engine's at
 * no more bytes, where it sent any; camera content not below it under a latency budget that never
 * binds.
 */
import { frameBudget, framesPerSecond } from '../functions/core/network/budget.ts';
import { BURST_SECONDS } from '../functions/core/temporal/bit-bucket.ts';
import { type NetworkProfile, POLICY } from './compress-support.ts';
import { fixed, formatBytes, ms, pct, times } from './format.ts';
import type { Goal } from './report-page.ts';
import type { SentFrame } from './temporal.ts';
import type { ProfileCeiling } from './temporal-ceiling.ts';
import type { ProfileFloor, QualityFloor, StillFloor } from './temporal-floor.ts';
import { SEQUENCE_NAMES, type SequenceName } from './temporal-sequences.ts';

/** The viewer SSIM a still screen must reach. */
export const SETTLED_SSIM = 0.99;
/** ... within this long after the start and after each edit, ms. */
const SETTLE_WITHIN_MS = 1000;
/** Once there, at most this share of a frame's budget per frame. */
const SETTLED_BUDGET_SHARE = 0.01;
/** No one-second window above this multiple of the usable bandwidth. */
const PEAK_RATE_LIMIT = 1.05;
/** Screen content: the temporal server's mean viewer SSIM at least this much above the baseline's. */
export const SCREEN_GAIN = 0.02;
/** Camera content: not below the baseline's, to rounding. */
const VIDEO_TOLERANCE = -0.002;

/** The measures of one session (one server on one sequence under one profile). */
export interface SessionMeasures {
  readonly frames: number;
  readonly meanSsim: number;
  readonly totalBytes: number;
  /** The highest one-second rate over the usable bandwidth the session was given. */
  readonly peakRateShare: number;
  /** Answers that carried an image. */
  readonly imagesSent: number;
  /** Answers by status. */
  readonly statuses: Readonly<Record<SentFrame['status'], number>>;
  /**
   * Static screen: the longest time for the whole frame's viewer SSIM to reach
   * {@link SETTLED_SSIM} after the start or an edit, ms; NaN elsewhere.
   */
  readonly worstSettleMs: number;
  /** The same, the edit's region reaching it too: the time until an edit is shown sharp. */
  readonly worstEditSettleMs: number;
  /**
   * Static screen: mean bytes a frame once the whole frame reached {@link SETTLED_SSIM}, until the
   * next edit; NaN elsewhere or when it never did.
   */
  readonly settledBytesPerFrame: number;
  /** {@link settledBytesPerFrame} over the frame's network budget. */
  readonly settledBudgetShare: number;
  /** The same once the edit's region reached it too. */
  readonly editSettledBytesPerFrame: number;
  /** {@link editSettledBytesPerFrame} over the frame's network budget. */
  readonly editSettledBudgetShare: number;
}

/** The temporal server on a screen sequence at no more bytes than the per-frame engine sent. */
export interface ScaledRun {
  /** The usable bandwidth it was given over the profile's; 1 when its full-rate run fit. */
  readonly scale: number;
  readonly bandwidthKbps: number;
  readonly measures: SessionMeasures;
}

/** Both servers on a camera sequence under a latency budget that never binds. */
export interface UnboundRun {
  readonly latencyMs: number;
  readonly perFrame: SessionMeasures;
  readonly temporal: SessionMeasures;
  /** The per-frame engine's mean viewer SSIM in a second session under the same budget. */
  readonly perFrameAgain: number;
}

/** One sequence under one profile, served by both sides. */
export interface RunResult {
  readonly sequence: SequenceName;
  readonly profile: NetworkProfile;
  readonly perFrame: SessionMeasures;
  readonly temporal: SessionMeasures;
  /**
   * Video sequences: the per-frame engine's mean viewer SSIM in a second session of the same
   * frames, how far the same server differs from itself from run to run.
   */
  readonly perFrameAgain?: number;
  /** Screen sequences where the per-frame engine sent anything: the temporal server at no more bytes. */
  readonly equalBytes?: ScaledRun;
  /** Video sequences: both servers under a latency budget that never binds. */
  readonly unbound?: UnboundRun;
}

/** The floors measured in the run. */
export interface Floors {
  readonly still: StillFloor;
  /** The screen sequences' first frames at the policy's quality floor. */
  readonly quality: readonly QualityFloor[];
  /** The ceiling of an intra-only server on the screen sequences, at the per-frame engine's bytes. */
  readonly ceilings: readonly ProfileCeiling[];
}

/** `+0.0123` or `-0.0123`. */
export const signed = (value: number) => (value >= 0 ? `+${fixed(value, 4)}` : fixed(value, 4));
/** A time to sharp, ms, or `not reached`. */
export const settleTime = (value: number) =>
  value === Number.POSITIVE_INFINITY ? 'not reached' : ms(value, 0);
/** `a / b`, or `n/a` when `b` sent nothing (and `a` did). */
export const ratio = (a: number, b: number) =>
  b === 0 ? (a === 0 ? times(1) : 'n/a') : times(a / b);
/** Whether a sequence is screen content. */
export const isScreen = (name: SequenceName) =>
  name === 'static-screen' || name === 'scrolling-page';

/** The run with the largest `value` of the temporal side (NaN counts as the largest). */
function worst(runs: readonly RunResult[], value: (m: SessionMeasures) => number): RunResult {
  const key = (r: RunResult) => {
    const v = value(r.temporal);
    return Number.isNaN(v) ? Number.POSITIVE_INFINITY : v;
  };
  return runs.reduce((a, b) => (key(b) > key(a) ? b : a));
}

/** The floor of `run`'s profile; undefined when the floor did not measure that profile. */
const floorOf = (floor: StillFloor, run: RunResult): ProfileFloor | undefined =>
  floor.profiles.find((p) => p.profile.name === run.profile.name);

/**
 * The still screen's runs split by the floor: those where one frame the bucket allows can carry
 * the page at the settled SSIM (or whose profile the floor did not measure), and the floors of the
 * profiles where it cannot, with what they exclude, e.g. `400 kbps / 10 fps excluded: smallest
 * 0.99 encoding 47.2 kB > 21 kB the bucket allows`.
 */
export function splitByFloor(
  runs: readonly RunResult[],
  floor: StillFloor,
): { counted: RunResult[]; excluded: string[] } {
  const counted = runs.filter((r) => floorOf(floor, r)?.reachable !== false);
  const excluded = runs.flatMap((r) => {
    const below = floorOf(floor, r);
    if (below === undefined || below.reachable) return [];
    const smallest = floor.smallest
      ? `smallest ${floor.threshold} encoding ${formatBytes(floor.smallest.bytes)} > ${formatBytes(below.largestFrameBytes)} the bucket allows`
      : `no encoding reaches ${floor.threshold}`;
    return [`${r.profile.name} excluded: ${smallest}`];
  });
  return { counted, excluded };
}

/** `share (bytes, profile)` of the costliest run once settled, as `share` and `bytes` read it. */
function costText(
  run: RunResult,
  share: (m: SessionMeasures) => number,
  bytes: (m: SessionMeasures) => number,
): string {
  return Number.isNaN(share(run.temporal))
    ? `no frame once there (${run.profile.name})`
    : `${pct(share(run.temporal), 2)} (${formatBytes(bytes(run.temporal))}, ${run.profile.name})`;
}

const STILL_SCOPE = `, worst over the profiles where the bucket lets one frame carry the page at ${SETTLED_SSIM}`;

/** The still screen's figures as one reading of "there" gives them. */
interface StillReading {
  readonly settleMs: (m: SessionMeasures) => number;
  readonly share: (m: SessionMeasures) => number;
  readonly bytes: (m: SessionMeasures) => number;
}

/** "There": the whole frame and the region each edit changed both reach the threshold. */
const EDIT_SHARP: StillReading = {
  settleMs: (m) => m.worstEditSettleMs,
  share: (m) => m.editSettledBudgetShare,
  bytes: (m) => m.editSettledBytesPerFrame,
};

/** "There": the whole frame reaches it; an edit's refinements after that count as spending. */
const WHOLE_FRAME: StillReading = {
  settleMs: (m) => m.worstSettleMs,
  share: (m) => m.settledBudgetShare,
  bytes: (m) => m.settledBytesPerFrame,
};

/** The time to "there" and the cost after it, worst over `counted`, as `reading` reads them. */
function stillFigures(counted: readonly RunResult[], reading: StillReading) {
  const slowest = worst(counted, reading.settleMs);
  const costliest = worst(counted, reading.share);
  const baseline = Math.max(...counted.map((r) => reading.settleMs(r.perFrame)));
  return {
    time: `${settleTime(reading.settleMs(slowest.temporal))} (${slowest.profile.name})`,
    baseline: settleTime(baseline),
    cost: costText(costliest, reading.share, reading.bytes),
  };
}

/**
 * The whole frame's figures, a reference row: a typed word barely moves a 1280x720 frame's SSIM,
 * so the whole frame is "there" before an edit is shown sharp, and the refinements that sharpen the
 * edit after that count as spending in this row.
 */
function wholeFrameRow(counted: readonly RunResult[], besides: string): Goal {
  const { time, baseline, cost } = stillFigures(counted, WHOLE_FRAME);
  return {
    goal: `static screen, the whole frame alone (reference, not a goal): time until its SSIM reaches ${SETTLED_SSIM}, then bytes per frame, edit refinements included${STILL_SCOPE}`,
    measured: `${time}, then ${cost}; per-frame engine: ${baseline}${besides}`,
    target: '-',
    met: undefined,
  };
}

/**
 * The still screen's goals over the profiles where the floor lets the page become sharp; a profile
 * where it can but does not still fails them. The viewer's image is "there" once the whole frame
 * and the region each edit changed reach the threshold (a typed word shown blurred is not a sharp
 * screen). With every profile below the floor there is nothing left to meet: the verdict is `-`
 * and the measured text names the floors. A third row, without a verdict, gives the whole frame's
 * figures alone.
 */
export function stillGoals(runs: readonly RunResult[], floor: StillFloor): Goal[] {
  const { counted, excluded } = splitByFloor(runs, floor);
  const goals = {
    settle: `static screen: the viewer's image (the whole frame and the region each edit changed) reaches SSIM ${SETTLED_SSIM} after the start and each edit${STILL_SCOPE}`,
    cost: `static screen, once there: bytes per frame, share of a frame's budget${STILL_SCOPE}`,
  };
  const targets = {
    settle: `<= ${ms(SETTLE_WITHIN_MS, 0)}`,
    cost: `<= ${pct(SETTLED_BUDGET_SHARE, 0)}`,
  };
  const floors = excluded.join('; ');
  if (counted.length === 0) {
    const measured = `every profile excluded: ${floors}`;
    return [
      { goal: goals.settle, measured, target: targets.settle, met: undefined },
      { goal: goals.cost, measured, target: targets.cost, met: undefined },
    ];
  }
  const besides = floors ? `; ${floors}` : '';
  const { time, baseline, cost } = stillFigures(counted, EDIT_SHARP);
  return [
    {
      goal: goals.settle,
      measured: `${time}; per-frame engine: ${baseline}${besides}`,
      target: targets.settle,
      met: counted.every((r) => EDIT_SHARP.settleMs(r.temporal) <= SETTLE_WITHIN_MS),
    },
    {
      goal: goals.cost,
      measured: `${cost}${besides}`,
      target: targets.cost,
      met: counted.every((r) => EDIT_SHARP.share(r.temporal) <= SETTLED_BUDGET_SHARE),
    },
    wholeFrameRow(counted, besides),
  ];
}

/** Every temporal session of the run with the name of its sequence and network. */
function temporalSessions(results: readonly RunResult[]) {
  return results.flatMap((r) => {
    const at = (network: string, m: SessionMeasures) => ({ what: `${r.sequence}, ${network}`, m });
    const runs = [at(r.profile.name, r.temporal)];
    if (r.equalBytes && r.equalBytes.scale !== 1) {
      runs.push(at(`${r.equalBytes.bandwidthKbps.toFixed(0)} kbps`, r.equalBytes.measures));
    }
    if (r.unbound)
      runs.push(at(`${r.profile.name}, ${r.unbound.latencyMs} ms`, r.unbound.temporal));
    return runs;
  });
}

function rateGoal(results: readonly RunResult[]): Goal {
  const sessions = temporalSessions(results);
  const peak = sessions.reduce((a, b) => (b.m.peakRateShare > a.m.peakRateShare ? b : a));
  const baselinePeak = Math.max(...results.map((r) => r.perFrame.peakRateShare));
  return {
    goal: 'highest one-second rate / usable bandwidth, every sequence and profile (and every run at a scaled bandwidth or another latency budget, against the bandwidth it was given)',
    measured: `${times(peak.m.peakRateShare)} (${peak.what}); per-frame engine: ${times(baselinePeak)}`,
    target: `<= ${times(PEAK_RATE_LIMIT)}`,
    met: sessions.every((s) => s.m.peakRateShare <= PEAK_RATE_LIMIT),
  };
}

/**
 * Why the per-frame engine sent nothing under `profile`, from the sequence's quality floor, e.g.
 * `smallest encoding at SSIM >= 0.85 9.8 kB (jpeg q20 x0.5) > 7.9 kB a frame's budget`.
 */
export function nothingFits(floor: QualityFloor | undefined, profile: NetworkProfile): string {
  if (floor === undefined) return 'not measured';
  const { budgetBytes } = frameBudget({
    originalBytes: floor.originalBytes,
    targetCompressionRatio: POLICY.targetCompressionRatio,
    network: profile,
  });
  const budget = `${formatBytes(budgetBytes)} a frame's budget`;
  const at = `at SSIM >= ${floor.quality}`;
  if (floor.smallest === undefined) return `no encoding ${at}; ${budget}`;
  const smallest = `${formatBytes(floor.smallest.bytes)} (${floor.smallest.candidate})`;
  return floor.smallest.bytes > budgetBytes
    ? `smallest encoding ${at} ${smallest} > ${budget}`
    : `smallest encoding ${at} ${smallest} <= ${budget}`;
}

/**
 * Why no server held to a bit bucket can show anything at no more bytes than the per-frame engine
 * sent under `run`'s profile, or undefined when one can: it sent nothing, or its bytes spread over
 * the sequence as a rate give a burst (the largest frame a bucket allows) below the smallest
 * encoding at the quality floor.
 */
export function belowEqualBytesFloor(
  run: RunResult,
  quality: QualityFloor | undefined,
): string | undefined {
  const { perFrame, profile } = run;
  if (perFrame.totalBytes === 0) {
    return `the per-frame engine sent nothing (${nothingFits(quality, profile)})`;
  }
  const seconds = perFrame.frames / framesPerSecond(profile);
  const burst = Math.floor((perFrame.totalBytes / seconds) * BURST_SECONDS);
  const smallest = quality?.smallest;
  if (smallest === undefined || smallest.bytes <= burst) return undefined;
  return `the per-frame engine sent ${formatBytes(perFrame.totalBytes)} in ${fixed(seconds, 1)} s, a rate whose bucket lets a frame carry ${formatBytes(burst)}, less than the smallest encoding at SSIM >= ${quality?.quality} (${formatBytes(smallest.bytes)}, ${smallest.candidate})`;
}

/** The ceiling measured for `run`'s sequence and profile, if any. */
export const ceilingOfRun = (ceilings: readonly ProfileCeiling[], run: RunResult) =>
  ceilings.find((c) => c.sequence === run.sequence && c.profile === run.profile.name);

/**
 * Why the screen goal's gain is out of reach under `run`'s profile, or undefined when it is not:
 * the ceiling of an intra-only server at the per-frame engine's bytes lies less than
 * {@link SCREEN_GAIN} above the per-frame engine's mean viewer SSIM.
 */
export function belowCeiling(
  run: RunResult,
  ceilings: readonly ProfileCeiling[],
): string | undefined {
  const ceiling = ceilingOfRun(ceilings, run);
  if (ceiling === undefined) return undefined;
  const gain = ceiling.ceiling.meanSsim - run.perFrame.meanSsim;
  if (gain >= SCREEN_GAIN) return undefined;
  return `ceiling ${signed(gain)} at the per-frame engine's bytes (intra-only, engine grid)`;
}

/**
 * A screen sequence's goal at no more bytes: the temporal server's equal-bytes run against the
 * per-frame engine, over the profiles where a server held to the bucket can show anything at those
 * bytes (`belowEqualBytesFloor`) and where an intra-only server could gain the goal's margin at
 * all (`belowCeiling`); the others are left out and named with their floor.
 */
export function screenGoal(
  name: SequenceName,
  runs: readonly RunResult[],
  quality: QualityFloor | undefined,
  ceilings: readonly ProfileCeiling[] = [],
): Goal {
  const floors = runs.map((r) => belowEqualBytesFloor(r, quality) ?? belowCeiling(r, ceilings));
  const counted = runs.filter((r, i) => floors[i] === undefined && r.equalBytes);
  const excluded = runs.flatMap((r, i) =>
    floors[i] === undefined ? [] : [`${r.profile.name} excluded: ${floors[i]}`],
  );
  const goal = `${name}: mean viewer SSIM - per-frame engine's at no more bytes (the temporal server at a usable bandwidth scaled until its bytes are at most the per-frame engine's), least over profiles, and bytes / per-frame engine's, most`;
  const target = `>= +${SCREEN_GAIN} at <= ${times(1)}`;
  if (counted.length === 0) {
    return {
      goal,
      measured: `every profile excluded: ${excluded.join('; ')}`,
      target,
      met: undefined,
    };
  }
  const gain = (r: RunResult) => (r.equalBytes?.measures.meanSsim ?? 0) - r.perFrame.meanSsim;
  const bytesRatio = (r: RunResult) =>
    (r.equalBytes?.measures.totalBytes ?? 0) / r.perFrame.totalBytes;
  const least = counted.reduce((a, b) => (gain(b) < gain(a) ? b : a));
  const most = Math.max(...counted.map(bytesRatio));
  const full = least.temporal;
  const measured = [
    `${signed(gain(least))} (${least.profile.name}, the temporal server at x${fixed(least.equalBytes?.scale ?? 1, 2)} the bandwidth) at most ${times(most)} the bytes`,
    `there at the full rate: ${signed(full.meanSsim - least.perFrame.meanSsim)} at ${times(full.totalBytes / least.perFrame.totalBytes)} the bytes`,
    ...excluded,
  ].join('; ');
  return {
    goal,
    measured,
    target,
    met: counted.every((r) => gain(r) >= SCREEN_GAIN && bytesRatio(r) <= 1),
  };
}

/**
 * A reference row for a screen sequence: under each profile where the ceiling was measured, how
 * much above an even split of the per-frame engine's bytes (each frame's best encoding within its
 * share) the ceiling lies, the most that moving bytes between frames can add. Where it is under
 * {@link SCREEN_GAIN}, rate control alone cannot meet the screen goal there.
 */
export function reallocationBound(
  name: SequenceName,
  runs: readonly RunResult[],
  ceilings: readonly ProfileCeiling[],
): Goal | undefined {
  const rows = runs.flatMap((run) => {
    const found = ceilingOfRun(ceilings, run);
    if (found === undefined) return [];
    const { meanSsim, evenSplitSsim } = found.ceiling;
    return [`${run.profile.name}: ${signed(meanSsim - evenSplitSsim)}`];
  });
  if (rows.length === 0) return undefined;
  return {
    goal: `${name}: the most moving the per-frame engine's bytes between frames can add, with every frame's encoding chosen perfectly (ceiling - even split)`,
    measured: rows.join('; '),
    target: `under +${SCREEN_GAIN}: the screen goal is out of reach for rate control there`,
    met: undefined,
  };
}

/**
 * A camera sequence's goal: under a latency budget that never binds, the temporal server's mean
 * viewer SSIM not below the per-frame engine's, to {@link VIDEO_TOLERANCE} or the per-frame
 * engine's own difference between two runs where larger. The runs under the production budget are
 * shown beside it.
 */
export function videoGoal(name: SequenceName, runs: readonly RunResult[]): Goal {
  const unbound = runs.flatMap((r) => (r.unbound ? [r.unbound] : []));
  const latency = unbound[0]?.latencyMs;
  const leastOf = (gains: number[]) => Math.min(...gains);
  const gains = unbound.map((u) => u.temporal.meanSsim - u.perFrame.meanSsim);
  // Below the noise the same server shows against itself, a difference says nothing.
  const noise = Math.max(0, ...unbound.map((u) => Math.abs(u.perFrameAgain - u.perFrame.meanSsim)));
  const defaultNoise = Math.max(
    0,
    ...runs.map((r) =>
      r.perFrameAgain === undefined ? 0 : Math.abs(r.perFrameAgain - r.perFrame.meanSsim),
    ),
  );
  const atDefault = leastOf(runs.map((r) => r.temporal.meanSsim - r.perFrame.meanSsim));
  const tolerance = Math.min(VIDEO_TOLERANCE, -noise);
  return {
    goal: `${name}: mean viewer SSIM - per-frame engine's, least over profiles, both servers under a ${latency ?? '-'} ms latency budget (one that never binds, so the per-frame engine's choices do not depend on encode timing)`,
    measured: `${unbound.length > 0 ? signed(leastOf(gains)) : 'not run'}; the per-frame engine against itself: ${signed(-noise)}; under the production latency budget: ${signed(atDefault)}, the per-frame engine against itself ${signed(-defaultNoise)}`,
    target: `>= ${VIDEO_TOLERANCE}, or the per-frame engine's own run-to-run difference where larger`,
    met: unbound.length > 0 ? gains.every((g) => g >= tolerance) : undefined,
  };
}

/** The page's goals, in order. */
export function goals(results: readonly RunResult[], floors: Floors): Goal[] {
  const of = (name: SequenceName) => results.filter((r) => r.sequence === name);
  return [
    ...stillGoals(of('static-screen'), floors.still),
    rateGoal(results),
    ...SEQUENCE_NAMES.flatMap((name) => {
      if (!isScreen(name)) return [videoGoal(name, of(name))];
      const quality = floors.quality.find((q) => q.sequence === name);
      const goal = screenGoal(name, of(name), quality, floors.ceilings);
      const bound = reallocationBound(name, of(name), floors.ceilings);
      return bound ? [goal, bound] : [goal];
    }),
  ];
}
