/**
 * The page of `npm run bench:temporal`: the goals (`temporal-goals.ts`), a table per sequence with
 * a row per network profile (the per-frame engine beside the temporal server), the temporal server
 * at no more bytes on screen content, both servers under a latency budget that never binds on
 * camera content, the floor of a sharp still screen, and the method.
 */

import { QUALITY_GRID } from '../functions/core/engine/candidates.ts';
import { BURST_SECONDS } from '../functions/core/temporal/bit-bucket.ts';
import { POLICY } from './compress-support.ts';
import { fixed, formatBytes, ms, pct, times } from './format.ts';
import type { BenchmarkPage, PageSection } from './report-page.ts';
import { markdownTable } from './report-page.ts';
import { CEILING_QUALITIES, type ProfileCeiling } from './temporal-ceiling.ts';
import type { MeasuredEncoding, QualityFloor, StillFloor } from './temporal-floor.ts';
import { smallestByKind } from './temporal-floor.ts';
import {
  ceilingOfRun,
  type Floors,
  goals,
  isScreen,
  nothingFits,
  type RunResult,
  ratio,
  SCREEN_GAIN,
  SETTLED_SSIM,
  type SessionMeasures,
  settleTime,
  signed,
} from './temporal-goals.ts';
import { PAN_PX_PER_S, SCROLL_PX_PER_S, SEQUENCE_NAMES } from './temporal-sequences.ts';

const sent = (m: SessionMeasures) =>
  `${m.imagesSent}/${m.frames} (${m.statuses.dropped} dropped, ${m.statuses.unchanged} unchanged)`;

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
      'bytes/frame once there, per-frame',
      'temporal',
      "share of a frame's budget, per-frame",
      'temporal',
      `worst time to ${SETTLED_SSIM}, edited region too, per-frame`,
      'temporal',
      "share of a frame's budget once the edited region is there too, temporal",
    ],
    runs.map(({ profile, perFrame, temporal }) => [
      profile.name,
      settleTime(perFrame.worstSettleMs),
      settleTime(temporal.worstSettleMs),
      formatBytes(perFrame.settledBytesPerFrame),
      formatBytes(temporal.settledBytesPerFrame),
      pct(perFrame.settledBudgetShare, 2),
      pct(temporal.settledBudgetShare, 2),
      settleTime(perFrame.worstEditSettleMs),
      settleTime(temporal.worstEditSettleMs),
      pct(temporal.editSettledBudgetShare, 2),
    ]),
  );
}

/**
 * A screen sequence at no more bytes: the temporal server's equal-bytes run against the per-frame
 * engine, and for every profile what the smallest encoding at the quality floor costs against a
 * frame's budget (where it does not fit, the per-frame engine has nothing it may send).
 */
function equalBytesTable(runs: readonly RunResult[], quality: QualityFloor | undefined): string[] {
  const none = ['n/a', 'n/a', 'n/a', 'n/a', 'n/a', 'n/a'];
  return markdownTable(
    [
      'profile',
      'temporal: usable bandwidth given',
      'viewer SSIM, per-frame',
      'temporal',
      'difference',
      'bytes, per-frame',
      'temporal',
      'ratio',
      'highest 1 s / usable given, temporal',
      'images sent, temporal',
      `smallest encoding of the first frame at SSIM >= ${POLICY.minQualityScore} (the quality floor) against a frame's budget`,
    ],
    runs.map(({ profile, perFrame, equalBytes }) => {
      const evidence = nothingFits(quality, profile);
      if (!equalBytes) {
        return [profile.name, 'none: the per-frame engine sent nothing', ...none, '', evidence];
      }
      const m = equalBytes.measures;
      return [
        profile.name,
        `${formatBytes((equalBytes.bandwidthKbps * 1000) / 8)}/s = x${fixed(equalBytes.scale, 3)}`,
        fixed(perFrame.meanSsim, 4),
        fixed(m.meanSsim, 4),
        signed(m.meanSsim - perFrame.meanSsim),
        formatBytes(perFrame.totalBytes),
        formatBytes(m.totalBytes),
        ratio(m.totalBytes, perFrame.totalBytes),
        times(m.peakRateShare),
        sent(m),
        evidence,
      ];
    }),
  );
}

/** A camera sequence with both servers under a latency budget that never binds. */
function unboundTable(runs: readonly RunResult[]): string[] {
  return markdownTable(
    [
      'profile',
      'viewer SSIM, per-frame',
      'per-frame again',
      'per-frame against itself',
      'temporal',
      'difference',
      'bytes, per-frame',
      'temporal',
      'ratio',
      'highest 1 s / usable, per-frame',
      'temporal',
    ],
    runs.flatMap(({ profile, unbound }) => {
      if (!unbound) return [];
      const { perFrame, temporal } = unbound;
      return [
        [
          profile.name,
          fixed(perFrame.meanSsim, 4),
          fixed(unbound.perFrameAgain, 4),
          signed(unbound.perFrameAgain - perFrame.meanSsim),
          fixed(temporal.meanSsim, 4),
          signed(temporal.meanSsim - perFrame.meanSsim),
          formatBytes(perFrame.totalBytes),
          formatBytes(temporal.totalBytes),
          ratio(temporal.totalBytes, perFrame.totalBytes),
          times(perFrame.peakRateShare),
          times(temporal.peakRateShare),
        ],
      ];
    }),
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

const CEILING_HEADING = "Ceiling of an intra-only server at the per-frame engine's bytes";

/** The smallest full-scale encoding of `run`'s sequence's first frame, e.g. `57 kB (jpeg q20 x1)`. */
function fullScale(run: RunResult, floors: Floors): string {
  const smallest =
    run.sequence === 'static-screen'
      ? floors.still.encodings
          .filter((e) => e.scale === 1)
          .reduce<MeasuredEncoding | undefined>(
            (a, e) => (a && a.bytes <= e.bytes ? a : e),
            undefined,
          )
      : floors.quality.find((q) => q.sequence === run.sequence)?.smallestFullScale;
  return smallest ? `${formatBytes(smallest.bytes)} (${smallest.candidate})` : 'not measured';
}

/** A row of the ceiling's table. */
function ceilingRow(run: RunResult, found: ProfileCeiling, floors: Floors): string[] {
  const { ceiling } = found;
  const gain = ceiling.meanSsim - run.perFrame.meanSsim;
  const temporal = run.equalBytes?.measures.meanSsim;
  return [
    run.sequence,
    run.profile.name,
    formatBytes(ceiling.budgetBytes),
    fixed(run.perFrame.meanSsim, 4),
    fixed(ceiling.meanSsim, 4),
    signed(gain),
    gain >= SCREEN_GAIN ? `allows +${SCREEN_GAIN}` : `**below +${SCREEN_GAIN}**`,
    fixed(ceiling.evenSplitSsim, 4),
    signed(ceiling.meanSsim - ceiling.evenSplitSsim),
    temporal === undefined ? 'n/a' : signed(temporal - run.perFrame.meanSsim),
    `${ceiling.within.sent}/${ceiling.frames}, ${formatBytes(ceiling.within.bytes)}`,
    Number.isFinite(ceiling.leftOutBytes) ? formatBytes(ceiling.leftOutBytes) : 'none (SSIM 1)',
    fullScale(run, floors),
    fixed(found.olderMargin, 4),
  ];
}

/** The ceiling's table, a row per screen sequence and profile where it was measured. */
function ceilingSection(results: readonly RunResult[], floors: Floors): PageSection {
  const rows = results.flatMap((run) => {
    const found = ceilingOfRun(floors.ceilings, run);
    return found ? [ceilingRow(run, found, floors)] : [];
  });
  const table = markdownTable(
    [
      'sequence',
      'profile',
      "bytes, per-frame engine (the ceiling's budget)",
      'viewer SSIM, per-frame',
      'ceiling',
      'ceiling - per-frame',
      'against the goal',
      'even split',
      'ceiling - even split (the most moving bytes between frames can add)',
      'temporal at no more bytes - per-frame',
      "frames sent at the bound's lambda, bytes",
      'a left-out encoding could raise the bound only below',
      'smallest full-scale encoding of the first frame',
      "stale bound's margin over frames 2+ back",
    ],
    rows,
  );
  return { heading: CEILING_HEADING, body: table };
}

function sections(results: readonly RunResult[], floors: Floors): PageSection[] {
  return SEQUENCE_NAMES.flatMap((name) => {
    const runs = results.filter((r) => r.sequence === name);
    const body = [...sequenceTable(runs)];
    if (isScreen(name)) {
      const quality = floors.quality.find((q) => q.sequence === name);
      body.push(
        '',
        `At no more bytes than the per-frame engine:`,
        '',
        ...equalBytesTable(runs, quality),
      );
    } else {
      const latency = runs.find((r) => r.unbound)?.unbound?.latencyMs;
      body.push(
        '',
        `Both servers under a ${latency} ms latency budget:`,
        '',
        ...unboundTable(runs),
      );
    }
    if (name === 'scrolling-page') {
      return [{ heading: name, body }, ceilingSection(results, floors)];
    }
    if (name !== 'static-screen') return [{ heading: name, body }];
    body.push('', ...stillTable(runs));
    return [{ heading: name, body }, floorSection(floors.still)];
  });
}

function baseline(results: readonly RunResult[]): string {
  const still = results.filter((r) => r.sequence === 'static-screen');
  const slowest = Math.max(...still.map((r) => r.perFrame.worstSettleMs));
  return [
    "The per-frame engine (`bench/temporal-baseline.ts`): today's service on each frame alone, as `compress-service.ts` serves it",
    "(decode, the engine with the session's model carried from frame to frame, then `on_budget_miss`), on the same frames in the same run.",
    `Its columns are "per-frame"; "temporal" is the temporal server (\`bench/temporal-serve.ts\`), and "ratio" temporal over per-frame.`,
    'On the video sequences the per-frame engine also serves the same frames a second time: under the production latency budget its choices depend on how long its encodes take, so its two runs differ by about as much as the video goal allows; both servers are therefore also run under a latency budget that never binds, where the per-frame engine repeats itself, and the video goals are judged there.',
    "On the screen sequences the temporal server spends the usable rate where the per-frame engine leaves part of it unspent and drops frames, so it is also run at a usable bandwidth scaled down until its bytes are at most the per-frame engine's, and the screen goals are judged on that run.",
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
  return `**${FLOOR_HEADING}** (\`bench/temporal-floor.ts\`, measured after the sessions): the static screen's first frame (the page before any edit, the same at every frame rate), decoded as the service decodes it and encoded with every candidate the engine can send it, with the engine's encoder settings (\`createSharpEnginePort\`): the screen ladder (lossless WebP, near-lossless WebP 80 and 60, palette PNG 256 and 16 colours) and the whole lossy grid of the policy's formats (${formats}, qualities ${qualities}, scales ${scales}), ${floor.encodings.length} encodings, each measured with the project's SSIM as the viewer sees it (a downscaled one upscaled bilinearly first). The viewer shows one whole image at a time, so the page is sharp only once one frame carries an encoding at ${floor.threshold}, and a session's bit bucket lets one frame carry at most its burst: \`floor(usable bytes/s x ${BURST_SECONDS})\` (\`BURST_SECONDS\`, \`functions/core/temporal/bit-bucket.ts\`). Where the smallest encoding at ${floor.threshold} is larger than that, no server held to the bucket can show the page sharp: the two static-screen goals are evaluated over the other profiles, and the measured text names the profiles left out and their floor. A profile where it can be reached and is not still fails them. The edited region's SSIM is not part of the floor: the goals, which also wait for it, can only be harder to meet.`;
}

function equalBytesMethod(): string {
  return [
    `**At no more bytes** (\`bench/temporal-session.ts\`, screen sequences): where the temporal server sent more than the per-frame engine, it serves the sequence again in a fresh session at the profile's bandwidth times the byte ratio (times 0.98), and again from that run's ratio while still above, at most 4 runs; the last run is the "at no more bytes" row, and its highest 1 s is measured against the bandwidth it was given. Where it sent no more at the full rate, that run is the row (x1). Where the per-frame engine sent nothing, a server held to no more bytes shows nothing (viewer SSIM 0); where it sent so little that its bytes spread over the sequence as a rate give a bucket whose burst (${BURST_SECONDS} s of it) is smaller than the smallest encoding at the quality floor, a server held to a bucket cannot send one frame at those bytes. Either way the screen goal has nothing to meet there: the profile is left out and named with its floor, and the table gives its evidence, the smallest encoding of the sequence's first frame at the policy's quality floor (SSIM ${POLICY.minQualityScore}, every candidate the floor below tries) against a frame's budget (\`frameBudget\`: the network share, capped by the target ratio).`,
    '',
    `**Latency budget** (camera sequences): the engine stops its search at the policy's \`max_latency_ms\` (${POLICY.maxLatencyMs} ms by default) and learns encode times, so under the production budget the same frames can end in other encodings from run to run. Both servers, and the per-frame engine a second time, also serve the camera sequences with \`max_latency_ms: 100\` (the contract's largest), where a 640x360 search finishes before the deadline; the video goals are judged on those runs.`,
  ].join('\n');
}

function method(options: { durationS: number; editEveryS: number }, floor: StillFloor): string {
  return [
    `**Sequences** (\`bench/temporal-sequences.ts\`, generated from seeds, ${options.durationS} s each at the profile's frame rate, timestamps \`round(i x 10^6 / fps)\` µs): **static-screen**, a 1280x720 documentation page (DejaVu Sans and Sans Mono drawn by librsvg) held still and edited every ${options.editEveryS} s, a word typed or a line rewritten alternately; **scrolling-page**, a taller page of the same kind scrolling at ${SCROLL_PX_PER_S} px/s under a fixed top bar and sidebar; both PNG, \`frame_type: screen\`. **camera-pan**, a 640x360 procedural landscape panned at ${PAN_PX_PER_S} px/s with Gaussian sensor noise (sigma 2.5) new in every frame; **talking-head**, a 640x360 room with a person whose head sways by a few px while mouth and eyes move, sensor noise sigma 1.5; both JPEG q90, \`frame_type: video\`. Both servers get the same frames, in order, each in a fresh session, under the profile's network sample (1 % loss).`,
    '',
    `**Viewer model** (\`bench/temporal-viewer.ts\`): at each frame the viewer shows the last image a server actually sent (an answer with bytes), decoded and, when sent smaller than the frame, upscaled bilinearly to the frame's size; an \`unchanged\` or \`dropped\` answer leaves the previous image on screen, and before the first image nothing is shown (SSIM 0). "viewer SSIM" is the project's SSIM (BT.601 luma, \`functions/core/quality/ssim.ts\`, the automatic analysis factor) of what is shown against the frame's true pixels (before the client's JPEG encoding for camera frames), averaged over the frames. "bytes" is what the server sent in the whole sequence. "highest 1 s / usable": for each frame at \`t\`, the bytes of the frames with timestamps in \`(t - 1 s, t]\`, the largest such sum over the usable bandwidth, \`kbps x 1000 / 8 x (1 - loss) x 0.85\` bytes/s (\`functions/core/network/budget.ts\`). "worst time to ${SETTLED_SSIM}, whole frame": from the first frame of the sequence or of an edit to the first frame whose viewer SSIM reaches ${SETTLED_SSIM}, the longest over the start and the edits ("not reached" when a still period ends first). A typed word moves the SSIM of a whole 1280x720 frame by less than 0.01, so a server that never sends an edit would still pass that; "edited region too" also waits for the SSIM of the region the edit changed (the bounding box of the changed pixels, padded by 16 px) to reach ${SETTLED_SSIM}; the goals count the screen as there only then (a typed word shown blurred is not a sharp screen), and a reference row gives the whole frame alone, where the refinements that sharpen an edit count as spending. "bytes/frame once there": the mean bytes sent per frame after that frame and before the next edit, and its share of a frame's network budget (usable bytes/s / fps). Ratios read "n/a" where the per-frame engine sent nothing.`,
    '',
    equalBytesMethod(),
    '',
    floorMethod(floor),
    '',
    ceilingMethod(),
  ].join('\n');
}

function ceilingMethod(): string {
  const qualities = `${Math.min(...CEILING_QUALITIES)} to ${Math.max(...CEILING_QUALITIES)} in steps of 10`;
  return [
    `**${CEILING_HEADING}** (\`bench/temporal-ceiling.ts\`, after each frame rate's sessions, on the same frames): an upper bound on the mean viewer SSIM of any server that codes every frame on its own (as this product does) from a grid of the engine's candidates, in no more bytes in total than the per-frame engine sent. Every frame is decoded as the service decodes it and encoded through the engine's port (\`createSharpEnginePort\`) with the policy's formats at qualities ${qualities} and every usable scale below 1 (the engine's candidate sizes), each measured as the viewer sees it (\`bench/temporal-viewer.ts\`: decoded, upscaled bilinearly, the project's SSIM against the frame's true pixels); the original bytes count as SSIM 1. A frame answered with nothing shows an older image, or nothing before the first: its value is bounded by the best SSIM, against the frame's true pixels, of the true pixels of each frame in the second before it and of every encoding of the frame just before it (on a scroll, a blurred or downscaled copy of the previous frame can score up to about 0.02 above its sharp pixels), and 0. Each frame then has a set of (bytes, SSIM) options, and the best total SSIM within the bytes is a multiple-choice knapsack; its Lagrangian dual, \`lambda x B + sum over frames of max (SSIM - lambda x bytes)\`, is at least that optimum for every \`lambda >= 0\`, and the ceiling is the least dual value a bisection of \`lambda\` finds (the knapsack's LP relaxation), over the frames. Where it lies less than ${SCREEN_GAIN} above the per-frame engine's mean viewer SSIM, no such server can meet the screen goal there: that profile is left out of the goal and named with the ceiling. The bound holds for the grid: an encoding left out (another quality, full scale, the screen ladder), even at SSIM 1, changes no frame's choice unless it is smaller than the "could raise the bound only below" column, to be read against the smallest full-scale encoding of the first frame (from the floors). Stale images of frames 2 or more back are bounded through their true pixels only: the last column is how far the bound lies above those, the most their encodings could beat their true pixels by without the bound failing. The even split is the same grid with the same bytes shared evenly: each frame gets the best of its encodings within its share, or nothing (counted 0). It is exact, not a bound, so the ceiling's lead over it is the most that moving bytes between frames (what a bit bucket and \`unchanged\` do) can add to a server that chose every frame's encoding perfectly: a server that also gains through better per-frame choices gains there on top of the per-frame engine, whose choices are the engine's too.`,
  ].join('\n');
}

/** The benchmark's page. */
export function temporalPage(
  results: readonly RunResult[],
  floors: Floors,
  options: { durationS: number; editEveryS: number },
): BenchmarkPage {
  return {
    name: 'temporal',
    title: 'Temporal rate control',
    source: 'bench/temporal.ts',
    measures:
      "What a viewer sees over a session: the temporal server against today's per-frame engine on four generated sequences (a still and a scrolling documentation page, a panning camera, a talking head) under three network profiles: viewer SSIM, bytes sent, the highest one-second rate, and how fast and how cheaply a still screen becomes sharp, against the fewest bytes that can show it sharp.",
    goals: goals(results, floors),
    baseline: baseline(results),
    results: sections(results, floors),
    method: method(options, floors.still),
  };
}
