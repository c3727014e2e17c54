/**
 * Child process of the compression benchmark: serves the frames of a directory back to back (read,
 * decode, engine, as `compress-service.ts` does, one session) and reports its own peak RSS, so that
 * the figure is not inflated by the parent's oracle runs or frame generation.
 *
 * Usage (from `compress.ts`, through `fork`): `compress-rss.ts <dir>`; the result is sent to the
 * parent as one {@link RssReport} message.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { EngineModel } from '../functions/core/engine/model.ts';
import { PROFILES, serveFrame } from './compress-support.ts';

/** What the child measured. */
export interface RssReport {
  readonly frames: number;
  readonly width: number;
  readonly height: number;
  /** Size of the largest input file, bytes. */
  readonly maxInputBytes: number;
  /** RSS after start-up and imports, before the first frame, MB. */
  readonly baselineRssMb: number;
  /** Peak RSS of the process over its whole life (`getrusage` maxrss), MB. */
  readonly peakRssMb: number;
  /** Decode plus engine time per frame, ms. */
  readonly frameMs: readonly number[];
  /** Encodes per frame. */
  readonly encodes: readonly number[];
  /** Frames that fell back to the original. */
  readonly fallbacks: number;
}

const dir = process.argv[2];
if (dir === undefined || process.send === undefined) {
  throw new Error('compress-rss.ts runs as a forked child: compress-rss.ts <dir>');
}
const files = (await readdir(dir)).filter((name) => name.endsWith('.jpg')).sort();
const baselineRssMb = process.memoryUsage.rss() / 2 ** 20;
const profile = PROFILES[0];
if (profile === undefined) throw new Error('no network profile');
let model: EngineModel | undefined;
let width = 0;
let height = 0;
let maxInputBytes = 0;
let fallbacks = 0;
const frameMs: number[] = [];
const encodes: number[] = [];
for (const file of files) {
  const frame = await readFile(join(dir, file));
  const served = await serveFrame(frame, 'video', profile, model);
  model = served.model;
  ({ width, height } = served.decoded);
  maxInputBytes = Math.max(maxInputBytes, frame.length);
  frameMs.push(served.decodeMs + served.engineMs);
  encodes.push(served.decision.encodeAttempts);
  if (served.decision.status === 'fallback') fallbacks++;
}
const report: RssReport = {
  frames: files.length,
  width,
  height,
  maxInputBytes,
  baselineRssMb,
  // maxRSS is in kilobytes.
  peakRssMb: process.resourceUsage().maxRSS / 1024,
  frameMs,
  encodes,
  fallbacks,
};
process.send(report, () => process.exit(0));
