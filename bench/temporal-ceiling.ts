/**
 * The ceiling of an intra-only server, for `npm run bench:temporal`: an upper bound on the mean
 * viewer SSIM that any server coding every frame on its own, from a grid of the engine's
 * candidates, can give a screen sequence in no more bytes than the per-frame engine sent.
 *
 * Such a server answers each frame `i` either with an encoding `c` of frame `i` (the viewer then
 * shows exactly that image: SSIM `v_i(c)` at `b_i(c)` bytes) or with nothing (0 bytes: the viewer
 * keeps an older image, or shows nothing before the first one). What an older image scores at `i`
 * is bounded by {@link staleBound}: the best SSIM of an earlier frame's true pixels against frame
 * `i`'s. Its mean viewer SSIM is therefore at most the optimum of a multiple-choice knapsack, one
 * option per frame, total bytes at most `B`; the Lagrangian dual
 * `g(lambda) = lambda B + sum_i max_o (v_o - lambda b_o)` is at least that optimum for every
 * `lambda >= 0`, and {@link ceilingOf} returns the least `g` it finds, which is the knapsack's LP
 * relaxation to the precision of its bisection. Every `g` it evaluates is a valid bound.
 */
import { createHash } from 'node:crypto';
import type { OutputFormat } from '../functions/core/contracts/config.ts';
import { type Candidate, enumerateCandidates } from '../functions/core/engine/candidates.ts';
import { describeCandidate } from '../functions/core/engine/screen-candidates.ts';
import { type LumaImage, lumaFromPixels } from '../functions/core/quality/luma.ts';
import {
  measureAgainst,
  prepareReference,
  type QualityReference,
  releaseReference,
} from '../functions/core/quality/ssim.ts';
import { decodeFrame } from '../functions/platform/imaging/frame-decoder.ts';
import { createSharpEnginePort } from '../functions/platform/imaging/sharp-engine-port.ts';
import type { Sequence, SequenceFrame, SequenceName } from './temporal-sequences.ts';
import { createViewer } from './temporal-viewer.ts';

/** Qualities of the ceiling's grid: 20 to 80 in steps of 10. */
export const CEILING_QUALITIES: readonly number[] = [20, 30, 40, 50, 60, 70, 80];

/** One way to send a frame: its bytes and the viewer SSIM it gives at that frame. */
export interface SendOption {
  /** What it is, as `describeCandidate` writes it, or `original`. */
  readonly candidate: string;
  readonly bytes: number;
  readonly ssim: number;
}

/** A frame's options: each encoding measured, or nothing, which scores at most `staleBound`. */
export interface CeilingFrame {
  readonly sends: readonly SendOption[];
  /** An upper bound on the viewer SSIM of any older image (or of nothing) at this frame. */
  readonly staleBound: number;
}

/** The best option of every frame at one `lambda`. */
export interface Picks {
  readonly lambda: number;
  /** Sum of the picked options' SSIM. */
  readonly ssimSum: number;
  /** Sum of their bytes. */
  readonly bytes: number;
  /** Frames that send an image. */
  readonly sent: number;
}

/** The ceiling of one sequence at one byte budget. */
export interface Ceiling {
  readonly frames: number;
  readonly budgetBytes: number;
  /** The bound on the mean viewer SSIM: the least dual value found, over the frames. */
  readonly meanSsim: number;
  /** The picks at the dual's minimiser found: bytes within the budget, or the least lambda over it. */
  readonly within: Picks;
  /** {@link leftOutBytes} at the picks' `lambda`. */
  readonly leftOutBytes: number;
  /** {@link evenSplitOf} the same frames and bytes. */
  readonly evenSplitSsim: number;
}

/** The ceiling of one screen sequence under one profile, at the per-frame engine's bytes. */
export interface ProfileCeiling {
  readonly sequence: SequenceName;
  readonly profile: string;
  readonly ceiling: Ceiling;
  /** The stale bound's window, frames (one second). */
  readonly windowFrames: number;
  /** {@link CeilingFrames.olderMargin} of the sequence. */
  readonly olderMargin: number;
}

/**
 * The upper bound on what a stale image scores at a frame: the SSIMs of earlier frames' true
 * pixels against it, the best of them, and never below 0 (nothing shown scores 0).
 */
export function staleBound(ssims: readonly number[]): number {
  return Math.max(0, ...ssims);
}

/** Each frame's option with the most `ssim - lambda x bytes`: a send, or nothing. */
export function pickAt(frames: readonly CeilingFrame[], lambda: number): Picks {
  let ssimSum = 0;
  let bytes = 0;
  let sent = 0;
  for (const frame of frames) {
    let best = { ssim: frame.staleBound, bytes: 0 };
    for (const send of frame.sends) {
      if (send.ssim - lambda * send.bytes > best.ssim - lambda * best.bytes) best = send;
    }
    ssimSum += best.ssim;
    bytes += best.bytes;
    if (best.bytes > 0) sent++;
  }
  return { lambda, ssimSum, bytes, sent };
}

/** The dual value at `picks`: at least the best total SSIM within `budgetBytes`. */
export const dualValue = (picks: Picks, budgetBytes: number) =>
  picks.ssimSum + picks.lambda * (budgetBytes - picks.bytes);

/**
 * The fewest bytes an encoding left out of the grid would need to change any frame's pick at
 * `lambda`, were its SSIM 1: below this it could raise the bound, at or above it it cannot.
 * Infinite at `lambda` 0 with every frame already at SSIM 1.
 */
export function leftOutBytes(frames: readonly CeilingFrame[], lambda: number): number {
  let fewest = Number.POSITIVE_INFINITY;
  for (const frame of frames) {
    let term = frame.staleBound;
    for (const send of frame.sends) term = Math.max(term, send.ssim - lambda * send.bytes);
    if (term < 1) fewest = Math.min(fewest, lambda === 0 ? 0 : (1 - term) / lambda);
  }
  return fewest;
}

/** A `lambda` at which no send beats nothing on any frame: every frame picks nothing. */
function lambdaOfNothing(frames: readonly CeilingFrame[]): number {
  let lambda = 0;
  for (const frame of frames) {
    for (const send of frame.sends) {
      if (send.bytes > 0) lambda = Math.max(lambda, (send.ssim - frame.staleBound) / send.bytes);
    }
  }
  return lambda * 2 + 1e-12;
}

/**
 * The best mean viewer SSIM of `frames` with `budgetBytes` split evenly between them: each frame's
 * best send within its share, or nothing, counted 0 (the least an older image scores). Every frame
 * gets what the best choice of its own encoding can do with its share, so the ceiling's lead over
 * it bounds what moving bytes between frames can add, whatever decides the moves.
 */
export function evenSplitOf(frames: readonly CeilingFrame[], budgetBytes: number): number {
  if (frames.length === 0) throw new RangeError('no frames');
  const share = budgetBytes / frames.length;
  let sum = 0;
  for (const frame of frames) {
    let best = 0;
    for (const send of frame.sends) if (send.bytes <= share) best = Math.max(best, send.ssim);
    sum += best;
  }
  return sum / frames.length;
}

const BISECTIONS = 80;

/**
 * The ceiling of `frames` within `budgetBytes`: the least Lagrangian dual value over a bisection of
 * `lambda` (each one a valid bound; the dual is convex in `lambda`, least where the picks' bytes
 * cross the budget), as a mean over the frames.
 */
export function ceilingOf(frames: readonly CeilingFrame[], budgetBytes: number): Ceiling {
  if (frames.length === 0) throw new RangeError('no frames');
  let low = 0;
  let high = lambdaOfNothing(frames);
  let within = pickAt(frames, low);
  let least = dualValue(within, budgetBytes);
  if (within.bytes > budgetBytes) {
    within = pickAt(frames, high);
    least = Math.min(least, dualValue(within, budgetBytes));
    for (let step = 0; step < BISECTIONS; step++) {
      const picks = pickAt(frames, (low + high) / 2);
      least = Math.min(least, dualValue(picks, budgetBytes));
      if (picks.bytes > budgetBytes) low = picks.lambda;
      else [high, within] = [picks.lambda, picks];
    }
  }
  return {
    frames: frames.length,
    budgetBytes,
    meanSsim: least / frames.length,
    within,
    leftOutBytes: leftOutBytes(frames, within.lambda),
    evenSplitSsim: evenSplitOf(frames, budgetBytes),
  };
}

/**
 * The ceiling's grid for a frame: the engine's lossy candidates at {@link CEILING_QUALITIES} and
 * every usable scale below 1 (at full scale, as on the screen ladder, a 1280x720 page takes
 * several times a frame's share of the bytes; {@link leftOutBytes} says how many it would need).
 */
export function ceilingCandidates(
  frame: { width: number; height: number },
  allowedFormats: readonly OutputFormat[],
): Candidate[] {
  return enumerateCandidates(frame, allowedFormats).filter(
    (c) => c.scale < 1 && CEILING_QUALITIES.includes(c.quality),
  );
}

/** A frame's true pixels as luma. */
async function truthOf(sequence: Sequence, frame: SequenceFrame): Promise<LumaImage> {
  return lumaFromPixels(await frame.pixels(), sequence.width, sequence.height, 3);
}

/** A frame's encodings: the bytes of each, in the order of its sends after the original. */
interface Encodings {
  readonly sends: readonly SendOption[];
  readonly images: readonly Buffer[];
}

/** What the viewer shows for `image`, a frame `width x height` encoded. */
async function shownOf(image: Buffer, width: number, height: number): Promise<LumaImage> {
  const viewer = createViewer(width, height);
  await viewer.receive({ status: 'success', bytes: image });
  return viewer.shown() as LumaImage;
}

/**
 * Encodes `frame` (decoded as the service decodes it) with every candidate of the grid through the
 * engine's port, all queued at once so that encodes run while earlier ones are measured, and
 * measures each as the viewer sees it (decoded, upscaled bilinearly) against the true pixels. The
 * original bytes, which the service may also send, count as SSIM 1.
 */
async function encodeFrame(
  frame: SequenceFrame,
  reference: QualityReference,
  allowedFormats: readonly OutputFormat[],
): Promise<Encodings & { shown: LumaImage[] }> {
  const decoded = await decodeFrame(frame.data);
  const port = createSharpEnginePort(decoded);
  try {
    const candidates = ceilingCandidates(decoded, allowedFormats);
    const encodes = candidates.map((candidate) => port.encode(candidate));
    const sends: SendOption[] = [{ candidate: 'original', bytes: frame.data.length, ssim: 1 }];
    const images: Buffer[] = [];
    const shown: LumaImage[] = [];
    for (const [k, encoding] of encodes.entries()) {
      const image = port.output(await encoding);
      const luma = await shownOf(image, decoded.width, decoded.height);
      const candidate = describeCandidate(candidates[k] as Candidate);
      sends.push({ candidate, bytes: image.length, ssim: measureAgainst(reference, luma).ssim });
      images.push(image);
      shown.push(luma);
    }
    return { sends, images, shown };
  } finally {
    port.finish();
  }
}

/** Encodings by the frame's bytes: the same frame at another frame rate is encoded once. */
export type EncodingCache = Map<string, Encodings>;

const keyOf = (data: Buffer) => createHash('sha256').update(data).digest('hex');

/** A frame's encodings, from `cache` where it has them, with what the viewer shows of each if new. */
async function encodingsOf(
  frame: SequenceFrame,
  key: string,
  reference: QualityReference,
  options: { allowedFormats: readonly OutputFormat[]; cache: EncodingCache },
): Promise<Encodings & { shown?: LumaImage[] }> {
  const cached = options.cache.get(key);
  if (cached !== undefined) return cached;
  const encoded = await encodeFrame(frame, reference, options.allowedFormats);
  options.cache.set(key, { sends: encoded.sends, images: encoded.images });
  return encoded;
}

/**
 * The best SSIM against `reference` of what the viewer shows of each of a frame's encodings
 * (`shown` where measured already, else decoded from `images`).
 */
async function bestOfEncodings(
  sequence: Sequence,
  reference: QualityReference,
  encodings: Encodings & { shown?: LumaImage[] },
): Promise<number> {
  let best = Number.NEGATIVE_INFINITY;
  for (const [k, image] of encodings.images.entries()) {
    const shown = encodings.shown?.[k] ?? (await shownOf(image, sequence.width, sequence.height));
    best = Math.max(best, measureAgainst(reference, shown).ssim);
  }
  return best;
}

/** The ceiling's options of a sequence, and how far its stale bounds rest on the window. */
export interface CeilingFrames {
  readonly frames: CeilingFrame[];
  /**
   * The least margin, over the frames, by which a frame's stale bound exceeds the SSIM of the true
   * pixels of frames 2 or more back in the window: the encodings of those frames, which the bound
   * does not measure, stay below it unless they beat their true pixels by this much.
   */
  readonly olderMargin: number;
}

/**
 * The ceiling's options of every frame of `sequence`: its sends, and its stale bound, the best of
 * the true pixels of the previous `windowFrames` frames and of every encoding of the previous
 * frame (a blurred or downscaled image of a scrolled page can score above the sharp one).
 */
export async function ceilingFrames(
  sequence: Sequence,
  options: { allowedFormats: readonly OutputFormat[]; windowFrames: number; cache: EncodingCache },
): Promise<CeilingFrames> {
  const recent: LumaImage[] = [];
  let previous: (Encodings & { shown?: LumaImage[] }) | undefined;
  const frames: CeilingFrame[] = [];
  let olderMargin = Number.POSITIVE_INFINITY;
  let previousKey: string | undefined;
  for (const frame of sequence.frames) {
    const key = keyOf(frame.data);
    if (previous !== undefined && key === previousKey) {
      // The previous frame again: it scores exactly 1 as a stale image. The window keeps the
      // distinct frames, so it still covers at least the last second.
      frames.push({ sends: previous.sends, staleBound: 1 });
      continue;
    }
    previousKey = key;
    const truth = await truthOf(sequence, frame);
    const reference = prepareReference(truth);
    try {
      const own = await encodingsOf(frame, key, reference, options);
      const stale = recent.map((older) => measureAgainst(reference, older).ssim);
      // Nothing scores above 1: the previous frame's encodings matter only below it.
      const best = staleBound(stale);
      const last =
        previous === undefined || best >= 1
          ? []
          : [await bestOfEncodings(sequence, reference, previous)];
      const bound = previous === undefined ? 0 : staleBound([best, ...last]);
      if (stale.length > 1)
        olderMargin = Math.min(olderMargin, bound - staleBound(stale.slice(0, -1)));
      frames.push({ sends: own.sends, staleBound: bound });
      previous = own;
    } finally {
      releaseReference(reference);
    }
    recent.push(truth);
    if (recent.length > options.windowFrames) recent.shift();
  }
  return { frames, olderMargin };
}
