/**
 * The screen ladder (docs/design.md section 4.4): the exact and near-exact encodings a `screen`
 * frame tries at full scale before the lossy search. Text and UI are flat colours and hard edges,
 * which lossless WebP and palette PNG code far more compactly than a lossy codec does, without
 * blurring the text.
 *
 * The ladder stays outside the learned model's regressions: they regress ln(1 - SSIM), which has no
 * value at SSIM 1, and their time tables are keyed by lossy output format. The model only keeps what
 * each step came to on the session's frames (`observeLadderStep`).
 */
import type { OutputFormat } from '../contracts/config.ts';
import type { Candidate, FrameSize, FrameType } from './candidates.ts';

/** How a ladder candidate encodes: exactly, WebP's near-lossless preprocessing, or a palette. */
export type LadderEncoding = 'lossless' | 'near_lossless' | 'palette';

/** One encoding of the screen ladder, always at scale 1 (text is never downscaled by it). */
export interface ScreenCandidate {
  readonly format: 'webp' | 'png';
  readonly encoding: LadderEncoding;
  /**
   * The encoding's setting: 100 for lossless; WebP's near-lossless level (lower preprocesses more);
   * the most palette colours.
   */
  readonly level: number;
  readonly scale: 1;
  /** Output width in pixels (the input's). */
  readonly width: number;
  /** Output height in pixels (the input's). */
  readonly height: number;
}

/** Any candidate the engine encodes: a lossy grid candidate or a ladder candidate. */
export type AnyCandidate = Candidate | ScreenCandidate;

/** Near-lossless levels tried, least preprocessing (closest to exact) first. */
export const NEAR_LOSSLESS_LEVELS: readonly number[] = Object.freeze([80, 60]);

/**
 * Palette sizes tried, most colours (most faithful) first. The PNG encoder stores 1, 2, 4 or 8 bits
 * per pixel, so any size between 17 and 256 colours codes like 256: one step per bit depth worth
 * trying.
 */
export const PALETTE_COLOURS: readonly number[] = Object.freeze([256, 16]);

/** Whether a candidate is one of the screen ladder's. */
export function isScreenCandidate(candidate: AnyCandidate): candidate is ScreenCandidate {
  return 'encoding' in candidate;
}

/**
 * The ladder of a frame, in the order it is tried; the engine stops at the first encoding that fits
 * the budget and meets the floor, so each step is the most faithful of what is left.
 *
 * - Lossless WebP first: on screen content it is the smallest of the ladder and as quick as a lossy
 *   WebP encode, and it needs no measurement (it decodes to the input exactly).
 * - Near-lossless WebP next: it is smaller than lossless only where the content has noise or
 *   gradients (a photo or a video inside the shared screen), and it must be measured.
 * - Palette PNG last: on flat content it is larger and slower than WebP's lossless coding, but it
 *   is the only ladder step when a policy does not allow WebP.
 *
 * Video frames get no ladder: their content is what lossy coding is for. PNG is an output format
 * only here, so the policy's `allowed_formats` (JPEG, WebP, AVIF) does not restrict it.
 */
export function screenCandidates(
  frame: FrameSize & { readonly frameType: FrameType },
  allowedFormats: readonly OutputFormat[],
): ScreenCandidate[] {
  if (frame.frameType !== 'screen') return [];
  const size = { scale: 1, width: frame.width, height: frame.height } as const;
  const ladder: ScreenCandidate[] = [];
  if (allowedFormats.includes('webp')) {
    ladder.push({ format: 'webp', encoding: 'lossless', level: 100, ...size });
    for (const level of NEAR_LOSSLESS_LEVELS) {
      ladder.push({ format: 'webp', encoding: 'near_lossless', level, ...size });
    }
  }
  for (const level of PALETTE_COLOURS) {
    ladder.push({ format: 'png', encoding: 'palette', level, ...size });
  }
  return ladder;
}

/**
 * Expected encode time of a ladder encoding relative to lossless WebP of the same frame, until the
 * content's own time is known: near-lossless WebP preprocesses the image before coding it
 * losslessly, and preprocesses more at a lower level; palette PNG quantises before it deflates,
 * which costs more for more colours and less than WebP's lossless coding for few.
 */
export function ladderTimeFactor(candidate: ScreenCandidate): number {
  switch (candidate.encoding) {
    case 'lossless':
      return 1;
    case 'near_lossless':
      return 1 + (100 - candidate.level) / 20;
    case 'palette':
      return candidate.level > 16 ? 1.5 : 0.75;
  }
}

/** A stable key of a ladder candidate, e.g. `webp-lossless@100x1`. */
export function screenCandidateKey(candidate: ScreenCandidate): string {
  return `${candidate.format}-${candidate.encoding}@${candidate.level}x${candidate.scale}`;
}

/**
 * A short description of any candidate, e.g. `webp q40 x0.25`, `webp lossless x1`,
 * `webp near_lossless 60 x1` or `png palette 16 x1`.
 */
export function describeCandidate(candidate: AnyCandidate): string {
  if (!isScreenCandidate(candidate)) {
    return `${candidate.format} q${candidate.quality} x${candidate.scale}`;
  }
  const level = candidate.encoding === 'lossless' ? '' : ` ${candidate.level}`;
  return `${candidate.format} ${candidate.encoding}${level} x${candidate.scale}`;
}

/**
 * The encoder quality a response reports for a candidate (1..100): the lossy quality, or the
 * near-lossless level; null for lossless and palette encodings, which have no quality setting.
 */
export function reportedQuality(candidate: AnyCandidate): number | null {
  if (!isScreenCandidate(candidate)) return candidate.quality;
  return candidate.encoding === 'near_lossless' ? candidate.level : null;
}
