/**
 * The feature vector of the engine model's two regressions (see `model.ts`):
 *
 *   x = [1, is_jpeg, is_webp, is_avif, u, ln s, v * is_downscaled, v * is_webp]
 *   u = q/100 - 0.6, v = q/100 - 0.2 (zero at the grid's lowest quality)
 */
import type { Candidate } from './candidates.ts';

/** Number of regression features. */
export const MODEL_FEATURES = 8;

/** Quality (q/100) at which the quality feature `u` is zero: the middle of the grid. */
const QUALITY_CENTRE = 0.6;

/** Quality (q/100) at which the slope interactions vanish: the lowest of the grid. */
export const SLOPE_ANCHOR = 0.2;

/** What the model reads of a candidate: its encoder settings, not its pixel size. */
export type CandidateSettings = Pick<Candidate, 'format' | 'quality' | 'scale'>;

/** The regressions' feature vector of a candidate, {@link MODEL_FEATURES} long. */
export function features(candidate: CandidateSettings): number[] {
  const webp = candidate.format === 'webp' ? 1 : 0;
  const v = candidate.quality / 100 - SLOPE_ANCHOR;
  return [
    1,
    candidate.format === 'jpeg' ? 1 : 0,
    webp,
    candidate.format === 'avif' ? 1 : 0,
    candidate.quality / 100 - QUALITY_CENTRE,
    Math.log(candidate.scale),
    candidate.scale < 1 ? v : 0,
    webp * v,
  ];
}
