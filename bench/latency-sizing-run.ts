/**
 * The memory-size runs of `bench:latency`: one long-lived child process per emulated Lambda size
 * (`latency-sizing-child.ts`), pinned with `taskset` to the size's cores. The parent hands every
 * frame to each child in turn, which of them first alternating from frame to frame, so load that
 * comes and goes on the machine falls on both sizes alike.
 */
import { type ChildProcess, fork, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import { join } from 'node:path';
import { NODE_HEAP_FLAGS, PIXEL_PROCESS_ENV } from '../lib/config/node-flags.ts';
import type { NetworkProfile } from './compress-support.ts';
import {
  billedMsOf,
  EMULATED_SIZES,
  type LambdaSize,
  type SizingReport,
  type SizingRun,
} from './latency-sizing.ts';
import type { SizingReply, SizingRequest } from './latency-sizing-child.ts';
import type { FrameSample } from './latency-stats.ts';

const CHILD = join(import.meta.dirname, 'latency-sizing-child.ts');
/** How long a child may take to close its connections before it is killed. */
const CLOSE_GRACE_MS = 10_000;

/** What the runs serve: the frames of one size, a session of them per profile. */
export interface SizingPlan {
  readonly frames: readonly Buffer[];
  readonly size: { readonly width: number; readonly height: number };
  readonly profiles: readonly NetworkProfile[];
  /** Frames of a session not counted, served first to each child. */
  readonly warmFrames: number;
}

/** A frame a child served: its phases, and the CPUs the child saw. */
type Served = { readonly sample: FrameSample; readonly cpusSeen: number };

/** Why the sizes cannot be emulated here (no `taskset`), or undefined. */
function whyUnavailable(): string | undefined {
  const probe = spawnSync('taskset', ['--version'], { stdio: 'ignore' });
  if (probe.error || probe.status !== 0) return '`taskset` (util-linux) is not installed';
  if (os.availableParallelism() < 2) return 'the machine has fewer than 2 cores';
  return undefined;
}

function startChild(size: LambdaSize): ChildProcess {
  return fork(CHILD, [String(size.vcpus)], {
    execPath: 'taskset',
    execArgv: ['-c', size.cpuList, process.execPath, ...NODE_HEAP_FLAGS, '--import', 'tsx'],
    env: { ...process.env, ...PIXEL_PROCESS_ENV, UV_THREADPOOL_SIZE: String(size.vcpus) },
    serialization: 'advanced',
  });
}

/** Sends `request` to `child` and waits for its answer. */
function ask(child: ChildProcess, request: SizingRequest): Promise<SizingReply> {
  return new Promise((resolve, reject) => {
    const onExit = (code: number | null) => reject(new Error(`sizing child exited with ${code}`));
    child.once('exit', onExit);
    child.once('message', (reply: SizingReply) => {
      child.off('exit', onExit);
      resolve(reply);
    });
    child.send(request);
  });
}

/** Asks `child` to close its connections and waits for it to exit; kills it after a grace. */
function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || !child.connected) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill(), CLOSE_GRACE_MS);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.send({ kind: 'close' });
  });
}

/** A session of each child: its frames, in turn, the first child alternating. */
async function serveSession(
  children: readonly ChildProcess[],
  plan: SizingPlan,
  profile: NetworkProfile,
  count: number,
  turn: number,
): Promise<Served[][]> {
  const sessions = children.map(() => ({ sessionId: randomUUID(), shadowId: randomUUID() }));
  const results = children.map((): Served[] => []);
  for (let index = 0; index < count; index++) {
    const frame = plan.frames[index] as Buffer;
    const order = children.map((_, i) => i);
    if ((index + turn) % 2 === 1) order.reverse();
    for (const i of order) {
      const reply = await ask(children[i] as ChildProcess, {
        kind: 'frame',
        ...(sessions[i] as { sessionId: string; shadowId: string }),
        profile: profile.name,
        ...plan.size,
        frame,
        index,
      });
      if (reply.kind === 'error') throw new Error(`sizing child: ${reply.message}`);
      results[i]?.push(reply);
    }
  }
  return results;
}

function runOf(size: LambdaSize, frames: readonly Served[]): SizingRun {
  const first = (sample: FrameSample, key: 'decodeEngine' | 'svcTotal') =>
    sample.phases[key]?.[0] ?? Number.NaN;
  return {
    size,
    decodeEngineMs: frames.map((f) => first(f.sample, 'decodeEngine')),
    totalMs: frames.map((f) => first(f.sample, 'svcTotal')),
    billedMs: frames.map((f) => billedMsOf(f.sample.phases)),
    cpusSeen: frames[0]?.cpusSeen ?? Number.NaN,
  };
}

/** Serves `plan` at every emulated size; the runs, or why they could not be made. */
export async function runSizing(
  plan: SizingPlan,
  log: (message: string) => void,
): Promise<SizingReport> {
  const profiles = plan.profiles.map((p) => p.name);
  const unavailable = whyUnavailable();
  const start = os.loadavg()[0] ?? Number.NaN;
  if (unavailable) return { runs: [], profiles, load: { start, end: start }, unavailable };
  const children = EMULATED_SIZES.map(startChild);
  try {
    const warmProfile = plan.profiles[0] as NetworkProfile;
    await serveSession(children, plan, warmProfile, plan.warmFrames, 0);
    const frames = children.map((): Served[] => []);
    for (const [turn, profile] of plan.profiles.entries()) {
      log(`sizing ${profile.name}`);
      const session = await serveSession(children, plan, profile, plan.frames.length, turn);
      for (const [i, served] of session.entries()) frames[i]?.push(...served);
    }
    const runs = EMULATED_SIZES.map((size, i) => runOf(size, frames[i] ?? []));
    return { runs, profiles, load: { start, end: os.loadavg()[0] ?? Number.NaN } };
  } finally {
    await Promise.all(children.map(stopChild));
  }
}
