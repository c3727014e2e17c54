/**
 * What a frame does about the image its viewer already has (docs/design.md section 4.6). The
 * session keeps the last image it sent; a frame measured against it is:
 * - `unchanged` when the viewer's image reaches the policy's threshold: nothing is sent;
 * - `refine` when the viewer's image is below the threshold but meets the quality floor (the
 *   content stayed the same, or changed a little): the frame may spend every banked byte, and only
 *   on an encoding that beats the viewer's image by a step, so that refinements converge;
 * - `fresh` otherwise (no threshold, nothing sent yet, or new content): a frame like any other.
 */

/**
 * The least SSIM a refinement must add to the viewer's image (unless the threshold is nearer), so
 * that a static screen reaches its threshold in a bounded number of refinements.
 */
export const REFINE_MIN_STEP = 0.002;

/** The longest a refinement may take, in ms: the contract's largest latency budget. */
export const MAX_REFINE_LATENCY_MS = 100;

/**
 * The latency budget of a refinement: up to one frame interval, and never less than the policy's.
 * The viewer already shows the content at an acceptable quality, so nothing new waits on the
 * refinement; taking longer than the interval would delay the stream's next frame.
 */
export function refineLatencyMs(policyMs: number, fps: number): number {
  return Math.max(policyMs, Math.min(MAX_REFINE_LATENCY_MS, 1000 / fps));
}

/** The plan of one frame. */
export type ViewerPlan =
  | { readonly kind: 'unchanged' }
  | { readonly kind: 'refine'; readonly floor: number }
  | { readonly kind: 'fresh' };

/**
 * The plan for a frame whose SSIM against the viewer's image is `viewerSsim` (undefined when the
 * viewer has no image of the same size), under the policy's `threshold` (null: never `unchanged`)
 * and quality `floor`. A frame whose content `changed` (a screen with new pixels somewhere: a typed
 * word moves the global SSIM too little to tell) is never `unchanged`: it is sent at the threshold.
 *
 * A refinement's floor is halfway from the viewer's SSIM to the threshold, at least
 * {@link REFINE_MIN_STEP} above the viewer's SSIM, and never above the threshold: an accepted
 * refinement moves the viewer at least one step, or onto the threshold.
 */
export function planForViewer(
  viewerSsim: number | undefined,
  threshold: number | null,
  floor: number,
  changed = false,
): ViewerPlan {
  if (threshold === null || viewerSsim === undefined) return { kind: 'fresh' };
  if (viewerSsim >= threshold) {
    return changed ? { kind: 'refine', floor: Math.max(floor, threshold) } : { kind: 'unchanged' };
  }
  if (viewerSsim < floor) return { kind: 'fresh' };
  const step = Math.max(REFINE_MIN_STEP, (threshold - viewerSsim) / 2);
  return { kind: 'refine', floor: Math.min(threshold, Math.max(floor, viewerSsim + step)) };
}
