/**
 * The pure part of `bench:latency`: the phases a frame's time is split into, the samples one frame
 * gives of each, and their p50 and p95 per frame size.
 */
import { summarise } from './stats.ts';

/** The phases, in the order a frame meets them; `label` is what the page calls each. */
export const PHASES = [
  { key: 'request', group: 'request', label: 'request body: JSON parse + base64 of `frame_data`' },
  { key: 'admit', group: 'request', label: 'session rate limit (Redis script)' },
  { key: 'decode', group: 'prepare', label: 'input decode (sharp, JPEG to RGB)' },
  { key: 'quota', group: 'prepare', label: "session quota (Postgres; a session's first frame)" },
  { key: 'config', group: 'prepare', label: 'stored policy (Postgres)' },
  { key: 'model', group: 'prepare', label: 'session model (Redis)' },
  { key: 'temporal', group: 'prepare', label: 'temporal state (Redis)' },
  { key: 'plan', group: 'engine', label: 'temporal plan and byte budget' },
  { key: 'encode1', group: 'engine', label: 'encode 1 (with the reference beside it)' },
  { key: 'encode2', group: 'engine', label: 'encode 2' },
  { key: 'encode3', group: 'engine', label: 'encode 3 and later (each)' },
  { key: 'outDecode1', group: 'engine', label: 'measurement 1: output decode (sharp)' },
  { key: 'kernels1', group: 'engine', label: 'measurement 1: kernels (`measurePixels`, fused)' },
  { key: 'outDecode2', group: 'engine', label: 'measurement 2 and later: output decode (each)' },
  { key: 'kernels2', group: 'engine', label: 'measurement 2 and later: kernels (each)' },
  { key: 'encodes', group: 'engine', label: 'all encodes of the frame' },
  { key: 'measures', group: 'engine', label: 'all measurements of the frame' },
  { key: 'engine', group: 'engine', label: 'engine (port, plan, search)' },
  { key: 'decodeEngine', group: 'engine', label: '**decode + engine**' },
  { key: 'refFused', group: 'kernels', label: 'reference: luma + `prepareReference` (as called)' },
  { key: 'refCopies', group: 'kernels', label: 'reference: copies in and out' },
  { key: 'refLuma', group: 'kernels', label: 'reference: input luma' },
  { key: 'refBlocks', group: 'kernels', label: 'reference: block means' },
  { key: 'refFilters', group: 'kernels', label: 'reference: Gaussian filters of x, x²' },
  { key: 'kCopies', group: 'kernels', label: 'measurement: copies in' },
  { key: 'kSmallLuma', group: 'kernels', label: 'measurement: luma of a downscaled output' },
  { key: 'kUpscale', group: 'kernels', label: 'measurement: bilinear upscale to input size' },
  {
    key: 'kRows',
    group: 'kernels',
    label: 'measurement: full-resolution pass (luma, PSNR squared errors, block sums; fused)',
  },
  {
    key: 'kSsim',
    group: 'kernels',
    label: 'measurement: Gaussian filters of y, y², xy + SSIM map',
  },
  { key: 'idempotency', group: 'store', label: 'idempotency claim + answer kept (Redis)' },
  { key: 'claim', group: 'store', label: "session claim (Postgres; a session's first frame)" },
  { key: 'append', group: 'store', label: 'frame event appended to the metrics log (Redis XADD)' },
  { key: 'insert', group: 'store', label: '`frame_metrics` insert (the consumer statement)' },
  { key: 'saveModel', group: 'store', label: 'session model saved (Redis)' },
  { key: 'saveTemporal', group: 'store', label: 'temporal state saved (Redis script)' },
  { key: 'base64', group: 'response', label: 'response: output to base64' },
  { key: 'json', group: 'response', label: 'response: JSON.stringify of the body' },
  {
    key: 'svcDecode',
    group: 'service',
    label: '`latency_ms.decode` (the decode with the look-ups beside it)',
  },
  { key: 'svcEncode', group: 'service', label: '`latency_ms.encode`' },
  { key: 'svcMetrics', group: 'service', label: '`latency_ms.metrics`' },
  { key: 'svcTotal', group: 'service', label: '**`latency_ms.total`**' },
  { key: 'svcWall', group: 'service', label: 'whole request in the service (stored, kept)' },
  { key: 'floorDecode', group: 'floor', label: 'floor: input decode' },
  {
    key: 'floorEncodeMeasure',
    group: 'floor',
    label: 'floor: cheapest in-budget encode + its measurement',
  },
  { key: 'floor', group: 'floor', label: '**floor**' },
] as const;

/** A phase's key. */
export type PhaseKey = (typeof PHASES)[number]['key'];

/** What one frame gave: zero or more samples of each phase, ms. */
export interface FrameSample {
  /** Frame size label, e.g. `1280x720`. */
  readonly size: string;
  /** Network profile name. */
  readonly profile: string;
  readonly phases: Partial<Record<PhaseKey, number[]>>;
}

/** Adds one sample of `key` to a frame's phases. */
export function addSample(
  phases: Partial<Record<PhaseKey, number[]>>,
  key: PhaseKey,
  ms: number,
): void {
  const samples = phases[key];
  if (samples) samples.push(ms);
  else phases[key] = [ms];
}

/** p50, p95 and count of a phase. */
export interface PhaseSummary {
  readonly p50: number;
  readonly p95: number;
  readonly n: number;
}

/** Every sample of `key` in `frames` (a frame may give several, or none). */
export function samplesOf(frames: readonly FrameSample[], key: PhaseKey): number[] {
  return frames.flatMap((frame) => frame.phases[key] ?? []);
}

/** p50 and p95 (nearest rank) of `key` over `frames`; NaN when no frame gave a sample. */
export function summarisePhase(frames: readonly FrameSample[], key: PhaseKey): PhaseSummary {
  const { p50, p95, n } = summarise(samplesOf(frames, key));
  return { p50, p95, n };
}

/** The frames of one size (and of one profile, when given). */
export function framesOf(
  frames: readonly FrameSample[],
  size: string,
  profile?: string,
): FrameSample[] {
  return frames.filter((f) => f.size === size && (profile === undefined || f.profile === profile));
}

/** `value / floor`; NaN when either is missing or the floor is not positive. */
export function overFloor(value: number, floor: number): number {
  return floor > 0 ? value / floor : Number.NaN;
}
