/**
 * One fresh process of `bench:cold`: optionally warms up (`warm` as the second argument), then
 * serves the frame in the file named by the first argument twice, as a session's first and
 * second frame, and sends the timings to its parent.
 */
import { readFile } from 'node:fs/promises';
import { warmUpImaging } from '../functions/platform/imaging/warm-up.ts';
import { PROFILES, serveFrame } from './compress-support.ts';

/** What a child reports. */
export interface ColdStartReport {
  warm: boolean;
  /** The warm-up's own wall time, ms (0 without it). */
  warmUpMs: number;
  /** Decode + engine of the session's first frame, and of its second, ms. */
  firstMs: number;
  secondMs: number;
  /** Whether the first frame's encoding fitted its byte budget. */
  firstWithinBudget: boolean;
  /** SSIM of the first frame's encoding (undefined on fallback). */
  firstSsim: number | undefined;
}

const [path, mode] = process.argv.slice(2);
const frame = await readFile(path as string);
const warm = mode === 'warm';
const warmStarted = performance.now();
if (warm) await warmUpImaging();
const warmUpMs = warm ? performance.now() - warmStarted : 0;

const profile = PROFILES[0] as (typeof PROFILES)[number];
const first = await serveFrame(frame, 'video', profile, undefined);
const second = await serveFrame(frame, 'video', profile, first.model);
const chosen = first.decision.chosen;
const report: ColdStartReport = {
  warm,
  warmUpMs,
  firstMs: first.decodeMs + first.engineMs,
  secondMs: second.decodeMs + second.engineMs,
  firstWithinBudget: (chosen?.bytes ?? frame.length) <= first.budget.budgetBytes,
  firstSsim: chosen?.ssim,
};
process.send?.(report);
