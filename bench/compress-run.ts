/**
 * The compression benchmark's settings, its four kinds of content, the record it keeps of every
 * frame, and the readings of a record that its goals use. Shared by the run (`compress.ts`) and
 * its page (`compress-page.ts`).
 */
import type { FrameType } from '../functions/core/engine/candidates.ts';
import type { MeasuredEncoding, Selection } from '../functions/core/engine/selection.ts';
import type { FrameKind, FrameOptions } from '../test/support/frames.ts';
import { POLICY } from './compress-support.ts';
import { QUICK } from './report-page.ts';

/** Frames per session. */
export const SESSION_FRAMES = QUICK ? 12 : 30;
/** Frames of a session before its encodes per frame are counted (goal 3). */
export const WARM_FRAMES = 10;
/** The oracle runs on frames 0, N, 2N, ... of each session. */
export const ORACLE_EVERY = Number(process.env.BENCH_ORACLE_EVERY ?? (QUICK ? 6 : 2));
/** 3840x2160 frames served back to back for the peak RSS. */
export const UHD_FRAMES = QUICK ? 4 : 20;
export const RESOLUTIONS = [
  { width: 640, height: 360 },
  { width: 1280, height: 720 },
] as const;
export const UHD = { width: 3840, height: 2160 } as const;
/** The resolution of goal 4 and of the plot. */
export const HD = RESOLUTIONS[1];
const PAN_STEP_PX = 8;
/** A screen session shows a new page (new text layout) every this many frames. */
const SCREEN_PAGE_FRAMES = 10;

/** The goals' targets. */
export const GOALS = {
  ssimRatio: 0.97,
  withinBudget: 0.98,
  encodesPerFrame: 1.5,
  engineOverBare: 1.25,
  p95Ms360: 20,
  peakRssMb: 400,
};

/** A kind of content: how its frames are drawn and sent. */
export interface Content {
  readonly kind: FrameKind;
  readonly label: string;
  readonly frameType: FrameType;
  /** How frame `i` of a session differs from the others. */
  readonly options: (i: number) => FrameOptions;
  readonly description: string;
}

export const CONTENTS: readonly Content[] = [
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
export interface FrameRecord {
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

/** `1280x720` */
export const sizeLabel = (size: { width: number; height: number }) =>
  `${size.width}x${size.height}`;

/** Engine SSIM over oracle SSIM on one frame; a frame the engine sent uncompressed counts 0. */
export function ssimRatio(record: FrameRecord): number {
  return (record.chosen?.ssim ?? 0) / (record.oracle?.chosen.ssim ?? 1);
}

/** The same ratio where the engine sent over the budget counts 0 too (the stricter reading). */
export function strictSsimRatio(record: FrameRecord): number {
  return record.withinBudget ? ssimRatio(record) : 0;
}

/** Whether the engine used up its latency budget (so it could not try again after a miss). */
export const spentLatency = (r: FrameRecord) => r.engineMs >= POLICY.maxLatencyMs - r.decodeMs;
/** An oracle frame where some candidate fits the budget and meets the floor. */
export const isFeasible = (r: FrameRecord) => r.oracleRun && r.oracle?.withinBudget === true;
/** An oracle frame where no candidate fits the budget and meets the floor. */
export const isInfeasible = (r: FrameRecord) => r.oracleRun && r.oracle?.withinBudget !== true;
/** Decode plus engine: the latency the service adds to a frame. */
export const totalMs = (r: FrameRecord) => r.decodeMs + r.engineMs;
/** Encode plus one decode of the chosen output: the least a measured frame can cost. */
export const floorMs = (r: FrameRecord) => (r.bareMs as number) + (r.outputDecodeMs as number);
/** The engine's time over one bare encode of its choice. */
export const overBare = (r: FrameRecord) => r.engineMs / (r.bareMs as number);
