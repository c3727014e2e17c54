import type { Migration } from './index.ts';

/**
 * Frames answered `unchanged`, and the policy thresholds that decide them (docs/design.md sections
 * 2.6 and 5.1):
 *
 * - `compression_configs.unchanged_ssim_screen` and `unchanged_ssim_video`: the SSIM, 0.9 to 1
 *   (`CONFIG_BOUNDS.unchanged_ssim`), against the image the viewer already has at which a screen
 *   or a video frame is answered `unchanged`; NULL is the default (0.99 for screen, never for
 *   video).
 * - `frame_metrics.status` also takes `unchanged`: its CHECK is dropped and added again with the
 *   new value.
 * - `unchanged` in both hourly rollups and `unchanged_total` in `sessions`, the counts of frames
 *   answered `unchanged` beside `dropped`. An unchanged frame is still one of `frames` (every
 *   answered frame), with no bytes out.
 *
 * As in 0008, nothing rewrites a table or scans one under the ALTER's exclusive lock: the new
 * columns are nullable or have a constant default (catalog-only changes), and every CHECK is added
 * `NOT VALID`, so it holds for every row written from now on while the existing rows, which hold
 * NULL, the default or a status the old check allowed, are not scanned. Dropping the old status
 * check first leaves no moment in which a row could be written unchecked: the migration is one
 * transaction. The table grants of 0007 cover the new columns.
 *
 * Frozen like 0001 to 0008.
 */
export const migration: Migration = {
  id: '0009_unchanged_frames',
  sql: /* sql */ `
alter table compression_configs
  add column unchanged_ssim_screen double precision,
  add column unchanged_ssim_video double precision;
alter table compression_configs
  add constraint compression_configs_unchanged_ssim_screen_check
    check (unchanged_ssim_screen between 0.9 and 1) not valid,
  add constraint compression_configs_unchanged_ssim_video_check
    check (unchanged_ssim_video between 0.9 and 1) not valid;

alter table frame_metrics
  drop constraint frame_metrics_status_check,
  add constraint frame_metrics_status_check
    check (status in ('success', 'fallback', 'dropped', 'unchanged')) not valid;

alter table frame_metrics_hourly add column unchanged bigint not null default 0;
alter table frame_metrics_user_hourly add column unchanged bigint not null default 0;

alter table sessions add column unchanged_total bigint not null default 0;
alter table sessions
  add constraint sessions_unchanged_total_check
    check (unchanged_total >= 0 and unchanged_total <= frames_total) not valid;
`,
};
