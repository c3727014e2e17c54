/**
 * The temporal plan of a frame (docs/design.md section 4.5b): what the session's bit bucket lets it
 * send and what it does about the image its viewer already has. Pure but for the viewer comparison,
 * which the caller's port measures.
 */
import type { LadderMemory } from '../engine/ladder-memory.ts';
import type { Measurement } from '../engine/port.ts';
import { framesPerSecond, type NetworkSample, usableBytesPerSecond } from '../network/budget.ts';
import {
  advance,
  type BucketState,
  burstBytes,
  frameClockUs,
  frameTarget,
  isFull,
  newBucket,
} from './bit-bucket.ts';
import type { BucketStep, TemporalFrame, TemporalState, ViewerImage } from './session-state.ts';
import { changedShare, changedTiles, TILE_SIZE } from './tile-signature.ts';
import {
  type BankState,
  type ContentChange,
  LOCAL_EDIT_SHARE,
  planForViewer,
  type ViewerPlan,
} from './viewer-plan.ts';

/** What {@link planTemporal} reads. */
export interface TemporalInput {
  /** The session's state; null when it could not be read (no bucket, no viewer: frames alone). */
  readonly state: TemporalState | null;
  readonly frame: TemporalFrame;
  /** The session's network; without it there is no bucket (the ratio cap alone applies). */
  readonly network: NetworkSample | undefined;
  /** The policy's `unchanged` threshold for the frame's type; null: never `unchanged`. */
  readonly threshold: number | null;
  /** The policy's quality floor. */
  readonly floor: number;
  /** Measures an encoded image against the frame (the sharp port's `compare`). */
  compare(image: Buffer): Promise<Measurement>;
}

/** What a frame does, temporally. */
export interface TemporalPlan {
  readonly plan: ViewerPlan;
  /** The viewer's image measured against this frame; absent when not compared. */
  readonly viewer?: Measurement;
  readonly bucket?: BucketStep;
  /** The frame's network budget from the bucket (`frameTarget`); absent without a bucket. */
  readonly networkBytes?: number;
  /**
   * A screen changed in more than {@link NEW_SCREEN_SHARE} of its tiles (a scroll, another window):
   * content in motion, which the screen ladder's lossless encodings would not show for long.
   */
  readonly moving?: boolean;
  /**
   * For a refinement, what the screen ladder's encodings of the viewer's content came to
   * (`ViewerSource.ladder`): the same pixels, or all but a small edit of them.
   */
  readonly ladder?: LadderMemory;
  /**
   * For a refinement of an edited screen, the tiles the edit changed (with those of an earlier edit
   * of the viewer's image still blurred): what is sent is measured there too (`ViewerSource.edit`).
   */
  readonly editTiles?: readonly number[];
}

/** The viewer's image against the frame, and whether the frame's content is new to the viewer. */
interface ViewerComparison {
  readonly measurement?: Measurement;
  readonly content: ContentChange;
  /** The tiles an edit changed, for an edit or a blurred one of the same content. */
  readonly editTiles?: readonly number[];
}

/**
 * A screen frame whose tiles changed over more than this share is new content: it is not compared
 * with the viewer's image.
 */
export const NEW_SCREEN_SHARE = 0.5;

const NOT_COMPARED: ViewerComparison = { content: { kind: 'unknown' } };
const SAME: ContentChange = { kind: 'same' };

/**
 * Compares the viewer's image with the frame, when the policy has a threshold and the sizes match.
 * The same frame again (same bytes, or a screen frame with the same pixels) keeps the measurement
 * the image was sent with; anything else is measured.
 */
async function compareViewer(input: TemporalInput): Promise<ViewerComparison> {
  const viewer = input.state?.viewer;
  const { frame } = input;
  if (input.threshold === null || !viewer) return NOT_COMPARED;
  if (viewer.width !== frame.width || viewer.height !== frame.height) return NOT_COMPARED;
  const stored = { measurement: { ssim: viewer.ssim, psnrDb: viewer.psnrDb, measureMs: 0 } };
  const blurred = blurredEdit(viewer, input.threshold);
  const same: ViewerComparison = blurred
    ? { ...stored, content: { kind: 'same', editGain: blurred.gain }, editTiles: blurred.tiles }
    : { ...stored, content: SAME };
  if (viewer.digest === frame.digest()) return same;
  const tiles = frame.tiles && viewer.tiles !== undefined ? frame.tiles() : undefined;
  if (tiles !== undefined && tiles === viewer.tiles) return same;
  const share =
    tiles !== undefined && viewer.tiles !== undefined
      ? changedShare(tiles, viewer.tiles)
      : undefined;
  // Most of the screen is new (a scroll, another window): the viewer's image cannot be close to
  // it, and measuring it would take the time this frame's encodes need.
  if (share !== undefined && share > NEW_SCREEN_SHARE)
    return { content: { kind: 'changed', share } };
  // A viewer image that is gone or does not decode is as good as none: the frame is planned fresh.
  const bytes = await viewer.image();
  const measurement = bytes && (await input.compare(bytes).catch(() => undefined));
  if (share === undefined || tiles === undefined || viewer.tiles === undefined) {
    return { measurement, content: { kind: 'unknown' } };
  }
  const content = { kind: 'changed', share } as const;
  if (share > LOCAL_EDIT_SHARE) return { measurement, content };
  const edited = changedTiles(tiles, viewer.tiles);
  const editTiles = [...new Set([...edited, ...(blurred?.tiles ?? [])])].sort((a, b) => a - b);
  return { measurement, content, editTiles };
}

/**
 * The tiles of the viewer's edit while its image is below `threshold` on one of them, and what the
 * whole image's SSIM must gain for that tile to meet it: SSIM is a mean over the image, to which a
 * tile counts by its share of the pixels.
 */
function blurredEdit(
  viewer: ViewerImage,
  threshold: number,
): { tiles: readonly number[]; gain: number } | undefined {
  const { edit } = viewer;
  if (edit === undefined || edit.ssim >= threshold) return undefined;
  const share = (TILE_SIZE * TILE_SIZE) / (viewer.width * viewer.height);
  return { tiles: edit.tiles, gain: share * (threshold - edit.ssim) };
}

/** The session's bucket at a frame's clock (a new one for a session's first frame). */
function bucketAt(
  previous: BucketState | undefined,
  network: NetworkSample,
  timestampUs: number | undefined,
): BucketStep {
  const bytesPerSecond = usableBytesPerSecond(network);
  const fps = framesPerSecond(network);
  const clockUs = frameClockUs(previous, timestampUs, fps);
  const state = previous
    ? advance(previous, bytesPerSecond, clockUs)
    : newBucket(bytesPerSecond, fps, clockUs);
  return { clockUs, bytesPerSecond, fps, state };
}

function bucketStep(input: TemporalInput): BucketStep | undefined {
  if (!input.network || input.state === null) return undefined;
  return bucketAt(input.state.bucket, input.network, input.frame.timestampUs);
}

/**
 * The policy's threshold, raised to the target an edit left on the same content unless the edit's
 * region was measured on the image sent for it: that measurement (`ViewerSource.edit`) says
 * whether the edit is sharp, where the target only estimates it from the whole image's SSIM.
 */
function threshold(input: TemporalInput, comparison: ViewerComparison): number | null {
  const viewer = input.state?.viewer;
  const target = viewer?.edit === undefined ? viewer?.target : undefined;
  if (input.threshold === null || target === undefined || comparison.content.kind !== 'same') {
    return input.threshold;
  }
  return Math.max(input.threshold, target);
}

/** Whether the bucket is full, and whether the viewer's image was refined as far as it allows. */
function bankState(bucket: BucketStep | undefined, stalledAt: number | undefined): BankState {
  if (!bucket) return { full: false, stalled: false };
  const full = isFull(bucket.state, bucket.bytesPerSecond);
  const burst = burstBytes(bucket.bytesPerSecond);
  return { full, stalled: stalledAt !== undefined && burst <= stalledAt };
}

/**
 * Plans a frame: compares it with the viewer's image (when the policy has a threshold), and takes
 * its budget from the bucket. A refinement may spend all the bucket allows; other frames spread what
 * is banked over a few frames (`frameTarget`).
 */
export async function planTemporal(input: TemporalInput): Promise<TemporalPlan> {
  const comparison = await compareViewer(input);
  const viewer = comparison.measurement;
  const bucket = bucketStep(input);
  const bank = bankState(bucket, input.state?.viewer?.stalledAt);
  const plan = planForViewer(
    viewer?.ssim,
    threshold(input, comparison),
    input.floor,
    comparison.content,
    bank,
  );
  const { content } = comparison;
  const moving = content.kind === 'changed' && content.share > NEW_SCREEN_SHARE;
  const refine = plan.kind === 'refine';
  const ladder = refine ? input.state?.viewer?.ladder : undefined;
  const editTiles = refine ? comparison.editTiles : undefined;
  const planned = { plan, viewer, moving, ladder, editTiles };
  if (!bucket) return planned;
  const networkBytes = frameTarget(bucket.state, bucket.bytesPerSecond, bucket.fps, refine);
  return { ...planned, bucket, networkBytes };
}

/**
 * The budget the session's bucket gives its next frame, planned before the frame arrives: one frame
 * interval after the session's last frame, as a frame that is not a refinement (`frameTarget`); the
 * even share of the rate before the session's first frame.
 */
export function nextFrameBudget(bucket: BucketState | undefined, network: NetworkSample): number {
  const step = bucketAt(bucket, network, undefined);
  return frameTarget(step.state, step.bytesPerSecond, step.fps, false);
}
