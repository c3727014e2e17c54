/**
 * One emulated Lambda size of `bench:latency`, in a process its parent has pinned to the size's
 * cores (`taskset`) with libuv's pool set to match: libvips gets as many threads as the first
 * argument says. Serves each frame its parent sends through the service and its replay
 * (`latency-frame.ts`, kernels not split) and answers with what the frame gave; a `close` message
 * ends it.
 */
import './latency-env.ts';
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import sharp from 'sharp';
import { closeRuntime, getRuntime } from '../functions/platform/runtime.ts';
import { PROFILES } from './compress-support.ts';
import { type LatencyRun, runFrame } from './latency-frame.ts';
import type { FrameSample } from './latency-stats.ts';

/** A frame to serve, as a session's frame `index`. */
export interface SizingRequest {
  readonly kind: 'frame';
  readonly sessionId: string;
  readonly shadowId: string;
  /** A network profile's name, of `PROFILES`. */
  readonly profile: string;
  readonly width: number;
  readonly height: number;
  readonly frame: Uint8Array;
  readonly index: number;
}

/** What a served frame gave, or why it failed. */
export type SizingReply =
  | { readonly kind: 'frame'; readonly sample: FrameSample; readonly cpusSeen: number }
  | { readonly kind: 'error'; readonly message: string };

const threads = Number(process.argv[2]);
sharp.concurrency(threads);
let run: LatencyRun | undefined;

async function serve(request: SizingRequest): Promise<SizingReply> {
  const profile = PROFILES.find((p) => p.name === request.profile);
  if (!profile) throw new Error(`no network profile named ${request.profile}`);
  run ??= {
    runtime: await getRuntime(),
    splitter: 'not split in the sizing runs',
    userId: randomUUID(),
  };
  const { frame, index, width, height, sessionId, shadowId } = request;
  const session = { size: { width, height }, profile, sessionId, shadowId };
  const bytes = Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength);
  const result = await runFrame(run, session, bytes, index);
  return { kind: 'frame', sample: result.sample, cpusSeen: os.availableParallelism() };
}

process.on('message', (message: SizingRequest | { kind: 'close' }) => {
  if (message.kind === 'close') {
    void closeRuntime().finally(() => process.disconnect());
    return;
  }
  serve(message).then(
    (reply) => process.send?.(reply),
    (error: unknown) => process.send?.({ kind: 'error', message: String(error) }),
  );
});
