/**
 * What carries from one frame of a session to the next (docs/design.md section 4.5b): its bit
 * bucket and the image its viewer has, and how a frame changes them.
 */

import type { FrameType } from '../engine/candidates.ts';
import type { LadderMemory } from '../engine/ladder-memory.ts';
import { advance, type BucketState, markMissed, newBucket, spend } from './bit-bucket.ts';

/**
 * The largest image kept as the viewer's: an original sent on fallback may be megabytes, and a
 * session whose viewer has none is only compared again after its next, smaller, frame.
 */
export const MAX_VIEWER_BYTES = 2 * 1024 * 1024;

/** What the viewer's image was made from, and how close it came. */
export interface ViewerSource {
  /** Size of the frame it was sent for (the upright input, not the encoding). */
  readonly width: number;
  readonly height: number;
  /** Digest of that frame's bytes as received: a frame with the same digest is the same frame. */
  readonly digest: string;
  /** SSIM (the engine's) and PSNR of the image against that frame. */
  readonly ssim: number;
  readonly psnrDb: number;
  /** Wang's SSIM of the image against that frame, where his analysis factor is not the engine's. */
  readonly reportedSsim?: number;
  /** That frame's tile signature (`tile-signature.ts`), for screen frames. */
  readonly tiles?: string;
  /**
   * The burst, in bytes, of a full bucket with which a refinement of this image found nothing
   * better: refinements wait until the bucket can hold more (the network improved).
   */
  readonly stalledAt?: number;
  /** The SSIM this image's content must reach to be answered `unchanged`, when above the policy's. */
  readonly target?: number;
  /**
   * What the screen ladder's encodings of this content, or of the content a refinement since
   * worked on, came to (`ladder-memory.ts`).
   */
  readonly ladder?: LadderMemory;
  /** For an image sent for an edit of a screen: the {@link EditQuality} of the tiles it changed. */
  readonly edit?: EditQuality;
}

/** Which tiles an edit changed on a screen, and the least SSIM an image has over one of them. */
export interface EditQuality {
  /** Tile indices (`tile-signature.ts`), in ascending order. */
  readonly tiles: readonly number[];
  readonly ssim: number;
}

/**
 * The image a session's viewer has: what it was made from, and the bytes last sent. The bytes are
 * only needed when a frame must be measured against them (not for the same frame again), so a
 * store may fetch them on demand; undefined when they can no longer be had.
 */
export interface ViewerImage extends ViewerSource {
  readonly image: () => Promise<Buffer | undefined>;
}

/** What carries from one frame of a session to the next: `{}` for a new session. */
export interface TemporalState {
  readonly bucket?: BucketState;
  readonly viewer?: ViewerImage;
}

/** The frame as the temporal rules see it. */
export interface TemporalFrame {
  readonly width: number;
  readonly height: number;
  readonly frameType: FrameType;
  /** The client's capture time, µs: the bucket's clock (else one frame interval per frame). */
  readonly timestampUs?: number;
  /**
   * Digest of the frame's bytes as received (see {@link ViewerSource.digest}), computed when asked
   * for: only a policy with an `unchanged` threshold needs it.
   */
  readonly digest: () => string;
  /** The frame's tile signature, computed when asked for (screen frames only). */
  readonly tiles?: () => string;
}

/** Where the frame stands on its session's bucket. */
export interface BucketStep {
  readonly clockUs: number;
  readonly bytesPerSecond: number;
  readonly fps: number;
  /** The bucket advanced to the frame's clock. */
  readonly state: BucketState;
}

/** What a frame changed in its session's state: where it stood on the bucket and what it sent. */
export interface TemporalChange {
  readonly bucket?: Omit<BucketStep, 'state'>;
  /** The bytes sent (empty when nothing was). */
  readonly sent: Buffer;
  readonly frame: Pick<TemporalFrame, 'width' | 'height' | 'digest' | 'tiles'>;
  /** The quality of what was sent against the frame (the frame itself when it was the original). */
  readonly quality: {
    readonly ssim: number;
    readonly psnrDb: number;
    /** Wang's SSIM, where it is not `ssim` (docs/design.md section 4.9). */
    readonly reportedSsim?: number;
  };
  /** Keep what was sent as the viewer's image (the policy has a threshold for the frame's type). */
  readonly keepViewer: boolean;
  /** A refinement with a full bucket found nothing better: its burst, in bytes. */
  readonly stalledAt?: number;
  /** What an edit must reach (`ViewerSource.target`), kept with the image sent for it. */
  readonly target?: number;
  /**
   * What the ladder knows after the frame, of the content the viewer's image is kept for next
   * (`ViewerSource.ladder`); undefined: what the viewer's image had, unchanged.
   */
  readonly ladder?: LadderMemory;
  /** What was sent for an edit, on the tiles the edit changed (`ViewerSource.edit`). */
  readonly edit?: EditQuality;
  /** The frame was dropped for its budget: the next may spend all the bucket holds. */
  readonly missed?: boolean;
}

/** Whether the viewer's image was made from this frame's content (its bytes, or its pixels). */
function madeFrom(viewer: ViewerImage, frame: TemporalChange['frame']): boolean {
  if (viewer.digest === frame.digest()) return true;
  return viewer.tiles !== undefined && viewer.tiles === frame.tiles?.();
}

/** The target a refinement of the same content keeps from the image it replaces. */
function inheritedTarget(
  viewer: ViewerImage | undefined,
  frame: TemporalChange['frame'],
): number | undefined {
  return viewer && madeFrom(viewer, frame) ? viewer.target : undefined;
}

/**
 * The session's state after a frame: `change` applied to `previous`. Applying it to a newer state
 * than the one the frame was planned on (another frame of the session was stored meanwhile) counts
 * both frames' bytes, so a write that lost a race is applied again rather than lost.
 */
export function applyChange(previous: TemporalState, change: TemporalChange): TemporalState {
  const { bucket: step, sent, frame } = change;
  let bucket = previous.bucket;
  if (step) {
    const advanced = bucket
      ? advance(bucket, step.bytesPerSecond, step.clockUs)
      : newBucket(step.bytesPerSecond, step.fps, step.clockUs);
    bucket = spend(advanced, step.bytesPerSecond, sent.length);
    if (change.missed && sent.length === 0) bucket = markMissed(bucket);
  }
  let viewer = change.keepViewer ? previous.viewer : undefined;
  if (viewer && change.stalledAt !== undefined && sent.length === 0 && madeFrom(viewer, frame)) {
    viewer = { ...viewer, stalledAt: change.stalledAt };
  }
  if (viewer && change.ladder !== undefined && sent.length === 0) {
    viewer = { ...viewer, ladder: change.ladder };
  }
  if (change.keepViewer && sent.length > 0) {
    viewer =
      sent.length <= MAX_VIEWER_BYTES
        ? {
            image: () => Promise.resolve(sent),
            width: frame.width,
            height: frame.height,
            digest: frame.digest(),
            ssim: change.quality.ssim,
            psnrDb: change.quality.psnrDb,
            reportedSsim: change.quality.reportedSsim,
            tiles: frame.tiles?.(),
            target: change.target ?? inheritedTarget(previous.viewer, frame),
            ladder: change.ladder,
            edit: change.edit,
          }
        : undefined;
  }
  return { bucket, viewer };
}
