/**
 * The floor of a sharp still screen, for `npm run bench:temporal`: the fewest bytes in which any
 * encoding the engine can send shows the static screen's page at a given SSIM, against the largest
 * frame a session's bit bucket lets through under each network profile.
 *
 * The viewer shows one image at a time (the last one sent, whole), so the page becomes sharp only
 * when one frame carries a sharp encoding of it, and the bucket never lets a frame carry more than
 * its burst ({@link BURST_SECONDS} of the usable rate). Where the smallest sharp encoding is larger
 * than that, no server held to the bucket can make the page sharp: a goal there sits below a floor
 * measured in the same run.
 */

import type { OutputFormat } from '../functions/core/contracts/config.ts';
import { enumerateCandidates, type FrameSize } from '../functions/core/engine/candidates.ts';
import {
  type AnyCandidate,
  describeCandidate,
  isScreenCandidate,
  screenCandidates,
} from '../functions/core/engine/screen-candidates.ts';
import { type NetworkSample, usableBytesPerSecond } from '../functions/core/network/budget.ts';
import { BURST_SECONDS } from '../functions/core/temporal/bit-bucket.ts';
import { decodeFrame } from '../functions/platform/imaging/frame-decoder.ts';
import { createSharpEnginePort } from '../functions/platform/imaging/sharp-engine-port.ts';
import type { NetworkProfile } from './compress-support.ts';

/** One encoding of the page, measured as the viewer would see it. */
export interface MeasuredEncoding {
  /** What it is, as `describeCandidate` writes it, e.g. `webp lossless x1`. */
  readonly candidate: string;
  /** Its kind: the lossy format (`jpeg`, `webp`), or the ladder step, e.g. `png palette 16`. */
  readonly kind: string;
  /** Whether it is a step of the screen ladder (else a candidate of the lossy grid). */
  readonly ladder: boolean;
  /** Output size relative to the page. */
  readonly scale: number;
  readonly bytes: number;
  /** The project's SSIM of the decoded encoding (upscaled when smaller) against the page. */
  readonly ssim: number;
}

/** Whether the page can become sharp under one profile. */
export interface ProfileFloor {
  readonly profile: NetworkProfile;
  /** The largest frame the session's bucket lets through: its burst, whole bytes. */
  readonly largestFrameBytes: number;
  /** Whether the smallest sharp encoding fits in {@link largestFrameBytes}. */
  readonly reachable: boolean;
}

/** The floor of a sharp still screen. */
export interface StillFloor {
  /** The SSIM that counts as sharp. */
  readonly threshold: number;
  /** Every encoding measured. */
  readonly encodings: readonly MeasuredEncoding[];
  /** The smallest encoding at or above {@link threshold}; undefined when none reaches it. */
  readonly smallest: MeasuredEncoding | undefined;
  /** One entry per profile, in the order given. */
  readonly profiles: readonly ProfileFloor[];
}

/**
 * The largest frame a session's bit bucket lets through under `network`: a full bucket, the burst
 * of {@link BURST_SECONDS} of the usable rate, rounded down.
 */
export function largestBucketFrame(network: NetworkSample): number {
  return Math.floor(usableBytesPerSecond(network) * BURST_SECONDS);
}

/** The smallest of `encodings` whose SSIM reaches `threshold`; undefined when none does. */
export function smallestAtSsim(
  encodings: readonly MeasuredEncoding[],
  threshold: number,
): MeasuredEncoding | undefined {
  let smallest: MeasuredEncoding | undefined;
  for (const encoding of encodings) {
    if (encoding.ssim < threshold) continue;
    if (smallest === undefined || encoding.bytes < smallest.bytes) smallest = encoding;
  }
  return smallest;
}

/**
 * The floor from measured encodings: under each profile, whether the smallest encoding at
 * `threshold` fits in the largest frame its bucket lets through. Nothing is reachable when no
 * encoding reaches `threshold`.
 */
export function stillFloor(
  encodings: readonly MeasuredEncoding[],
  profiles: readonly NetworkProfile[],
  threshold: number,
): StillFloor {
  const smallest = smallestAtSsim(encodings, threshold);
  return {
    threshold,
    encodings,
    smallest,
    profiles: profiles.map((profile) => {
      const largestFrameBytes = largestBucketFrame(profile);
      const reachable = smallest !== undefined && smallest.bytes <= largestFrameBytes;
      return { profile, largestFrameBytes, reachable };
    }),
  };
}

/**
 * The smallest encoding of each kind whose SSIM reaches `threshold`, smallest first; kinds where
 * none does are left out.
 */
export function smallestByKind(
  encodings: readonly MeasuredEncoding[],
  threshold: number,
): MeasuredEncoding[] {
  const kinds = [...new Set(encodings.map((encoding) => encoding.kind))];
  return kinds
    .flatMap((kind) => {
      const smallest = smallestAtSsim(
        encodings.filter((encoding) => encoding.kind === kind),
        threshold,
      );
      return smallest ? [smallest] : [];
    })
    .sort((a, b) => a.bytes - b.bytes);
}

/** A candidate's kind: its lossy format, or its ladder step (always at scale 1). */
function kindOf(candidate: AnyCandidate): string {
  if (!isScreenCandidate(candidate)) return candidate.format;
  const level = candidate.encoding === 'lossless' ? '' : ` ${candidate.level}`;
  return `${candidate.format} ${candidate.encoding}${level}`;
}

/**
 * Every encoding of a screen frame the floor tries: the screen ladder (lossless WebP, near-lossless
 * WebP, palette PNG) and the whole lossy grid of `allowedFormats` (every quality at every usable
 * scale), with the settings the engine encodes them with.
 */
export function floorCandidates(
  frame: FrameSize,
  allowedFormats: readonly OutputFormat[],
): AnyCandidate[] {
  const ladder = screenCandidates({ ...frame, frameType: 'screen' }, allowedFormats);
  return [...ladder, ...enumerateCandidates(frame, allowedFormats)];
}

/**
 * Encodes the frame `data` (as a client sends it) with each of {@link floorCandidates} through the
 * production port and measures each one, one at a time (the port measures against one reference).
 */
export async function measureFloorEncodings(
  data: Buffer,
  allowedFormats: readonly OutputFormat[],
): Promise<MeasuredEncoding[]> {
  const decoded = await decodeFrame(data);
  const port = createSharpEnginePort(decoded);
  try {
    const measured: MeasuredEncoding[] = [];
    for (const candidate of floorCandidates(decoded, allowedFormats)) {
      const encoded = await port.encode(candidate);
      const { ssim } = await port.measure(encoded);
      measured.push({
        candidate: describeCandidate(candidate),
        kind: kindOf(candidate),
        ladder: isScreenCandidate(candidate),
        scale: candidate.scale,
        bytes: encoded.bytes,
        ssim,
      });
    }
    return measured;
  } finally {
    port.finish();
  }
}

/**
 * The fewest bytes in which a screen sequence's first frame can be sent at the policy's quality
 * floor: where that is more than a frame's budget, the per-frame engine has nothing it may send.
 */
export interface QualityFloor {
  /** The sequence whose first frame was measured. */
  readonly sequence: string;
  /** The policy's quality floor (`min_quality_score`). */
  readonly quality: number;
  /** The frame's size as the client sends it: the ratio cap of its budget rests on it. */
  readonly originalBytes: number;
  /** The smallest encoding at or above {@link quality}; undefined when none reaches it. */
  readonly smallest: MeasuredEncoding | undefined;
  /** The smallest encoding at full scale (the screen ladder's among them), whatever its SSIM. */
  readonly smallestFullScale: MeasuredEncoding | undefined;
}

/** The quality floor of `sequence`'s first frame `data` from its measured `encodings`. */
export function qualityFloor(
  sequence: string,
  data: Buffer,
  encodings: readonly MeasuredEncoding[],
  quality: number,
): QualityFloor {
  return {
    sequence,
    quality,
    originalBytes: data.length,
    smallest: smallestAtSsim(encodings, quality),
    smallestFullScale: smallestAtSsim(
      encodings.filter((encoding) => encoding.scale === 1),
      Number.NEGATIVE_INFINITY,
    ),
  };
}
