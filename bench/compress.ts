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
 * Writes docs/benchmarks/compress.md and the plot, docs/benchmarks/img/bytes-vs-ssim.png.
 * `BENCH_QUICK=1` runs short sessions and writes to the OS temp directory instead, so a smoke run
 * never replaces the published figures.
 */
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { dirname, join } from 'node:path';
import sharp from 'sharp';
import type { FrameType } from '../functions/core/engine/candidates.ts';
import type { EngineModel } from '../functions/core/engine/model.ts';
import { exhaustiveSearch } from '../functions/core/engine/oracle.ts';
import { type MeasuredEncoding, selectBest } from '../functions/core/engine/selection.ts';
import { decodeFrame } from '../functions/platform/imaging/frame-decoder.ts';
import { createSharpEnginePort } from '../functions/platform/imaging/sharp-engine-port.ts';
import { encodeFrame } from '../test/support/frames.ts';
import { childReport } from './child-report.ts';
import { compressPage } from './compress-page.ts';
import { type PlotProfile, renderBytesVsSsimPng } from './compress-plot.ts';
import type { RssReport } from './compress-rss.ts';
import {
  CONTENTS,
  type Content,
  type FrameRecord,
  HD,
  ORACLE_EVERY,
  RESOLUTIONS,
  SESSION_FRAMES,
  sizeLabel,
  UHD,
  UHD_FRAMES,
} from './compress-run.ts';
import { POLICY, PROFILES, type ServedFrame, serveFrame } from './compress-support.ts';
import { PAGES_DIR, startRun, writeBenchmarkPage } from './report-page.ts';

/** Oracle frames encoded side by side (libvips encodes while JavaScript measures). */
const ORACLE_CONCURRENCY = 2;
const UHD_PAN_STEP_PX = 24;
const PROFILE_COLOURS = ['#2ca02c', '#9467bd', '#d62728'];
const PLOT_LINK = 'img/bytes-vs-ssim.png';
const here = import.meta.dirname;

const t0 = performance.now();
const log = (message: string) => {
  process.stderr.write(
    `[bench:compress ${((performance.now() - t0) / 1000).toFixed(0)} s] ${message}\n`,
  );
};

const hash = (frame: Buffer) => createHash('sha1').update(frame).digest('hex');

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

/** Right after the engine, on its own port: one bare encode of its choice, one decode of that output, and one measured encode on a fresh port (the engine's tools with no search). */
async function referenceTimings(served: ServedFrame) {
  const chosen = served.decision.chosen as MeasuredEncoding;
  const started = performance.now();
  await served.port.encode(chosen.candidate);
  const bareMs = performance.now() - started;
  const decodeStarted = performance.now();
  await sharp(served.port.output(chosen)).raw().toBuffer();
  const outputDecodeMs = performance.now() - decodeStarted;
  const measuredStarted = performance.now();
  const port = createSharpEnginePort(served.decoded);
  await port.measure(await port.encode(chosen.candidate));
  port.finish();
  return { bareMs, outputDecodeMs, measuredEncodeMs: performance.now() - measuredStarted };
}

/** One session: its frames in order, the model carried from each to the next. */
async function serveSession(
  frames: readonly Buffer[],
  content: Content,
  size: { width: number; height: number },
  profile: (typeof PROFILES)[number],
): Promise<FrameRecord[]> {
  const records: FrameRecord[] = [];
  let model: EngineModel | undefined;
  for (const [index, frame] of frames.entries()) {
    const served = await serveFrame(frame, content.frameType, profile, model);
    model = served.model;
    const chosen = served.decision.chosen;
    const timings = chosen && size === HD ? await referenceTimings(served) : undefined;
    const sentBytes = chosen?.bytes ?? frame.length;
    records.push({
      resolution: sizeLabel(size),
      content: content.label,
      profile: profile.name,
      index,
      frameHash: hash(frame),
      frameType: content.frameType,
      budgetBytes: served.budget.budgetBytes,
      decodeMs: served.decodeMs,
      engineMs: served.engineMs,
      encodes: served.decision.encodeAttempts,
      fallbackReason: served.decision.fallbackReason,
      sentBytes,
      withinBudget: sentBytes <= served.budget.budgetBytes,
      chosen,
      bareMs: timings?.bareMs,
      outputDecodeMs: timings?.outputDecodeMs,
      measuredEncodeMs: timings?.measuredEncodeMs,
      oracleRun: false,
      oracle: undefined,
    });
  }
  return records;
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
        records.push(...(await serveSession(frames, content, size, profile)));
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

/** The bytes-vs-SSIM plot of one 1280x720 scene frame's grid, with each profile's picks. */
async function writePlot(
  records: readonly FrameRecord[],
  grids: Map<string, readonly MeasuredEncoding[]>,
  plotIndex: number,
): Promise<string> {
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
  const plotPath = join(PAGES_DIR, PLOT_LINK);
  await mkdir(dirname(plotPath), { recursive: true });
  const png = await renderBytesVsSsimPng({
    title: `Bytes vs SSIM, every candidate of one ${sizeLabel(HD)} frame (scene pan, frame ${plotIndex})`,
    subtitle: `sharp ${sharp.versions.sharp}: JPEG (optimised Huffman, 4:2:0) and WebP (effort 0); SSIM floor ${POLICY.minQualityScore}`,
    encodings: plotGrid,
    floor: POLICY.minQualityScore,
    profiles,
  });
  await writeFile(plotPath, png);
  return plotPath;
}

async function main(): Promise<void> {
  const run = startRun();
  const framesBySession = new Map<string, Buffer[]>();
  const loadBefore = os.loadavg()[0] ?? Number.NaN;
  const records = await runSessions(framesBySession);
  const loadAfter = os.loadavg()[0] ?? Number.NaN;
  log('sessions done; oracle');
  const grids = await runOracle(records, framesBySession);
  log('oracle done; plot');
  const plotIndex = Math.floor(SESSION_FRAMES / 2 / ORACLE_EVERY) * ORACLE_EVERY;
  log(`wrote ${await writePlot(records, grids, plotIndex)}`);
  const rss = await runRss();
  const page = compressPage(records, {
    rss,
    plotIndex,
    sessionLoad: [loadBefore, loadAfter],
    plotLink: PLOT_LINK,
  });
  await writeBenchmarkPage(run, page);
}

await main();
