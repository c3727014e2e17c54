/**
 * The page of `npm run bench:temporal`: the goals, a table per sequence with a row per network
 * profile (the per-frame engine beside the temporal server), the floor of a sharp still screen,
 * and the method.
 */

import { QUALITY_GRID } from '../functions/core/engine/candidates.ts';
import { BURST_SECONDS } from '../functions/core/temporal/bit-bucket.ts';
import type { NetworkProfile } from './compress-support.ts';
import { fixed, formatBytes, ms, pct, times } from './format.ts';
import type { BenchmarkPage, Goal, PageSection } from './report-page.ts';
import { markdownTable } from './report-page.ts';
import type { SentFrame } from './temporal.ts';
import type { MeasuredEncoding, ProfileFloor, StillFloor } from './temporal-floor.ts';
import { smallestByKind } from './temporal-floor.ts';
import {
  PAN_PX_PER_S,
  SCROLL_PX_PER_S,
  SEQUENCE_NAMES,
  type SequenceName,
} from './temporal-sequences.ts';

/** The viewer SSIM a still screen must reach. */
export const SETTLED_SSIM = 0.99;
/** ... within this long after the start and after each edit, ms. */
const SETTLE_WITHIN_MS = 1000;
/** Once there, at most this share of a frame's budget per frame. */
const SETTLED_BUDGET_SHARE = 0.01;
/** No one-second window above this multiple of the usable bandwidth. */
const PEAK_RATE_LIMIT = 1.05;
/** Screen content: the temporal server's mean viewer SSIM at least this much above the baseline's. */
const SCREEN_GAIN = 0.02;
/** Camera content: not below the baseline's, to rounding. */
const VIDEO_TOLERANCE = -0.002;

/** The measures of one session (one server on one sequence under one profile). */
export interface SessionMeasures {
  readonly frames: number;
  readonly meanSsim: number;
  readonly totalBytes: number;
  /** The highest one-second rate over the usable bandwidth. */
  readonly peakRateShare: number;
  /** Answers that carried an image. */
  readonly imagesSent: number;
  /** Answers by status. */
  readonly statuses: Readonly<Record<SentFrame['status'], number>>;
  /**
   * Static screen: the longest time for the whole frame's viewer SSIM to reach
   * {@link SETTLED_SSIM} after the start or an edit, ms; NaN elsewhere.
   */
  readonly worstFrameSettleMs: number;
  /** The same, the edit's region reaching it too: the time until an edit is shown. */
  readonly worstSettleMs: number;
  /**
   * Static screen: mean bytes a frame once settled (whole frame and edit's region at
   * {@link SETTLED_SSIM}); NaN elsewhere or when it never settled.
   */
  readonly settledBytesPerFrame: number;
  /** {@link settledBytesPerFrame} over the frame's network budget. */
  readonly settledBudgetShare: number;
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
}

const signed = (value: number) => (value >= 0 ? `+${fixed(value, 4)}` : fixed(value, 4));
const settleTime = (value: number) =>
  value === Number.POSITIVE_INFINITY ? 'not reached' : ms(value, 0);
const sent = (m: SessionMeasures) =>
  `${m.imagesSent}/${m.frames} (${m.statuses.dropped} dropped, ${m.statuses.unchanged} unchanged)`;
/** `a / b`, or `n/a` when `b` sent nothing (and `a` did). */
const ratio = (a: number, b: number) => (b === 0 ? (a === 0 ? times(1) : 'n/a') : times(a / b));
const isScreen = (name: SequenceName) => name === 'static-screen' || name === 'scrolling-page';

function sequenceTable(runs: readonly RunResult[]): string[] {
  return markdownTable(
    [
      'profile',
      'viewer SSIM, per-frame',
      'temporal',
      'difference',
      'bytes, per-frame',
      'temporal',
      'ratio',
      'highest 1 s / usable, per-frame',
      'temporal',
      'images sent, per-frame',
      'temporal',
    ],
    runs.map(({ profile, perFrame, temporal }) => [
      profile.name,
      fixed(perFrame.meanSsim, 4),
      fixed(temporal.meanSsim, 4),
      signed(temporal.meanSsim - perFrame.meanSsim),
      formatBytes(perFrame.totalBytes),
      formatBytes(temporal.totalBytes),
      ratio(temporal.totalBytes, perFrame.totalBytes),
      times(perFrame.peakRateShare),
      times(temporal.peakRateShare),
      sent(perFrame),
      sent(temporal),
    ]),
  );
}

function stillTable(runs: readonly RunResult[]): string[] {
  return markdownTable(
    [
      'profile',
      `worst time to ${SETTLED_SSIM}, whole frame, per-frame`,
      'temporal',
      `worst time to ${SETTLED_SSIM}, edited region too, per-frame`,
      'temporal',
      'bytes/frame once there, per-frame',
      'temporal',
      "share of a frame's budget, per-frame",
      'temporal',
    ],
    runs.map(({ profile, perFrame, temporal }) => [
      profile.name,
      settleTime(perFrame.worstFrameSettleMs),
      settleTime(temporal.worstFrameSettleMs),
      settleTime(perFrame.worstSettleMs),
      settleTime(temporal.worstSettleMs),
      formatBytes(perFrame.settledBytesPerFrame),
      formatBytes(temporal.settledBytesPerFrame),
      pct(perFrame.settledBudgetShare, 2),
      pct(temporal.settledBudgetShare, 2),
    ]),
  );
}

const FLOOR_HEADING = 'The floor of a sharp still screen';

/** What the floor found for the still page, e.g. `47.2 kB (jpeg q20 x1, SSIM 0.9948)`. */
const floorEncoding = (floor: StillFloor) =>
  floor.smallest
    ? `${formatBytes(floor.smallest.bytes)} (${floor.smallest.candidate}, SSIM ${fixed(floor.smallest.ssim, 4)})`
    : `none reaches ${floor.threshold}`;

/** The floor's table (a row per profile) and what it rests on. */
function floorSection(floor: StillFloor): PageSection {
  const table = markdownTable(
    [
      'profile',
      'largest frame the bucket allows',
      `smallest encoding at SSIM >= ${floor.threshold}`,
      'reachable in one frame',
    ],
    floor.profiles.map((p) => [
      p.profile.name,
      formatBytes(p.largestFrameBytes),
      floorEncoding(floor),
      p.reachable ? 'yes' : '**no**',
    ]),
  );
  const sharp = floor.encodings.filter((e) => e.ssim >= floor.threshold);
  const kinds = smallestByKind(floor.encodings, floor.threshold).map(
    (e) => `${e.candidate} ${formatBytes(e.bytes)}`,
  );
  const downscaled = floor.encodings.filter((e) => e.scale < 1);
  const bestDownscaled = downscaled.reduce<MeasuredEncoding | undefined>(
    (best, e) => (best === undefined || e.ssim > best.ssim ? e : best),
    undefined,
  );
  const notes = [
    `${sharp.length} of the ${floor.encodings.length} encodings of the page reach SSIM ${floor.threshold}.`,
    kinds.length > 0 ? `The smallest of each kind that does: ${kinds.join(', ')}.` : '',
    bestDownscaled && bestDownscaled.ssim < floor.threshold
      ? `No downscaled encoding does (the best: ${bestDownscaled.candidate}, SSIM ${fixed(bestDownscaled.ssim, 4)}).`
      : '',
  ];
  return { heading: FLOOR_HEADING, body: [...table, '', notes.filter(Boolean).join(' ')] };
}

function sections(results: readonly RunResult[], floor: StillFloor): PageSection[] {
  return SEQUENCE_NAMES.flatMap((name) => {
    const runs = results.filter((r) => r.sequence === name);
    const body = [...sequenceTable(runs)];
    if (name !== 'static-screen') return [{ heading: name, body }];
    body.push('', ...stillTable(runs));
    return [{ heading: name, body }, floorSection(floor)];
  });
}

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

/**
 * The still screen's goals over the profiles where the floor lets the page become sharp; a profile
 * where it can but does not still fails them. With every profile below the floor there is nothing
 * left to meet: the verdict is `-` and the measured text names the floors.
 */
export function stillGoals(runs: readonly RunResult[], floor: StillFloor): Goal[] {
  const { counted, excluded } = splitByFloor(runs, floor);
  const scope = `, worst over the profiles where the bucket lets one frame carry the page at ${SETTLED_SSIM}`;
  const goals = {
    settle: `static screen: viewer SSIM (whole frame and edited region) reaches ${SETTLED_SSIM} after the start and each edit${scope}`,
    cost: `static screen, once there: bytes per frame, share of a frame's budget${scope}`,
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
  const slowest = worst(counted, (m) => m.worstSettleMs);
  const costliest = worst(counted, (m) => m.settledBudgetShare);
  const baselineSlowest = Math.max(...counted.map((r) => r.perFrame.worstSettleMs));
  return [
    {
      goal: goals.settle,
      measured: `${settleTime(slowest.temporal.worstSettleMs)} (${slowest.profile.name}); per-frame engine: ${settleTime(baselineSlowest)}${besides}`,
      target: targets.settle,
      met: counted.every((r) => r.temporal.worstSettleMs <= SETTLE_WITHIN_MS),
    },
    {
      goal: goals.cost,
      measured: `${
        Number.isNaN(costliest.temporal.settledBudgetShare)
          ? `no frame once there (${costliest.profile.name})`
          : `${pct(costliest.temporal.settledBudgetShare, 2)} (${formatBytes(costliest.temporal.settledBytesPerFrame)}, ${costliest.profile.name})`
      }${besides}`,
      target: targets.cost,
      met: counted.every((r) => r.temporal.settledBudgetShare <= SETTLED_BUDGET_SHARE),
    },
  ];
}

function rateGoal(results: readonly RunResult[]): Goal {
  const peak = worst(results, (m) => m.peakRateShare);
  const baselinePeak = Math.max(...results.map((r) => r.perFrame.peakRateShare));
  return {
    goal: 'highest one-second rate / usable bandwidth, every sequence and profile',
    measured: `${times(peak.temporal.peakRateShare)} (${peak.sequence}, ${peak.profile.name}); per-frame engine: ${times(baselinePeak)}`,
    target: `<= ${times(PEAK_RATE_LIMIT)}`,
    met: results.every((r) => r.temporal.peakRateShare <= PEAK_RATE_LIMIT),
  };
}

/** The largest byte ratio over `runs`, and the profiles where the per-frame engine sent nothing. */
function byteRatios(runs: readonly RunResult[]): string {
  const counted = runs.filter((r) => r.perFrame.totalBytes > 0);
  const most = Math.max(...counted.map((r) => r.temporal.totalBytes / r.perFrame.totalBytes));
  const nothing = runs.filter((r) => r.perFrame.totalBytes === 0 && r.temporal.totalBytes > 0);
  const besides = nothing.map(
    (r) =>
      `${formatBytes(r.temporal.totalBytes)} where the per-frame engine sent nothing (${r.profile.name})`,
  );
  return [`${counted.length > 0 ? times(most) : 'n/a'} the bytes`, ...besides].join('; ');
}

function qualityGoal(name: SequenceName, runs: readonly RunResult[]): Goal {
  const gains = runs.map((r) => r.temporal.meanSsim - r.perFrame.meanSsim);
  const least = Math.min(...gains);
  if (isScreen(name)) {
    return {
      goal: `${name}: mean viewer SSIM - per-frame engine's, least over profiles, at bytes / per-frame engine's, most`,
      measured: `${signed(least)} at ${byteRatios(runs)}`,
      target: `>= +${SCREEN_GAIN} at <= ${times(1)}`,
      met:
        gains.every((g) => g >= SCREEN_GAIN) &&
        runs.every((r) => r.temporal.totalBytes <= r.perFrame.totalBytes),
    };
  }
  // Below the noise the same server shows against itself, a difference says nothing.
  const noise = Math.max(
    0,
    ...runs.map((r) =>
      r.perFrameAgain === undefined ? 0 : Math.abs(r.perFrameAgain - r.perFrame.meanSsim),
    ),
  );
  const tolerance = Math.min(VIDEO_TOLERANCE, -noise);
  return {
    goal: `${name}: mean viewer SSIM - per-frame engine's, least over profiles`,
    measured: `${signed(least)} (at ${byteRatios(runs)}); the per-frame engine against itself in a second run: ${signed(-noise)}`,
    target: `>= ${VIDEO_TOLERANCE}, or the per-frame engine's own run-to-run difference where larger`,
    met: gains.every((g) => g >= tolerance),
  };
}

function goals(results: readonly RunResult[], floor: StillFloor): Goal[] {
  const still = results.filter((r) => r.sequence === 'static-screen');
  return [
    ...stillGoals(still, floor),
    rateGoal(results),
    ...SEQUENCE_NAMES.map((name) =>
      qualityGoal(
        name,
        results.filter((r) => r.sequence === name),
      ),
    ),
  ];
}

function baseline(results: readonly RunResult[]): string {
  const still = results.filter((r) => r.sequence === 'static-screen');
  const slowest = Math.max(...still.map((r) => r.perFrame.worstSettleMs));
  return [
    "The per-frame engine (`bench/temporal-baseline.ts`): today's service on each frame alone, as `compress-service.ts` serves it",
    "(decode, the engine with the session's model carried from frame to frame, then `on_budget_miss`), on the same frames in the same run.",
    `Its columns are "per-frame"; "temporal" is the temporal server (\`bench/temporal-serve.ts\`), and "ratio" temporal over per-frame.`,
    'On the video sequences the per-frame engine also serves the same frames a second time: its choices depend on how long its encodes take, so the difference between its two runs is the noise under which the video goals cannot tell the servers apart.',
    slowest === Number.POSITIVE_INFINITY
      ? `On the static screen the per-frame engine's viewer does not reach ${SETTLED_SSIM} in every still period.`
      : `On the static screen the per-frame engine's viewer reaches ${SETTLED_SSIM} within ${ms(slowest, 0)} of the start and of each edit.`,
  ].join(' ');
}

function floorMethod(floor: StillFloor): string {
  const lossy = floor.encodings.filter((e) => !e.ladder);
  const formats = [...new Set(lossy.map((e) => e.kind))].join(' + ');
  const scales = [...new Set(lossy.map((e) => e.scale))].join(', ');
  const qualities = `${Math.min(...QUALITY_GRID)} to ${Math.max(...QUALITY_GRID)}`;
  return `**${FLOOR_HEADING}** (\`bench/temporal-floor.ts\`, measured after the sessions): the static screen's first frame (the page before any edit, the same at every frame rate), decoded as the service decodes it and encoded with every candidate the engine can send it, with the engine's encoder settings (\`createSharpEnginePort\`): the screen ladder (lossless WebP, near-lossless WebP 80 and 60, palette PNG 256 and 16 colours) and the whole lossy grid of the policy's formats (${formats}, qualities ${qualities}, scales ${scales}), ${floor.encodings.length} encodings, each measured with the project's SSIM as the viewer sees it (a downscaled one upscaled bilinearly first). The viewer shows one whole image at a time, so the page is sharp only once one frame carries an encoding at ${floor.threshold}, and a session's bit bucket lets one frame carry at most its burst: \`floor(usable bytes/s x ${BURST_SECONDS})\` (\`BURST_SECONDS\`, \`functions/core/temporal/bit-bucket.ts\`). Where the smallest encoding at ${floor.threshold} is larger than that, no server held to the bucket can show the page sharp: the two static-screen goals are evaluated over the other profiles, and the measured text names the profiles left out and their floor. A profile where it can be reached and is not still fails them. The edited region's SSIM is not part of the floor; a goal that also waits for it can only be harder.`;
}

function method(options: { durationS: number; editEveryS: number }, floor: StillFloor): string {
  return [
    `**Sequences** (\`bench/temporal-sequences.ts\`, generated from seeds, ${options.durationS} s each at the profile's frame rate, timestamps \`round(i x 10^6 / fps)\` µs): **static-screen**, a 1280x720 documentation page (DejaVu Sans and Sans Mono drawn by librsvg) held still and edited every ${options.editEveryS} s, a word typed or a line rewritten alternately; **scrolling-page**, a taller page of the same kind scrolling at ${SCROLL_PX_PER_S} px/s under a fixed top bar and sidebar; both PNG, \`frame_type: screen\`. **camera-pan**, a 640x360 procedural landscape panned at ${PAN_PX_PER_S} px/s with Gaussian sensor noise (sigma 2.5) new in every frame; **talking-head**, a 640x360 room with a person whose head sways by a few px while mouth and eyes move, sensor noise sigma 1.5; both JPEG q90, \`frame_type: video\`. Both servers get the same frames, in order, each in a fresh session, under the profile's network sample (1 % loss).`,
    '',
    `**Viewer model** (\`bench/temporal-viewer.ts\`): at each frame the viewer shows the last image a server actually sent (an answer with bytes), decoded and, when sent smaller than the frame, upscaled bilinearly to the frame's size; an \`unchanged\` or \`dropped\` answer leaves the previous image on screen, and before the first image nothing is shown (SSIM 0). "viewer SSIM" is the project's SSIM (BT.601 luma, \`functions/core/quality/ssim.ts\`, the automatic analysis factor) of what is shown against the frame's true pixels (before the client's JPEG encoding for camera frames), averaged over the frames. "bytes" is what the server sent in the whole sequence. "highest 1 s / usable": for each frame at \`t\`, the bytes of the frames with timestamps in \`(t - 1 s, t]\`, the largest such sum over the usable bandwidth, \`kbps x 1000 / 8 x (1 - loss) x 0.85\` bytes/s (\`functions/core/network/budget.ts\`). "worst time to ${SETTLED_SSIM}, whole frame": from the first frame of the sequence or of an edit to the first frame whose viewer SSIM reaches ${SETTLED_SSIM}, the longest over the start and the edits ("not reached" when a still period ends first). A typed word moves the SSIM of a whole 1280x720 frame by less than 0.01, so a server that never sends an edit would still pass that; "edited region too" also waits for the SSIM of the region the edit changed (the bounding box of the changed pixels, padded by 16 px) to reach ${SETTLED_SSIM}, and the goals use it. "bytes/frame once there": the mean bytes sent per frame after that frame and before the next edit, and its share of a frame's network budget (usable bytes/s / fps). Ratios read "n/a" where the per-frame engine sent nothing.`,
    '',
    floorMethod(floor),
  ].join('\n');
}

/** The benchmark's page. */
export function temporalPage(
  results: readonly RunResult[],
  floor: StillFloor,
  options: { durationS: number; editEveryS: number },
): BenchmarkPage {
  return {
    name: 'temporal',
    title: 'Temporal rate control',
    source: 'bench/temporal.ts',
    measures:
      "What a viewer sees over a session: the temporal server against today's per-frame engine on four generated sequences (a still and a scrolling documentation page, a panning camera, a talking head) under three network profiles: viewer SSIM, bytes sent, the highest one-second rate, and how fast and how cheaply a still screen becomes sharp, against the fewest bytes that can show it sharp.",
    goals: goals(results, floor),
    baseline: baseline(results),
    results: sections(results, floor),
    method: method(options, floor),
  };
}
