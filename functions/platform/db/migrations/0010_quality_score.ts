import type { Migration } from './index.ts';

/**
 * `frame_metrics.quality_score`: the engine's SSIM of each frame, which the policy's floors apply
 * to, beside `ssim`, now Wang's reference value (docs/design.md sections 4.9 and 5.1). The two
 * differ where the engine's analysis factor is not Wang's (short sides of 257 to 383 px, 640x360);
 * the `ssim_under_floor` alert compares `min_quality_score` with the first, and rows from before it
 * (NULL) with their `ssim`, which then was the same measurement.
 *
 * A nullable column without a default is a catalog-only change: nothing is rewritten or scanned.
 * The table grants of 0007 cover the new column. Frozen like 0001 to 0009.
 */
export const migration: Migration = {
  id: '0010_quality_score',
  sql: /* sql */ `
alter table frame_metrics add column quality_score double precision;
`,
};
