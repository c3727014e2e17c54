/**
 * The tables and the page of `bench:latency`: the p50 and p95 of every phase per frame size, the
 * totals per network profile with the floor and the ratio to it, and the latency goals.
 */
import { fixed, ms, times } from './format.ts';
import {
  type SizingReport,
  sizingGoal,
  sizingMethod,
  sizingNotes,
  sizingTable,
} from './latency-sizing.ts';
import {
  type FrameSample,
  framesOf,
  overFloor,
  PHASES,
  type PhaseKey,
  summarisePhase,
} from './latency-stats.ts';
import { type BenchmarkPage, type Goal, markdownTable } from './report-page.ts';

/** A frame's outcome, as the page counts them. */
export interface FrameOutcome {
  readonly size: string;
  readonly profile: string;
  readonly encodes: number;
  /** The answer's `status`: `success`, `fallback`, `dropped`, ... */
  readonly status: string;
  readonly fallbackReason: string | null;
  /** Whether some encoding fits the budget and meets the floor; undefined without a grid. */
  readonly feasible: boolean | undefined;
}

/** What the page is made of. */
export interface LatencyReport {
  readonly sizes: readonly string[];
  readonly profiles: readonly string[];
  readonly samples: readonly FrameSample[];
  readonly outcomes: readonly FrameOutcome[];
  /** The most frequent cheapest in-budget candidate per size, e.g. `jpeg q40 x0.5 (12 of 20)`. */
  readonly floorCandidates: ReadonlyMap<string, string>;
  /** Whether the kernels one at a time agreed with the fused calls on every frame. */
  readonly kernelsAgree: boolean | undefined;
  /** Why the kernels could not be called apart, when they could not. */
  readonly kernelsUnavailable: string | undefined;
  readonly settings: LatencySettings;
  /** The memory-size runs, when the run made them. */
  readonly sizing?: SizingReport;
}

/** The run's settings, as the page states them. */
export interface LatencySettings {
  readonly framesPerSession: number;
  readonly floorEvery: number;
  /** Floor samples taken per frame and profile. */
  readonly floorRepeats: number;
  readonly libvipsThreads: number;
  readonly uvThreadpool: string;
}

const BREAKDOWN_GROUPS: Readonly<Record<string, string>> = {
  request: 'request',
  prepare: 'decode and look-ups',
  engine: 'engine',
  kernels: 'measurement, call by call',
  store: 'storing',
  response: 'response',
  service: 'the service, end to end',
  floor: 'floor',
};

/** `p50 / p95` of a phase, e.g. `3.21 / 4.50`; `-` when no frame gave a sample. */
function cell(frames: readonly FrameSample[], key: PhaseKey): string[] {
  const { p50, p95, n } = summarisePhase(frames, key);
  if (n === 0) return ['-', '-', '0'];
  return [fixed(p50, 2), fixed(p95, 2), String(n)];
}

/** The breakdown: one row per phase, p50, p95 and samples for each size, in ms. */
export function breakdownTable(
  samples: readonly FrameSample[],
  sizes: readonly string[],
): string[] {
  const header = ['part', 'phase', ...sizes.flatMap((s) => [`${s} p50`, 'p95', 'n'])];
  const bySize = sizes.map((size) => framesOf(samples, size));
  const rows = PHASES.map((phase) => [
    BREAKDOWN_GROUPS[phase.group] ?? phase.group,
    phase.label,
    ...bySize.flatMap((frames) => cell(frames, phase.key)),
  ]);
  return markdownTable(header, rows);
}

/** Frames that ended `latency_budget_exhausted`, of `outcomes`. */
const exhausted = (outcomes: readonly FrameOutcome[]) =>
  outcomes.filter((o) => o.fallbackReason === 'latency_budget_exhausted').length;

/** Per size and profile: encodes, the totals, the floor and the ratio of decode + engine to it. */
export function profileTable(report: LatencyReport): string[] {
  const rows: string[][] = [];
  for (const size of report.sizes) {
    for (const profile of report.profiles) {
      const frames = framesOf(report.samples, size, profile);
      const outcomes = report.outcomes.filter((o) => o.size === size && o.profile === profile);
      const engine = summarisePhase(frames, 'decodeEngine');
      const total = summarisePhase(frames, 'svcTotal');
      const floor = summarisePhase(frames, 'floor');
      const encodes = outcomes.reduce((sum, o) => sum + o.encodes, 0) / outcomes.length;
      rows.push([
        size,
        profile,
        String(outcomes.length),
        fixed(encodes, 2),
        `${fixed(engine.p50, 1)} / ${fixed(engine.p95, 1)}`,
        `${fixed(total.p50, 1)} / ${fixed(total.p95, 1)}`,
        `${fixed(floor.p50, 1)} / ${fixed(floor.p95, 1)} (n = ${floor.n})`,
        times(overFloor(engine.p95, floor.p95)),
        String(outcomes.filter((o) => o.status !== 'success').length),
        String(exhausted(outcomes)),
      ]);
    }
  }
  return markdownTable(
    [
      'size',
      'profile',
      'frames',
      'encodes/frame',
      'decode + engine p50 / p95, ms',
      '`latency_ms.total` p50 / p95, ms',
      'floor p50 / p95, ms',
      'decode + engine p95 / floor p95',
      'not encoded (dropped, original)',
      '`latency_budget_exhausted`',
    ],
    rows,
  );
}

/** The latency goals, measured; `floor` rows where a floor stands above a goal. */
export function latencyGoals(report: LatencyReport): Goal[] {
  const [hd, fhd] = report.sizes;
  const goals: Goal[] = [];
  const p95Goal = (size: string | undefined, key: PhaseKey, what: string, target: number) => {
    if (size === undefined) return;
    const frames = framesOf(report.samples, size);
    const value = summarisePhase(frames, key).p95;
    const floor = summarisePhase(frames, 'floor').p95;
    goals.push({
      goal: `${what}, ${size}`,
      measured: `${ms(value, 1)} (floor ${ms(floor, 1)}, ${times(overFloor(value, floor))} the floor)`,
      target: `<= ${target} ms`,
      met: value <= target,
    });
    if (floor > target && !goals.some((g) => g.goal === `for reference: floor p95, ${size}`)) {
      goals.push({
        goal: `for reference: floor p95, ${size}`,
        measured: ms(floor, 1),
        target: `above the goal of ${target} ms`,
        met: undefined,
      });
    }
  };
  p95Goal(hd, 'decodeEngine', 'decode + engine p95', 20);
  p95Goal(hd, 'svcTotal', '`latency_ms.total` p95', 25);
  p95Goal(fhd, 'decodeEngine', 'decode + engine p95', 35);
  const feasible = report.outcomes.filter((o) => o.feasible === true);
  const missed = exhausted(feasible);
  goals.push({
    goal: '`latency_budget_exhausted` where the byte budget can be met (frames with a grid)',
    measured: `${missed} of ${feasible.length} (all frames: ${exhausted(report.outcomes)} of ${report.outcomes.length})`,
    target: '0',
    met: missed === 0,
  });
  const sizing = report.sizing && sizingGoal(report.sizing);
  if (sizing) goals.push(sizing);
  return goals;
}

/** The floor per size: its parts, and the candidate it most often is. */
export function floorTable(report: LatencyReport): string[] {
  const rows = report.sizes.map((size) => {
    const frames = framesOf(report.samples, size);
    const part = (key: PhaseKey) => {
      const { p50, p95 } = summarisePhase(frames, key);
      return `${fixed(p50, 1)} / ${fixed(p95, 1)}`;
    };
    const engine = summarisePhase(frames, 'decodeEngine').p95;
    const floor = summarisePhase(frames, 'floor').p95;
    return [
      size,
      part('floorDecode'),
      part('floorEncodeMeasure'),
      part('floor'),
      fixed(engine, 1),
      times(overFloor(engine, floor)),
      report.floorCandidates.get(size) ?? '-',
    ];
  });
  return markdownTable(
    [
      'size',
      'input decode p50 / p95, ms',
      'encode + measurement p50 / p95, ms',
      '**floor** p50 / p95, ms',
      'decode + engine p95, ms',
      'ratio of the p95s',
      'cheapest in-budget candidate, most often',
    ],
    rows,
  );
}

/** The whole page. */
export function latencyPage(report: LatencyReport, machine: readonly string[]): BenchmarkPage {
  const { settings } = report;
  return {
    name: 'latency',
    title: 'Latency breakdown of a frame',
    source: 'bench/latency.ts',
    measures: `Where the milliseconds of a frame go, at ${report.sizes.join(' and ')} under the default policy (adaptive, 20 ms latency budget) and ${report.profiles.length} network profiles: every phase of the compress service timed on its own (decode, look-ups on the real Postgres and Redis, each encode, each measurement split kernel by kernel, storing, the response), the service's own \`latency_ms\` on the same frames, and the floor of the same run.`,
    goals: latencyGoals(report),
    baseline: `The floor, measured in the same run on the same frames: one input decode plus the cheapest encode that fits the frame's byte budget and meets the SSIM floor (found on the frame's whole candidate grid, on frames 0, ${settings.floorEvery}, ${2 * settings.floorEvery}, ... of each session), plus its measurement, timed afresh on a new port ${settings.floorRepeats} times. The ratio of today's decode + engine p95 to the floor's p95 is in the tables below.`,
    results: [
      { heading: 'Totals per network profile', body: profileTable(report) },
      { heading: 'The floor', body: floorTable(report) },
      {
        heading: 'Where the milliseconds go (ms; p50, p95, samples)',
        body: [...breakdownTable(report.samples, report.sizes), '', ...breakdownNotes(report)],
      },
      ...sizingSection(report.sizing),
    ],
    method: report.sizing ? `${methodText(report)} ${sizingMethod()}` : methodText(report),
    machine,
  };
}

function sizingSection(sizing: SizingReport | undefined) {
  if (!sizing) return [];
  const body = sizing.unavailable
    ? [`Not measured on this machine: ${sizing.unavailable}.`]
    : [...sizingTable(sizing), '', ...sizingNotes(sizing)];
  return [{ heading: 'Memory size: latency and cost per million 1280x720 frames', body }];
}

function breakdownNotes(report: LatencyReport): string[] {
  const agreement =
    report.kernelsUnavailable !== undefined
      ? `The kernels could not be called one at a time: ${report.kernelsUnavailable}.`
      : `Called one at a time, the kernels gave ${report.kernelsAgree ? 'exactly' : '**not** exactly'} the SSIM and PSNR of the fused calls on every frame.`;
  return [
    'Percentiles do not add up: each row is the distribution of its own phase. Rows with fewer samples than frames happen on some frames only (a second encode, an upscale of a downscaled output); rows with more happen several times a frame (each sample is one occurrence).',
    '',
    `${agreement} The squared errors of PSNR are summed inside the full-resolution pass, with the output's luma and its block sums: the code has no PSNR step of its own to time. The service prepares the input's reference on the main thread while libvips runs the first encode, so "encode 1" includes whatever of it the encode did not hide; the reference rows time it alone, after the search.`,
  ];
}

function methodText(report: LatencyReport): string {
  const { settings } = report;
  return [
    `${settings.framesPerSession} frames per session, one session per size and profile, JPEG q90 as a client sends them: the panning camera-like scene of \`test/support/frames.ts\` (as \`bench:compress\`'s scene pan), 8 px per frame; a few frames of warm-up per size first, not counted.`,
    `libvips runs ${settings.libvipsThreads} threads (\`sharp.concurrency(${settings.libvipsThreads})\`) and libuv's pool has ${settings.uvThreadpool} threads, as a 2-vCPU function would.`,
    "Each frame runs twice. First through the service as the HTTP handler runs it: `answerFrameOnce` around `compress` (rate limit, decode beside the look-ups, engine, frame event, model and temporal state saved, answer kept), on a database and Redis key prefix of its own; its `latency_ms` is the service's own figure. Then the same frame is replayed call by call on a shadow session that carries the service session's model and temporal state, so it is planned with the same model and byte budget: each look-up and each write alone, the engine as `runEngine` runs it for a video frame on the production sharp port with a stopwatch on each encode and measurement, then the reference and each measured output again kernel by kernel on a separate instance of the same WebAssembly module.",
    '"decode + engine" is the replay\'s input decode plus its engine (port, temporal plan, budget and search), as `bench:compress` counts it; `latency_ms.total` also holds the rate limit and the look-ups the decode waits for. The floor is timed after all sessions, so the grid search does not load the timed frames.',
  ].join(' ');
}
