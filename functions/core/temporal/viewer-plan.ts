/**
 * What a frame does about the image its viewer already has (docs/design.md section 4.5b). The
 * session keeps the last image it sent; a frame measured against it is:
 * - `unchanged` when the viewer's image reaches the policy's threshold: nothing is sent;
 * - `refine` when the content stayed the same but the viewer's image is below the threshold, or a
 *   screen changed a little: the frame may spend every banked byte, and only on an encoding that
 *   beats the viewer's image by a step (or reaches the threshold), so that refinements converge;
 * - `fresh` otherwise (no threshold, nothing sent yet, or new content): a frame like any other.
 */

/**
 * The least SSIM a refinement must add to the viewer's image (unless the threshold is nearer), so
 * that a static screen reaches its threshold in a bounded number of refinements.
 */
export const REFINE_MIN_STEP = 0.002;

/**
 * The latency budget of a refinement, in ms: the contract's largest, since the viewer already shows
 * the content (all of it, or all but a small edit) and the frames after a refinement are answered
 * `unchanged` in a few ms. A lossless 720p screen takes longer than a frame interval to encode.
 */
export const REFINE_LATENCY_MS = 100;

/** The plan of one frame. */
export type ViewerPlan =
  | { readonly kind: 'unchanged' }
  /**
   * `target`: for an edit, the SSIM its image must reach before the content counts as sharp (an
   * edit sent below it at first, from a full bank, is refined towards it afterwards).
   */
  | { readonly kind: 'refine'; readonly floor: number; readonly target?: number }
  /** Refined as far as a full bucket allows: nothing is tried until the image or network changes. */
  | { readonly kind: 'hold' }
  | { readonly kind: 'fresh' };

/** What the session's bucket says about waiting. */
export interface BankState {
  /** The bucket is full: waiting lets no larger frame fit. */
  readonly full: boolean;
  /** A refinement of the viewer's image found nothing better with a bucket this full already. */
  readonly stalled: boolean;
}

const NOT_FULL: BankState = { full: false, stalled: false };

/**
 * What is known of the frame's content against what the viewer's image was made from: the `same`
 * (the same bytes, or a screen frame with the same pixels), `changed` (a screen frame whose pixels
 * differ in `share` of its tiles), or `unknown` (a video frame with other bytes: only its SSIM
 * tells).
 */
export type ContentChange =
  /**
   * `editGain`: an edit of it was sent but is not yet sharp on a tile it changed; what the whole
   * image's SSIM must gain for that tile to reach the threshold, were the rest unchanged.
   */
  | { readonly kind: 'same'; readonly editGain?: number }
  | { readonly kind: 'changed'; readonly share: number }
  | { readonly kind: 'unknown' };

/** A screen change over at most this share of its tiles is an edit (a typed word, a menu). */
export const LOCAL_EDIT_SHARE = 0.25;

/**
 * The plan for a frame whose SSIM against the viewer's image is `viewerSsim` (undefined when the
 * viewer has no image of the same size), under the policy's `threshold` (null: never `unchanged`)
 * and quality `floor`:
 *
 * | content | viewer ≥ threshold | floor ≤ viewer < threshold | viewer < floor |
 * |---|---|---|---|
 * | `same` | unchanged (refine while its edit is blurred) | refine | refine |
 * | `unknown` | unchanged | refine | fresh |
 * | `changed`, an edit | refine for the edit | refine for the edit | refine for the edit |
 * | `changed`, more | refine at the threshold | fresh | fresh |
 *
 * A changed screen is never `unchanged`: a typed word moves the global SSIM too little to tell. An
 * edit is sent so that its tiles alone meet the threshold, were the rest exact: a global SSIM of at
 * least `1 - share x (1 - threshold)`; once the bank is full (waiting buys nothing), at the policy's
 * floor, so that the change is shown at the best that fits rather than never, and its image keeps
 * that target as its threshold for the refinements that follow. A refinement that found nothing
 * better with a bucket as full already is a `hold`: nothing is tried again. A screen that changed
 * more (a scroll) is a frame like any other unless the viewer's image still meets the threshold. A
 * refinement's floor is halfway from the viewer's SSIM to the threshold, at least
 * {@link REFINE_MIN_STEP} above the viewer's SSIM, never above the threshold nor below the policy's
 * floor: an accepted refinement moves the viewer at least one step, or onto the threshold. An
 * image that meets the threshold but was sent for an edit with a tile still below it (`editGain`:
 * the rest of the image was not exact, so the global SSIM overstated the edit) is refined on, each
 * refinement gaining at least what that tile lacks, until it meets it too.
 */
export function planForViewer(
  viewerSsim: number | undefined,
  threshold: number | null,
  floor: number,
  content: ContentChange,
  bank: BankState = NOT_FULL,
): ViewerPlan {
  if (threshold === null || viewerSsim === undefined) return { kind: 'fresh' };
  if (content.kind === 'changed') {
    const edit = content.share <= LOCAL_EDIT_SHARE;
    if (!edit && viewerSsim < threshold) return { kind: 'fresh' };
    const target = edit ? 1 - content.share * (1 - threshold) : threshold;
    return { kind: 'refine', floor: bank.full ? floor : Math.max(floor, target), target };
  }
  const editGain = content.kind === 'same' ? content.editGain : undefined;
  if (viewerSsim >= threshold && editGain === undefined) return { kind: 'unchanged' };
  if (viewerSsim < floor && content.kind === 'unknown') return { kind: 'fresh' };
  if (bank.stalled) return { kind: 'hold' };
  if (viewerSsim >= threshold && editGain !== undefined) {
    return { kind: 'refine', floor: Math.max(floor, Math.min(1, viewerSsim + editGain)) };
  }
  const step = Math.max(REFINE_MIN_STEP, (threshold - viewerSsim) / 2);
  return { kind: 'refine', floor: Math.max(floor, Math.min(threshold, viewerSsim + step)) };
}
