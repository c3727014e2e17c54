/**
 * A deterministic stand-in for the sharp adapter: bytes, SSIM and times are smooth functions of the
 * candidate and of a synthetic content, plus noise from a seeded hash. Noise depends on the frame,
 * format and scale but not on quality, so that, like a real encoder, size and SSIM grow with quality
 * and scale; the shapes differ from the engine's priors, so the engine has something to learn.
 */
import type { OutputFormat } from '../../../../functions/core/contracts/config.ts';
import type { Candidate, FrameSize } from '../../../../functions/core/engine/candidates.ts';
import type { Encoded, EnginePort, Measurement } from '../../../../functions/core/engine/port.ts';
import {
  type AnyCandidate,
  isScreenCandidate,
  type LadderEncoding,
  type ScreenCandidate,
} from '../../../../functions/core/engine/screen-candidates.ts';

/** What the synthetic frame looks like to an encoder. */
export interface FakeContent {
  /** ln bytes-per-pixel offset: higher is busier content. */
  readonly complexity: number;
  /** ln(1 - SSIM) offset: higher loses more quality at every setting. */
  readonly detail: number;
  /** How much a downscale costs in SSIM (0.6..1.6). */
  readonly scaleLoss: number;
  /** Seed of the noise. */
  readonly seed: number;
}

/** A clock the fake port advances by the time its work "takes". */
export interface FakeClock {
  now: () => number;
  advance: (ms: number) => void;
}

/** A manual clock starting at 1000 ms. */
export function fakeClock(): FakeClock {
  let t = 1000;
  return {
    now: () => t,
    advance: (ms) => {
      t += ms;
    },
  };
}

const FORMAT_TRAITS: Record<OutputFormat, { bytes: number; dist: number; msPerMp: number }> = {
  jpeg: { bytes: 0, dist: 0, msPerMp: 5 },
  webp: { bytes: -0.28, dist: 0.08, msPerMp: 20 },
  avif: { bytes: -0.6, dist: 0.15, msPerMp: 90 },
};
const FORMAT_ID: Record<OutputFormat, number> = { jpeg: 1, webp: 2, avif: 3 };

/** Uniform in [-1, 1], a deterministic function of its integer arguments. */
export function hashNoise(...parts: number[]): number {
  let h = 0x9e3779b9;
  for (const part of parts) {
    h = Math.imul(h ^ (part | 0), 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
  }
  return ((h >>> 0) / 0xffffffff) * 2 - 1;
}

/** Options of {@link createFakePort}. */
export interface FakePortOptions {
  readonly frame: FrameSize;
  readonly content: FakeContent;
  /** Index of the frame in its session: the noise differs per frame. */
  readonly frameIndex: number;
  /** Clock to advance by encode and measure times; none for a timeless port. */
  readonly clock?: FakeClock;
  /** Multiplies every reported time (0 makes encodes free). */
  readonly timeScale?: number;
  /** Formats whose encoder throws. */
  readonly failingFormats?: readonly OutputFormat[];
  /** Whether measuring throws. */
  readonly failMeasure?: boolean;
}

/** The fake port and a log of what it was asked to do. */
export interface FakePort extends EnginePort {
  readonly encodes: AnyCandidate[];
  readonly measures: number[];
  /** Clock time at which each encode started. */
  readonly encodeStarts: number[];
}

/** Bytes and SSIM the fake gives a candidate, without the port's bookkeeping. */
export function fakeOutcome(
  options: Pick<FakePortOptions, 'frame' | 'content' | 'frameIndex'>,
  candidate: Candidate,
): { bytes: number; ssim: number; psnrDb: number } {
  const { content, frameIndex } = options;
  const traits = FORMAT_TRAITS[candidate.format];
  const scaleIndex = Math.round(candidate.scale * 1000);
  const fmt = FORMAT_ID[candidate.format];
  const u = candidate.quality / 100;
  const lnScale = Math.log(candidate.scale);
  const bytesNoise = 0.08 * hashNoise(content.seed, frameIndex, fmt, scaleIndex, 1);
  const distNoise = 0.06 * hashNoise(content.seed, frameIndex, fmt, scaleIndex, 2);
  const pixels = candidate.width * candidate.height;
  const logBpp = content.complexity + traits.bytes - 3.9 + 3.4 * u ** 1.7 - 0.3 * lnScale;
  const bytes = Math.max(1, Math.round(pixels * Math.exp(logBpp + bytesNoise)));
  const logDist =
    content.detail + traits.dist - 1.5 - 3.6 * u ** 1.2 - content.scaleLoss * lnScale + distNoise;
  const distortion = Math.min(1, Math.exp(logDist));
  return { bytes, ssim: 1 - distortion, psnrDb: 20 + 25 * u };
}

/**
 * Ladder traits: ln bytes relative to lossless, and the time relative to a lossless encode. Lossless
 * coding grows with busy content much faster than lossy coding does, so simple content (low
 * complexity) codes losslessly smaller than a high lossy quality, and busy content far larger.
 */
const LADDER_TRAITS: Record<LadderEncoding, { bytes: (level: number) => number; time: number }> = {
  lossless: { bytes: () => 0, time: 1 },
  near_lossless: { bytes: (level) => -0.15 - (0.6 * (100 - level)) / 40, time: 1.3 },
  palette: { bytes: (level) => 0.4 - (0.3 * Math.log2(256 / level)) / 4, time: 1.5 },
};

/** Bytes, SSIM and encode time the fake gives a screen ladder candidate. */
export function fakeLadderOutcome(
  options: Pick<FakePortOptions, 'content' | 'frameIndex'>,
  candidate: ScreenCandidate,
): { bytes: number; ssim: number; psnrDb: number; msPerMp: number } {
  const { content, frameIndex } = options;
  const traits = LADDER_TRAITS[candidate.encoding];
  const noise = 0.08 * hashNoise(content.seed, frameIndex, 7, candidate.level);
  const pixels = candidate.width * candidate.height;
  const logBpp = 2.5 * content.complexity - 1.5 + traits.bytes(candidate.level) + noise;
  const bytes = Math.max(1, Math.round(pixels * Math.exp(logBpp)));
  const msPerMp = FORMAT_TRAITS.webp.msPerMp * Math.exp(content.complexity + 1) * traits.time;
  if (candidate.encoding === 'lossless') return { bytes, ssim: 1, psnrDb: 100, msPerMp };
  const loss =
    candidate.encoding === 'near_lossless'
      ? 0.0001 * (100 - candidate.level)
      : 0.04 / Math.log2(candidate.level) ** 1.5;
  const distortion = Math.min(1, loss * Math.exp(content.complexity + content.detail));
  return { bytes, ssim: 1 - distortion, psnrDb: 40 + 20 * (1 - distortion), msPerMp };
}

/** A fake {@link EnginePort} for one frame. */
export function createFakePort(options: FakePortOptions): FakePort {
  const timeScale = options.timeScale ?? 1;
  const encodes: AnyCandidate[] = [];
  const measures: number[] = [];
  const encodeStarts: number[] = [];
  const outcomes = new Map<number, Measurement>();
  let nextId = 1;
  const inputMp = (options.frame.width * options.frame.height) / 1e6;
  return {
    encodes,
    measures,
    encodeStarts,
    async encode(candidate: AnyCandidate): Promise<Encoded> {
      encodeStarts.push(options.clock?.now() ?? 0);
      encodes.push(candidate);
      if (candidate.format !== 'png' && options.failingFormats?.includes(candidate.format)) {
        throw new Error(`${candidate.format} encoder unavailable`);
      }
      const outcome = isScreenCandidate(candidate)
        ? fakeLadderOutcome(options, candidate)
        : { ...fakeOutcome(options, candidate), msPerMp: FORMAT_TRAITS[candidate.format].msPerMp };
      const jitter = 1 + 0.1 * hashNoise(options.content.seed, options.frameIndex, nextId, 3);
      const encodeMs =
        timeScale * outcome.msPerMp * ((candidate.width * candidate.height) / 1e6) * jitter;
      options.clock?.advance(encodeMs);
      const id = nextId++;
      // Like the sharp adapter, a lossless encoding measures as identical without a decode.
      const lossless = isScreenCandidate(candidate) && candidate.encoding === 'lossless';
      const measureMs = lossless ? 0 : timeScale * 2 * inputMp;
      outcomes.set(id, { ssim: outcome.ssim, psnrDb: outcome.psnrDb, measureMs });
      return {
        id,
        candidate,
        bytes: outcome.bytes,
        width: candidate.width,
        height: candidate.height,
        encodeMs,
      };
    },
    async measure(encoded: Encoded): Promise<Measurement> {
      measures.push(encoded.id);
      if (options.failMeasure) throw new Error('decode of the output failed');
      const outcome = outcomes.get(encoded.id);
      if (!outcome) throw new Error(`unknown encoding ${encoded.id}`);
      options.clock?.advance(outcome.measureMs);
      return outcome;
    },
  };
}
