/**
 * What an image sent for an edit of a screen shows where the edit changed it (docs/design.md
 * section 4.5b): the whole image's SSIM says too little of a typed word, so an edit counts as sent
 * sharp only once every tile it changed meets the threshold too.
 */
import { isScreenCandidate } from '../core/engine/screen-candidates.ts';
import type { MeasuredEncoding } from '../core/engine/selection.ts';
import type { EditQuality } from '../core/temporal/session-state.ts';
import { tileRegion } from '../core/temporal/tile-signature.ts';
import type { SharpEnginePort } from '../platform/imaging/sharp-engine-port.ts';

/** An edit's tiles measured on what was sent, and how long that took. */
export interface EditMeasurement {
  readonly quality: EditQuality;
  readonly measureMs: number;
}

/**
 * The least SSIM over one of `tiles` of `output`, what goes out for the frame: 1 for the original
 * or a lossless encoding, else measured; undefined when there are no tiles or nothing goes out.
 */
export async function measureEdit(
  port: SharpEnginePort,
  tiles: readonly number[] | undefined,
  output: Buffer,
  chosen: MeasuredEncoding | undefined,
): Promise<EditMeasurement | undefined> {
  if (tiles === undefined || tiles.length === 0 || output.length === 0) return undefined;
  const exact =
    chosen === undefined ||
    (isScreenCandidate(chosen.candidate) && chosen.candidate.encoding === 'lossless');
  if (exact) return { quality: { tiles, ssim: 1 }, measureMs: 0 };
  const started = performance.now();
  const { width, height } = port.reference().luma;
  const regions = tiles.map((tile) => tileRegion(tile, width, height));
  const ssim = await port.leastRegionSsim(output, regions);
  return { quality: { tiles, ssim }, measureMs: performance.now() - started };
}
