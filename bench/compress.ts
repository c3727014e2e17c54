/**
 * `npm run bench:compress`: the compression engine on real encodes (the production sharp port on
 * decoded frames), on synthetic content of four kinds and three network profiles, in one run:
 *
 * 1. SSIM of the engine's choice against the exhaustive oracle (the whole grid encoded and
 *    measured, same budget and floor, no latency limit), on every `ORACLE_EVERY`-th frame;
 * 2. frames within budget where the budget is feasible (the oracle found an in-budget encoding
 *    that meets the floor);
 * 3. encodes per frame after the first ten of a session (the model carried from frame to frame);
 * 4. engine time against one bare encode at the chosen parameters, measured right after, 1280x720;
 * 5. added latency (decode + engine, as `compress-service.ts` runs them) at 640x360 and 1280x720;
 * 6. peak RSS of a separate process serving 3840x2160 frames back to back;
 * 7. a bytes-vs-SSIM plot of one 1280x720 frame's grid with the engine's and the oracle's picks.
 *
 * Prints markdown tables and writes them to `docs/compress-bench.md`, the plot to
 * `docs/img/bytes-vs-ssim.png`. `BENCH_QUICK=1` runs short sessions and writes to the OS temp
 * directory instead, so a smoke run never replaces the published figures.
 */
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import type { FrameType } from '../functions/core/engine/candidates.ts';
import type { EngineModel } from '../functions/core/engine/model.ts';
import { exhaustiveSearch } from '../functions/core/engine/oracle.ts';
import {
  type MeasuredEncoding,
  type Selection,
  selectBest,
} from '../functions/core/engine/selection.ts';
import { decodeFrame } from '../functions/platform/imaging/frame-decoder.ts';
import { createSharpEnginePort } from '../functions/platform/imaging/sharp-engine-port.ts';
import { encodeFrame, type FrameKind, type FrameOptions } from '../test/support/frames.ts';
import { childReport } from './child-report.ts';
import { formatBytes, type PlotProfile, renderBytesVsSsimPng } from './compress-plot.ts';
import type { RssReport } from './compress-rss.ts';
import { POLICY, PROFILES, serveFrame } from './compress-support.ts';
import { percentile } from './stats.ts';

const QUICK = process.env.BENCH_QUICK === '1';
/** Frames per session. */
const SESSION_FRAMES = QUICK ? 12 : 30;
/** Frames of a session before its encodes per frame are counted (goal 3). */
const WARM_FRAMES = 10;
/** The oracle runs on frames 0, N, 2N, ... of each session. */
const ORACLE_EVERY = Number(process.env.BENCH_ORACLE_EVERY ?? (QUICK ? 6 : 2));
/** Oracle frames encoded side by side (libvips encodes while JavaScript measures). */
const ORACLE_CONCURRENCY = 2;
/** 3840x2160 frames served back to back for the peak RSS. */
const UHD_FRAMES = QUICK ? 4 : 20;
const RESOLUTIONS = [
  { width: 640, height: 360 },
  { width: 1280, height: 720 },
] as const;
const UHD = { width: 3840, height: 2160 } as const;
/** The resolution of goal 4 and of the plot. */
const HD = RESOLUTIONS[1];
const PAN_STEP_PX = 8;
const UHD_PAN_STEP_PX = 24;
/** A screen session shows a new page (new text layout) every this many frames. */
const SCREEN_PAGE_FRAMES = 10;
const PROFILE_COLOURS = ['#2ca02c', '#9467bd', '#d62728'];

const GOALS = {
  ssimRatio: 0.97,
  withinBudget: 0.98,
  encodesPerFrame: 1.5,
  engineOverBare: 1.25,
  p95Ms360: 20,
  peakRssMb: 400,
};

const here = dirname(fileURLToPath(import.meta.url));
const outDir = QUICK ? join(os.tmpdir(), 'aic-compress-bench') : join(here, '../docs');
const reportPath = join(outDir, 'compress-bench.md');
const plotPath = join(outDir, 'img', 'bytes-vs-ssim.png');

interface Content {
  readonly kind: FrameKind;
  readonly label: string;
  readonly frameType: FrameType;
  /** How frame `i` of a session differs from the others. */
  readonly options: (i: number) => FrameOptions;
  readonly description: string;
}

const CONTENTS: readonly Content[] = [
  {
    kind: 'scene',
    label: 'scene pan',
    frameType: 'video',
    options: (i) => ({ offsetX: i * PAN_STEP_PX }),
    description: `camera-like scene panning ${PAN_STEP_PX} px per frame`,
  },
  {
    kind: 'screen',
    label: 'screen',
    frameType: 'screen',
    options: (i) => ({ seed: 1 + Math.floor(i / SCREEN_PAGE_FRAMES) }),
    description: `UI with text-like strokes, \`frame_type: screen\`, a new page every ${SCREEN_PAGE_FRAMES} frames`,
  },
  {
    kind: 'gradient',
    label: 'gradient',
    frameType: 'video',
    options: () => ({}),
    description: 'smooth gradients, a still shot (every frame identical)',
  },
  {
    kind: 'noise',
    label: 'noise',
    frameType: 'video',
    options: (i) => ({ seed: 1 + i }),
    description: 'uniform RGB noise, new noise every frame (the hard case)',
  },
];

/** What happened to one frame of one session. */
interface FrameRecord {
  readonly resolution: string;
  readonly content: string;
  readonly profile: string;
  readonly index: number;
  readonly frameHash: string;
  readonly frameType: FrameType;
  readonly budgetBytes: number;
  readonly decodeMs: number;
  readonly engineMs: number;
  readonly encodes: number;
  readonly fallbackReason: string | undefined;
  /** Bytes the service would send: the chosen encoding, or the original on fallback. */
  readonly sentBytes: number;
  readonly withinBudget: boolean;
  readonly chosen: MeasuredEncoding | undefined;
  /** One encode at the chosen parameters, right after the engine (1280x720 only). */
  readonly bareMs: number | undefined;
  /** One sharp decode of the chosen output to raw pixels, right after (1280x720 only). */
  readonly outputDecodeMs: number | undefined;
  /**
   * One encode at the chosen parameters and its measurement on a fresh port (the input's luma,
   * the output's decode, upscale, SSIM and PSNR), right after (1280x720 only): the engine with no
   * search.
   */
  readonly measuredEncodeMs: number | undefined;
  oracleRun: boolean;
  /** The oracle's choice; `undefined` when not run or when no candidate meets the floor. */
  oracle: Selection | undefined;
}

const t0 = performance.now();
const log = (message: string) => {
  process.stderr.write(
    `[bench:compress ${((performance.now() - t0) / 1000).toFixed(0)} s] ${message}\n`,
  );
};

const sizeLabel = (size: { width: number; height: number }) => `${size.width}x${size.height}`;
const hash = (frame: Buffer) => createHash('sha1').update(frame).digest('hex');
const mean = (values: readonly number[]) =>
  values.length === 0 ? Number.NaN : values.reduce((a, b) => a + b, 0) / values.length;
const quantile = (values: readonly number[], p: number) =>
  percentile(
    [...values].sort((a, b) => a - b),
    p,
  );
const msOr = (value: number) => (Number.isNaN(value) ? 'n/a' : `${value.toFixed(1)} ms`);
const times = (value: number) => (Number.isNaN(value) ? 'n/a' : `${value.toFixed(2)}x`);
const pct = (value: number) => (Number.isNaN(value) ? 'n/a' : `${(100 * value).toFixed(1)} %`);
const fixed = (value: number, digits: number) =>
  Number.isNaN(value) ? 'n/a' : value.toFixed(digits);
const verdict = (met: boolean) => (met ? 'met' : '**not met**');
/** Encode plus one decode of the chosen output: the least a measured frame can cost. */
const floorMs = (r: FrameRecord) => (r.bareMs as number) + (r.outputDecodeMs as number);

async function sessionFrames(
  content: Content,
  size: { width: number; height: number },
): Promise<Buffer[]> {
  const frames: Buffer[] = [];
  for (let i = 0; i < SESSION_FRAMES; i++) {
    frames.push(await encodeFrame(content.kind, { ...size, ...content.options(i) }));
  }
  return frames;
}

/** Phase 1: every session through the engine, timed; nothing else runs meanwhile. */
async function runSessions(framesBySession: Map<string, Buffer[]>): Promise<FrameRecord[]> {
  // Warm-up: libvips start-up, JIT and SSIM buffers, at each resolution, not recorded.
  for (const size of RESOLUTIONS) {
    for (const content of CONTENTS) {
      const frame = await encodeFrame(content.kind, size);
      for (const profile of PROFILES)
        await serveFrame(frame, content.frameType, profile, undefined);
    }
  }
  const records: FrameRecord[] = [];
  for (const size of RESOLUTIONS) {
    for (const content of CONTENTS) {
      const frames = await sessionFrames(content, size);
      framesBySession.set(`${sizeLabel(size)}|${content.label}`, frames);
      for (const profile of PROFILES) {
        log(`session ${sizeLabel(size)} ${content.label} ${profile.name}`);
        let model: EngineModel | undefined;
        for (const [index, frame] of frames.entries()) {
          const served = await serveFrame(frame, content.frameType, profile, model);
          model = served.model;
          const chosen = served.decision.chosen;
          let bareMs: number | undefined;
          let outputDecodeMs: number | undefined;
          let measuredEncodeMs: number | undefined;
          if (chosen && size === HD) {
            const started = performance.now();
            await served.port.encode(chosen.candidate);
            bareMs = performance.now() - started;
            const decodeStarted = performance.now();
            await sharp(served.port.output(chosen)).raw().toBuffer();
            outputDecodeMs = performance.now() - decodeStarted;
            // The engine's own tools with no search: a fresh port, the chosen encode, its measurement.
            const measuredStarted = performance.now();
            const port = createSharpEnginePort(served.decoded);
            await port.measure(await port.encode(chosen.candidate));
            port.finish();
            measuredEncodeMs = performance.now() - measuredStarted;
          }
          const sentBytes = chosen?.bytes ?? frame.length;
          records.push({
            resolution: sizeLabel(size),
            content: content.label,
            profile: profile.name,
            index,
            frameHash: hash(frame),
            frameType: content.frameType,
            budgetBytes: served.budgetBytes,
            decodeMs: served.decodeMs,
            engineMs: served.engineMs,
            encodes: served.decision.encodeAttempts,
            fallbackReason: served.decision.fallbackReason,
            sentBytes,
            withinBudget: sentBytes <= served.budgetBytes,
            chosen,
            bareMs,
            outputDecodeMs,
            measuredEncodeMs,
            oracleRun: false,
            oracle: undefined,
          });
        }
      }
    }
  }
  return records;
}

/** Phase 2: the oracle's whole grid on the sampled frames (once per distinct frame). */
async function runOracle(
  records: FrameRecord[],
  framesBySession: Map<string, Buffer[]>,
): Promise<Map<string, readonly MeasuredEncoding[]>> {
  const grids = new Map<string, Promise<readonly MeasuredEncoding[]>>();
  const jobs: { session: string; index: number; frame: Buffer; frameType: FrameType }[] = [];
  for (const [session, frames] of framesBySession) {
    const frameType = records.find((r) => `${r.resolution}|${r.content}` === session)?.frameType;
    frames.forEach((frame, index) => {
      if (index % ORACLE_EVERY === 0 && frameType) jobs.push({ session, index, frame, frameType });
    });
  }
  const grid = (frame: Buffer, frameType: FrameType) => {
    const key = hash(frame);
    let pending = grids.get(key);
    if (pending === undefined) {
      pending = (async () => {
        const decoded = await decodeFrame(frame);
        // One grid serves every profile: its selection is redone per record's budget below.
        const result = await exhaustiveSearch({
          frame: { width: decoded.width, height: decoded.height, frameType },
          allowedFormats: POLICY.allowedFormats,
          budgetBytes: 0,
          minQualityScore: POLICY.minQualityScore,
          port: createSharpEnginePort(decoded),
        });
        return result.encodings;
      })();
      grids.set(key, pending);
    }
    return pending;
  };
  let next = 0;
  let done = 0;
  const worker = async () => {
    while (next < jobs.length) {
      const job = jobs[next++] as (typeof jobs)[number];
      const encodings = await grid(job.frame, job.frameType);
      for (const record of records) {
        if (
          `${record.resolution}|${record.content}` !== job.session ||
          record.index !== job.index
        ) {
          continue;
        }
        record.oracleRun = true;
        // The oracle's own rule (selectBest) at this record's budget and the policy's floor.
        record.oracle = selectBest(encodings, {
          budgetBytes: record.budgetBytes,
          minQualityScore: POLICY.minQualityScore,
          frameType: record.frameType,
        });
      }
      if (++done % 10 === 0) log(`oracle ${done}/${jobs.length} frames`);
    }
  };
  await Promise.all(Array.from({ length: ORACLE_CONCURRENCY }, worker));
  const resolved = new Map<string, readonly MeasuredEncoding[]>();
  for (const [key, pending] of grids) resolved.set(key, await pending);
  return resolved;
}

/** Phase 3: 3840x2160 frames served back to back in a child process that reports its peak RSS. */
async function runRss(): Promise<RssReport> {
  const dir = await mkdtemp(join(os.tmpdir(), 'aic-bench-uhd-'));
  try {
    for (let i = 0; i < UHD_FRAMES; i++) {
      const frame = await encodeFrame('scene', { ...UHD, offsetX: i * UHD_PAN_STEP_PX });
      await writeFile(join(dir, `${String(i).padStart(3, '0')}.jpg`), frame);
    }
    log(`peak RSS child: ${UHD_FRAMES} frames of ${sizeLabel(UHD)}`);
    return await childReport<RssReport>(join(here, 'compress-rss.ts'), [dir]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Engine SSIM over oracle SSIM on one frame; a frame the engine sent uncompressed counts 0. */
function ssimRatio(record: FrameRecord): number {
  return (record.chosen?.ssim ?? 0) / (record.oracle?.chosen.ssim ?? 1);
}

/** The same ratio where the engine sent over the budget counts 0 too (the stricter reading). */
function strictSsimRatio(record: FrameRecord): number {
  return record.withinBudget ? ssimRatio(record) : 0;
}

const spentLatency = (r: FrameRecord) => r.engineMs >= POLICY.maxLatencyMs - r.decodeMs;
const isFeasible = (r: FrameRecord) => r.oracleRun && r.oracle?.withinBudget === true;
const isInfeasible = (r: FrameRecord) => r.oracleRun && r.oracle?.withinBudget !== true;

function table(header: readonly string[], rows: readonly (readonly string[])[]): string[] {
  return [
    `| ${header.join(' | ')} |`,
    `|${header.map(() => '---').join('|')}|`,
    ...rows.map((row) => `| ${row.join(' | ')} |`),
  ];
}

function report(
  records: readonly FrameRecord[],
  rss: RssReport,
  run: { plotIndex: number; load: readonly [number, number] },
  seconds: number,
): string[] {
  const feasible = records.filter(isFeasible);
  const feasibleSent = feasible.filter((r) => r.withinBudget && r.chosen !== undefined);
  const warm = records.filter((r) => r.index >= WARM_FRAMES);
  const hdTimed = records.filter((r) => r.bareMs !== undefined);
  const ratios = hdTimed.map((r) => r.engineMs / (r.bareMs as number));
  const totalMs = (r: FrameRecord) => r.decodeMs + r.engineMs;
  const at = (size: { width: number; height: number }) =>
    records.filter((r) => r.resolution === sizeLabel(size));

  const ssim = mean(feasibleSent.map(ssimRatio));
  const strictSsim = mean(feasible.map(strictSsimRatio));
  const within = mean(feasible.map((r) => (r.withinBudget ? 1 : 0)));
  const encodes = mean(warm.map((r) => r.encodes));
  const medianRatio = quantile(ratios, 50);
  const p95Small = quantile(at(RESOLUTIONS[0]).map(totalMs), 95);
  const p95Hd = quantile(at(HD).map(totalMs), 95);
  const oracleFrames = records.filter((r) => r.oracleRun);

  const out: string[] = [
    `Run: ${new Date().toISOString()}, ${seconds.toFixed(0)} s${QUICK ? ' (BENCH_QUICK=1: short sessions, not the published figures)' : ''}. Machine: ${os.cpus().length} x ${os.cpus()[0]?.model ?? 'unknown CPU'}, Node ${process.version}, sharp ${sharp.versions.sharp}, libvips ${sharp.versions.vips}; 1-minute load average ${run.load[0].toFixed(1)} before and ${run.load[1].toFixed(1)} after the timed sessions${Math.max(...run.load) > os.cpus().length ? ' (above the core count: other processes competed for the CPU, so the timings are pessimistic)' : ''}.`,
    '',
    `Policy as production resolves it for a caller with no stored config: mode \`${POLICY.mode}\`, target ratio ${POLICY.targetCompressionRatio}, SSIM floor ${POLICY.minQualityScore}, latency budget ${POLICY.maxLatencyMs} ms minus the decode time, formats ${POLICY.allowedFormats.join(' + ')}. Frames are JPEG q90 as a client would send them, decoded with \`decodeFrame\` and compressed through \`createSharpEnginePort\`. Sessions of ${SESSION_FRAMES} frames, one per resolution x content x profile (${records.length / SESSION_FRAMES} sessions, ${records.length} frames), each starting from the cold-start model and carrying it from frame to frame through its JSON form, as Redis does. Network profiles (1 % loss; budget = bandwidth x 0.99 x 0.85 / fps, capped at 20 % of the input): ${PROFILES.map((p) => p.name).join(', ')}.`,
    '',
    `The oracle encodes and measures the whole grid (${POLICY.allowedFormats.length} formats x 16 qualities x up to 5 scales) and applies the same rule, without a latency limit. It is expensive, so it runs only on frames 0, ${ORACLE_EVERY}, ${2 * ORACLE_EVERY}, ... of each session (${oracleFrames.length} frame x profile pairs); goals 1 and 2 are measured on those frames only.`,
    '',
    `Content: ${CONTENTS.map((c) => `**${c.label}**: ${c.description}`).join('; ')}.`,
    '',
    '### Goals',
    '',
    ...table(
      ['goal', 'measured', 'target', 'verdict'],
      [
        [
          '1. mean SSIM vs the oracle, feasible frames sent within budget',
          `${fixed(ssim, 4)} (n = ${feasibleSent.length}; ${fixed(strictSsim, 4)} over all ${feasible.length} feasible frames, a miss counting 0)`,
          `>= ${GOALS.ssimRatio}`,
          verdict(ssim >= GOALS.ssimRatio),
        ],
        [
          '2. frames within budget where feasible',
          `${pct(within)} (${feasible.filter((r) => r.withinBudget).length}/${feasible.length})`,
          `>= ${GOALS.withinBudget * 100} %`,
          verdict(within >= GOALS.withinBudget),
        ],
        [
          `3. encodes per frame after frame ${WARM_FRAMES}`,
          `${fixed(encodes, 2)} (n = ${warm.length})`,
          `<= ${GOALS.encodesPerFrame}`,
          verdict(encodes <= GOALS.encodesPerFrame),
        ],
        [
          `4. engine time / one bare encode, median, ${sizeLabel(HD)}`,
          `${fixed(medianRatio, 2)}x (n = ${ratios.length})`,
          `<= ${GOALS.engineOverBare}x`,
          verdict(medianRatio <= GOALS.engineOverBare),
        ],
        [
          `4. for reference: (encode + one decode of the output) / encode, median, ${sizeLabel(HD)}`,
          `${fixed(
            quantile(
              hdTimed.map((r) => floorMs(r) / (r.bareMs as number)),
              50,
            ),
            2,
          )}x`,
          'the least a measured frame costs',
          '-',
        ],
        [
          `4. for reference: one measured encode (no search) / encode, median, ${sizeLabel(HD)}`,
          `${fixed(
            quantile(
              hdTimed.map((r) => (r.measuredEncodeMs as number) / (r.bareMs as number)),
              50,
            ),
            2,
          )}x`,
          'the least the engine costs with its measurement',
          '-',
        ],
        [
          `5. p95 added latency (decode + engine), ${sizeLabel(RESOLUTIONS[0])}`,
          msOr(p95Small),
          `<= ${GOALS.p95Ms360} ms`,
          verdict(p95Small <= GOALS.p95Ms360),
        ],
        [`5. p95 added latency (decode + engine), ${sizeLabel(HD)}`, msOr(p95Hd), 'no goal', '-'],
        [
          `6. peak RSS, ${rss.frames} frames of ${rss.width}x${rss.height} back to back`,
          `${fixed(rss.peakRssMb, 0)} MB`,
          `<= ${GOALS.peakRssMb} MB`,
          verdict(rss.peakRssMb <= GOALS.peakRssMb),
        ],
      ],
    ),
    '',
    "Goal 1 is the mean over frames of (SSIM of the engine's encoding) / (SSIM of the oracle's choice), on the oracle frames whose budget is feasible (some candidate fits the budget and meets the floor) and that the engine sent within the budget: there the oracle's choice is the best possible, so the ratio is at most 1. An engine pick over the budget may have a higher SSIM than the best in-budget one, so it would flatter the ratio; such frames are goal 2's misses, and the stricter figure in parentheses counts them, and fallbacks, as 0. Goal 4 divides `createSharpEnginePort` + `compressFrame` by one `encode` of the chosen candidate on the same port (one sharp resize + encode with the production settings), timed right after.",
    '',
    '### Per session',
    '',
  ];

  const sessionRows: string[][] = [];
  for (const size of RESOLUTIONS) {
    for (const content of CONTENTS) {
      for (const profile of PROFILES) {
        const rs = records.filter(
          (r) =>
            r.resolution === sizeLabel(size) &&
            r.content === content.label &&
            r.profile === profile.name,
        );
        const f = rs.filter(isFeasible);
        const sent = rs.filter((r) => r.chosen !== undefined);
        sessionRows.push([
          sizeLabel(size),
          content.label,
          profile.name,
          formatBytes(
            quantile(
              rs.map((r) => r.budgetBytes),
              50,
            ),
          ),
          formatBytes(mean(rs.map((r) => r.sentBytes))),
          fixed(mean(sent.map((r) => r.chosen?.ssim ?? 0)), 3),
          pct(mean(rs.map((r) => (r.withinBudget ? 1 : 0)))),
          `${f.length}/${rs.filter((r) => r.oracleRun).length}`,
          f.length === 0 ? 'n/a' : pct(mean(f.map((r) => (r.withinBudget ? 1 : 0)))),
          fixed(mean(f.filter((r) => r.withinBudget && r.chosen).map(ssimRatio)), 3),
          fixed(mean(rs.filter((r) => r.index >= WARM_FRAMES).map((r) => r.encodes)), 2),
          String(rs.length - sent.length),
          fixed(quantile(rs.map(totalMs), 95), 1),
        ]);
      }
    }
  }
  out.push(
    ...table(
      [
        'size',
        'content',
        'profile',
        'budget (median)',
        'sent, mean',
        'SSIM, mean',
        'within budget, all frames',
        'feasible / oracle frames',
        'within budget, feasible',
        'SSIM vs oracle, feasible, in budget',
        `encodes/frame after ${WARM_FRAMES}`,
        'fallbacks',
        'p95 ms',
      ],
      sessionRows,
    ),
    '',
    '"sent" is the chosen encoding, or the original frame on fallback. "SSIM, mean" is over the frames that sent an encoding.',
    '',
    '### Budget misses on feasible frames',
    '',
    ...table(
      [
        'size',
        'content',
        'misses / feasible',
        'fallbacks',
        'encodes, mean',
        'latency budget spent',
        'sent / budget, mean',
      ],
      RESOLUTIONS.flatMap((size) =>
        CONTENTS.flatMap((content) => {
          const f = feasible.filter(
            (r) => r.resolution === sizeLabel(size) && r.content === content.label,
          );
          const misses = f.filter((r) => !r.withinBudget);
          if (f.length === 0) return [];
          return [
            [
              sizeLabel(size),
              content.label,
              `${misses.length}/${f.length}`,
              String(misses.filter((r) => r.chosen === undefined).length),
              fixed(mean(misses.map((r) => r.encodes)), 2),
              pct(mean(misses.map((r) => (spentLatency(r) ? 1 : 0)))),
              times(mean(misses.map((r) => r.sentBytes / r.budgetBytes))),
            ],
          ];
        }),
      ),
    ),
    '',
    `Contents without a feasible frame are left out. "latency budget spent": the engine took at least the ${POLICY.maxLatencyMs} ms budget minus the decode time, so it could not try again after a miss.`,
    '',
  );

  // Infeasible frames: the rule sends the smallest encoding that meets the floor.
  const infeasible = records.filter(isInfeasible);
  const noValid = infeasible.filter((r) => r.oracle === undefined);
  const smallest = infeasible.filter((r) => r.oracle !== undefined);
  const overBytes = smallest.map((r) => r.sentBytes / (r.oracle?.chosen.bytes ?? 1));
  const reasons = new Map<string, number>();
  for (const r of records) {
    if (r.fallbackReason) reasons.set(r.fallbackReason, (reasons.get(r.fallbackReason) ?? 0) + 1);
  }
  out.push(
    '### Infeasible budgets and fallbacks',
    '',
    `${infeasible.length} of ${records.filter((r) => r.oracleRun).length} oracle frames have no candidate that fits the budget and meets the floor. On the ${smallest.length} where some candidate meets the floor, the rule sends the smallest such encoding (the oracle's choice): the engine sent ${times(mean(overBytes))} its bytes on average (median ${times(quantile(overBytes, 50))}), ${smallest.filter((r) => r.chosen === undefined).length} of them as the uncompressed original (a fallback). On the ${noValid.length} where no candidate meets the floor, a fallback is the right answer. Fallbacks over all ${records.length} frames: ${reasons.size === 0 ? 'none' : [...reasons].map(([reason, n]) => `${reason} ${n}`).join(', ')}.`,
    '',
    '### Encodes per frame',
    '',
    ...table(
      [
        'size',
        `frames 0..${WARM_FRAMES - 1}`,
        `frames ${WARM_FRAMES}..${SESSION_FRAMES - 1}`,
        'max after warm-up',
        'frames that spent the latency budget',
      ],
      RESOLUTIONS.map((size) => {
        const rs = at(size);
        const late = rs.filter((r) => r.index >= WARM_FRAMES);
        return [
          sizeLabel(size),
          fixed(mean(rs.filter((r) => r.index < WARM_FRAMES).map((r) => r.encodes)), 2),
          fixed(mean(late.map((r) => r.encodes)), 2),
          String(Math.max(...late.map((r) => r.encodes))),
          pct(mean(rs.map((r) => (spentLatency(r) ? 1 : 0)))),
        ];
      }),
    ),
    '',
    'The engine starts no encode it does not expect to finish within the latency budget, so where most frames spend that budget, few encodes per frame say more about the latency budget than about the model.',
    '',
    '### Latency (decode + engine, as the service runs them)',
    '',
    ...table(
      [
        'size',
        'frames',
        'decode p50',
        'decode p95',
        'engine p50',
        'engine p95',
        'total p50',
        'total p95',
        'total max',
      ],
      RESOLUTIONS.map((size) => {
        const rs = at(size);
        return [
          sizeLabel(size),
          String(rs.length),
          ...[rs.map((r) => r.decodeMs), rs.map((r) => r.engineMs)].flatMap((values) =>
            [quantile(values, 50), quantile(values, 95)].map(msOr),
          ),
          msOr(quantile(rs.map(totalMs), 50)),
          msOr(quantile(rs.map(totalMs), 95)),
          msOr(Math.max(...rs.map(totalMs))),
        ];
      }),
    ),
    '',
    `### Engine time against one bare encode (${sizeLabel(HD)})`,
    '',
    ...table(
      [
        'content',
        'frames',
        'engine median',
        'bare encode median',
        'ratio median',
        'ratio p95',
        'floor: encode + output decode',
        'engine / floor, median',
        'one measured encode / bare, median',
        'engine / one measured encode, median',
        'encodes/frame',
      ],
      [...CONTENTS.map((c) => c.label), 'all'].map((label) => {
        const rs = hdTimed.filter((r) => label === 'all' || r.content === label);
        const rr = rs.map((r) => r.engineMs / (r.bareMs as number));
        return [
          label,
          String(rs.length),
          msOr(
            quantile(
              rs.map((r) => r.engineMs),
              50,
            ),
          ),
          msOr(
            quantile(
              rs.map((r) => r.bareMs as number),
              50,
            ),
          ),
          times(quantile(rr, 50)),
          times(quantile(rr, 95)),
          msOr(quantile(rs.map(floorMs), 50)),
          times(
            quantile(
              rs.map((r) => r.engineMs / floorMs(r)),
              50,
            ),
          ),
          times(
            quantile(
              rs.map((r) => (r.measuredEncodeMs as number) / (r.bareMs as number)),
              50,
            ),
          ),
          times(
            quantile(
              rs.map((r) => r.engineMs / (r.measuredEncodeMs as number)),
              50,
            ),
          ),
          fixed(mean(rs.map((r) => r.encodes)), 2),
        ];
      }),
    ),
    '',
    "The engine always measures what it sends (decode of the output, upscale to the input size, SSIM and PSNR), so even a one-encode frame costs an encode plus a measurement plus the input's luma. The floor column is what any engine that measures its output pays at the least: the encode and one decode of the output, timed right after; the SSIM and PSNR arithmetic and any further encodes are the engine's own cost above it. \"One measured encode\" is the engine's own tools with no search at all: a fresh port, one encode at the chosen parameters and its measurement (the input's luma, the output's decode and upscale, SSIM and PSNR), timed right after; the engine over it is what the search and the model add.",
    '',
    `### Peak RSS (${rss.width}x${rss.height})`,
    '',
    `A separate Node process (\`compress-rss.ts\`) read ${rss.frames} scene frames (JPEG q90, up to ${formatBytes(rss.maxInputBytes)}) one after the other and served each (decode + engine, ${PROFILES[0]?.name}, one session): RSS ${fixed(rss.baselineRssMb, 0)} MB before the first frame, **peak ${fixed(rss.peakRssMb, 0)} MB** (getrusage maxrss, whole process life). Per frame: median ${fixed(quantile(rss.frameMs, 50), 0)} ms, max ${fixed(Math.max(...rss.frameMs), 0)} ms, ${fixed(mean(rss.encodes), 2)} encodes, ${rss.fallbacks} fallbacks.`,
    '',
    '### Bytes vs SSIM',
    '',
    `![Bytes vs SSIM for every candidate of one ${sizeLabel(HD)} scene frame, with the engine's and the oracle's picks per network profile](img/bytes-vs-ssim.png)`,
    '',
    `Frame ${run.plotIndex} of the ${sizeLabel(HD)} scene pan: every candidate of the grid, the three budgets, the engine's pick in each profile's session (stars) and the oracle's (rings).`,
  );
  return out;
}

const framesBySession = new Map<string, Buffer[]>();
const loadBefore = os.loadavg()[0] ?? 0;
const records = await runSessions(framesBySession);
const loadAfter = os.loadavg()[0] ?? 0;
log('sessions done; oracle');
const grids = await runOracle(records, framesBySession);
log('oracle done; plot');

const plotIndex = Math.floor(SESSION_FRAMES / 2 / ORACLE_EVERY) * ORACLE_EVERY;
const plotRecords = records.filter(
  (r) => r.resolution === sizeLabel(HD) && r.content === 'scene pan' && r.index === plotIndex,
);
const plotGrid = grids.get(plotRecords[0]?.frameHash ?? '');
if (plotGrid === undefined) throw new Error('no oracle grid for the plot frame');
const profiles: PlotProfile[] = PROFILES.map((profile, i) => {
  const record = plotRecords.find((r) => r.profile === profile.name);
  if (record === undefined) throw new Error(`no record for ${profile.name}`);
  return {
    label: profile.name,
    colour: PROFILE_COLOURS[i] ?? '#000',
    budgetBytes: record.budgetBytes,
    engine: record.chosen,
    oracle: record.oracle?.chosen,
  };
});
await mkdir(dirname(plotPath), { recursive: true });
await writeFile(
  plotPath,
  await renderBytesVsSsimPng({
    title: `Bytes vs SSIM, every candidate of one ${sizeLabel(HD)} frame (scene pan, frame ${plotIndex})`,
    subtitle: `sharp ${sharp.versions.sharp}: JPEG (optimised Huffman, 4:2:0) and WebP (effort 0); SSIM floor ${POLICY.minQualityScore}`,
    encodings: plotGrid,
    floor: POLICY.minQualityScore,
    profiles,
  }),
);

const rss = await runRss();
const seconds = (performance.now() - t0) / 1000;
const lines = report(records, rss, { plotIndex, load: [loadBefore, loadAfter] }, seconds);
console.log(lines.join('\n'));
await writeFile(
  reportPath,
  [
    '# Compression benchmark',
    '',
    'Generated by `npm run bench:compress` (`bench/compress.ts`); rerun it to refresh every figure below. `BENCH_QUICK=1 npm run bench:compress` is a short smoke run that writes to the OS temp directory instead.',
    '',
    ...lines,
    '',
  ].join('\n'),
);
log(`wrote ${reportPath} and ${plotPath}`);
