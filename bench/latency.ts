/**
 * `npm run bench:latency`: where every millisecond of a frame goes, at 1280x720 and 1920x1080,
 * default policy, two network profiles. Each frame goes through the compress
 * service on the real Postgres and Redis (its own `latency_ms`), then is replayed call by call
 * (`latency-frame.ts`); after all sessions, the floor of each sampled frame (`latency-floor.ts`).
 * libvips runs 2 threads, as on a 2-vCPU function; the npm script sets libuv's pool to match.
 * Last, the memory-size runs (`latency-sizing-run.ts`): the 1280x720 frames again in child
 * processes pinned to one core and to two, as 1769 and 3538 MiB functions have, and the cost per
 * million frames of each.
 *
 * Writes docs/benchmarks/latency.md. `BENCH_QUICK=1` runs short sessions and writes to the OS temp
 * directory; `BENCH_FRAMES` and `BENCH_FLOOR_EVERY` set the frames per session and how often a
 * frame's floor is searched.
 */
import './latency-env.ts';
import { randomUUID } from 'node:crypto';
import sharp from 'sharp';
import { describeCandidate } from '../functions/core/engine/screen-candidates.ts';
import { decodeFrame } from '../functions/platform/imaging/frame-decoder.ts';
import { closeRuntime, getRuntime } from '../functions/platform/runtime.ts';
import { encodeFrame } from '../test/support/frames.ts';
import { deleteKeysWithPrefix, SHARED_REDIS_URL } from '../test/support/redis-keys.ts';
import { createTestDatabase } from '../test/support/test-database.ts';
import { type NetworkProfile, POLICY, PROFILES } from './compress-support.ts';
import { cheapestValid, measureGrid, timeFloor } from './latency-floor.ts';
import {
  type FrameResult,
  type LatencyRun,
  type LatencySession,
  runFrame,
  sizeLabel,
} from './latency-frame.ts';
import { createKernelSplitter } from './latency-kernels.ts';
import { type FrameOutcome, latencyPage } from './latency-page.ts';
import { runSizing } from './latency-sizing-run.ts';
import { addSample, type FrameSample } from './latency-stats.ts';
import { QUICK, startRun, writeBenchmarkPage } from './report-page.ts';

const FRAMES = Number(process.env.BENCH_FRAMES ?? (QUICK ? 8 : 40));
const FLOOR_EVERY = Number(process.env.BENCH_FLOOR_EVERY ?? (QUICK ? 4 : 2));
/** Floor samples per frame and profile: one sample alone is at the mercy of the machine's load. */
const FLOOR_REPEATS = 3;
const WARM_FRAMES = QUICK ? 3 : 6;
const PAN_STEP_PX = 8;
const LIBVIPS_THREADS = 2;
const SIZES = [
  { width: 1280, height: 720 },
  { width: 1920, height: 1080 },
] as const;
const NETWORKS = PROFILES.filter((p) => p.bandwidthKbps >= 1500);

const t0 = performance.now();
const log = (message: string) => {
  const seconds = ((performance.now() - t0) / 1000).toFixed(0);
  process.stderr.write(`[bench:latency ${seconds} s] ${message}\n`);
};

/** One session's frames, and what each gave. */
interface SessionRun {
  readonly session: LatencySession;
  readonly frames: readonly Buffer[];
  readonly results: FrameResult[];
}

async function sessionFrames(size: { width: number; height: number }, count: number) {
  const frames: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    frames.push(await encodeFrame('scene', { ...size, offsetX: i * PAN_STEP_PX }));
  }
  return frames;
}

function newSession(size: LatencySession['size'], profile: LatencySession['profile']) {
  return { size, profile, sessionId: randomUUID(), shadowId: randomUUID() };
}

/** Every session of the run, after a warm-up per size that is not counted. */
async function runSessions(run: LatencyRun): Promise<SessionRun[]> {
  const sessions: SessionRun[] = [];
  for (const size of SIZES) {
    const frames = await sessionFrames(size, FRAMES);
    const warm = newSession(size, NETWORKS[0] as NetworkProfile);
    for (let i = 0; i < WARM_FRAMES; i++) await runFrame(run, warm, frames[i] as Buffer, i);
    for (const profile of NETWORKS) {
      const session = newSession(size, profile);
      log(`session ${sizeLabel(size)} ${profile.name}`);
      const results: FrameResult[] = [];
      for (const [index, frame] of frames.entries()) {
        results.push(await runFrame(run, session, frame, index));
      }
      sessions.push({ session, frames, results });
    }
  }
  return sessions;
}

/** The floor of every `FLOOR_EVERY`-th frame of each session, and whether its budget can be met. */
async function runFloors(sessions: readonly SessionRun[]) {
  const floors: FrameSample[] = [];
  const feasible = new Map<FrameResult, boolean>();
  const picks = new Map<string, string[]>();
  for (const size of SIZES) {
    const ofSize = sessions.filter((s) => s.session.size === size);
    const frames = ofSize[0]?.frames ?? [];
    for (let index = 0; index < frames.length; index += FLOOR_EVERY) {
      const frame = frames[index] as Buffer;
      const grid = await measureGrid(await decodeFrame(frame), POLICY.allowedFormats);
      for (const { session, results } of ofSize) {
        const result = results[index] as FrameResult;
        const pick = cheapestValid(grid, result.budgetBytes, POLICY.minQualityScore);
        feasible.set(result, pick !== undefined);
        if (!pick) continue;
        const phases: FrameSample['phases'] = {};
        for (let repeat = 0; repeat < FLOOR_REPEATS; repeat++) {
          const sample = await timeFloor(frame, pick.candidate);
          addSample(phases, 'floorDecode', sample.decodeMs);
          addSample(phases, 'floorEncodeMeasure', sample.encodeMeasureMs);
          addSample(phases, 'floor', sample.decodeMs + sample.encodeMeasureMs);
        }
        floors.push({ size: sizeLabel(size), profile: session.profile.name, phases });
        const label = sizeLabel(size);
        picks.set(label, [...(picks.get(label) ?? []), describeCandidate(pick.candidate)]);
      }
      log(`floor ${sizeLabel(size)} frame ${index}`);
    }
  }
  return { floors, feasible, picks };
}

/** The most frequent of `labels`, with its count. */
function mostFrequent(labels: readonly string[]): string {
  const counts = new Map<string, number>();
  for (const label of labels) counts.set(label, (counts.get(label) ?? 0) + 1);
  const [label, count] = [...counts].sort((a, b) => b[1] - a[1])[0] ?? ['-', 0];
  return `${label} (${count} of ${labels.length})`;
}

function outcomesOf(sessions: readonly SessionRun[], feasible: Map<FrameResult, boolean>) {
  return sessions.flatMap(({ session, results }) =>
    results.map(
      (r): FrameOutcome => ({
        size: sizeLabel(session.size),
        profile: session.profile.name,
        encodes: r.encodes,
        status: r.status,
        fallbackReason: r.fallbackReason,
        feasible: feasible.get(r),
      }),
    ),
  );
}

/** Whether the kernels agreed wherever they were split (undefined when never split). */
function agreement(sessions: readonly SessionRun[]): boolean | undefined {
  const verdicts = sessions.flatMap((s) => s.results.map((r) => r.kernelsAgree));
  if (verdicts.every((v) => v === undefined)) return undefined;
  return verdicts.every((v) => v !== false);
}

/** The memory-size runs, on the frames of the first size's sessions. */
function sizingOf(sessions: readonly SessionRun[]) {
  const size = SIZES[0];
  const frames = sessions.find((s) => s.session.size === size)?.frames ?? [];
  return runSizing({ frames, size, profiles: NETWORKS, warmFrames: WARM_FRAMES }, log);
}

async function measure(run: LatencyRun) {
  const sessions = await runSessions(run);
  log('sessions done; floors');
  const { floors, feasible, picks } = await runFloors(sessions);
  log('floors done; memory sizes');
  const sizing = await sizingOf(sessions);
  const sizes = SIZES.map(sizeLabel);
  return latencyPage(
    {
      sizes,
      profiles: NETWORKS.map((p) => p.name),
      samples: [...sessions.flatMap((s) => s.results.map((r) => r.sample)), ...floors],
      outcomes: outcomesOf(sessions, feasible),
      floorCandidates: new Map(sizes.map((size) => [size, mostFrequent(picks.get(size) ?? [])])),
      kernelsAgree: agreement(sessions),
      kernelsUnavailable: typeof run.splitter === 'string' ? run.splitter : undefined,
      sizing,
      settings: {
        framesPerSession: FRAMES,
        floorEvery: FLOOR_EVERY,
        floorRepeats: FLOOR_REPEATS,
        libvipsThreads: LIBVIPS_THREADS,
        uvThreadpool: process.env.UV_THREADPOOL_SIZE ?? '4 (unset: the default)',
      },
    },
    [
      `sharp ${sharp.versions.sharp}`,
      `libvips ${sharp.versions.vips}`,
      `${sharp.concurrency()} libvips threads`,
      `UV_THREADPOOL_SIZE=${process.env.UV_THREADPOOL_SIZE ?? 'unset'}`,
    ],
  );
}

async function main(): Promise<void> {
  const started = startRun();
  sharp.concurrency(LIBVIPS_THREADS);
  const db = await createTestDatabase({ migrate: true });
  const prefix = `aic-bench:latency:${randomUUID()}:`;
  process.env.DATABASE_URL = db.url;
  process.env.REDIS_URL = SHARED_REDIS_URL;
  process.env.REDIS_KEY_PREFIX = prefix;
  try {
    const runtime = await getRuntime();
    const run: LatencyRun = { runtime, splitter: createKernelSplitter(), userId: randomUUID() };
    const page = await measure(run);
    await writeBenchmarkPage(started, page);
  } finally {
    await closeRuntime();
    await db.drop();
    await deleteKeysWithPrefix(prefix);
  }
}

await main();
