/**
 * What an image sent for an edit of a screen shows where the edit changed it (docs/design.md
 * section 4.5b): the whole image's SSIM says too little of a typed word, so an edit counts as sent
 * sharp only once its region meets the threshold too.
 */
import { isScreenCandidate } from '../core/engine/screen-candidates.ts';
import type { MeasuredEncoding } from '../core/engine/selection.ts';
import type { Region } from '../core/quality/luma.ts';
import type { EditQuality } from '../core/temporal/session-state.ts';
import type { SharpEnginePort } from '../platform/imaging/sharp-engine-port.ts';

/** An edit's region measured on what was sent, and how long that took. */
export interface EditMeasurement {
  readonly quality: EditQuality;
  readonly measureMs: number;
}

/**
 * The SSIM over `region` of `output`, what goes out for the frame: 1 for the original or a lossless
 * encoding, else measured; undefined when there is no region or nothing goes out.
 */
export async function measureEdit(
  port: SharpEnginePort,
  region: Region | undefined,
  output: Buffer,
  chosen: MeasuredEncoding | undefined,
): Promise<EditMeasurement | undefined> {
  if (region === undefined || output.length === 0) return undefined;
  const exact =
    chosen === undefined ||
    (isScreenCandidate(chosen.candidate) && chosen.candidate.encoding === 'lossless');
  if (exact) return { quality: { region, ssim: 1 }, measureMs: 0 };
  const started = performance.now();
  const ssim = await port.regionSsim(output, region);
  return { quality: { region, ssim }, measureMs: performance.now() - started };
}
