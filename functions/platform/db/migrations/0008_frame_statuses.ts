import type { Migration } from './index.ts';

/**
 * What became of a frame, and what a policy asks for when nothing fits the budget
 * (docs/design.md sections 2.6 and 5.1):
 *
 * - `compression_configs.on_budget_miss`: `drop`, `smallest` or `original`; NULL is the mode's
 *   default.
 * - `frame_metrics.status` (`success`, `fallback` or `dropped`) and `drop_reason`. Rows stored
 *   before keep NULL, and readers take `coalesce(status, case when fallback then 'fallback' else
 *   'success' end)`: raw rows are pruned within days, so no backfill scans the table.
 * - `dropped` in both hourly rollups and `dropped_total` in `sessions`, the counts of dropped
 *   frames beside `fallbacks`. A dropped frame is still one of `frames` (every answered frame).
 *
 * Every change is safe on a live table: nullable columns or constant defaults are catalog-only
 * changes (no rewrite), and each CHECK is added `NOT VALID`. A CHECK declared with its column would
 * scan every existing row under the ALTER's exclusive lock, blocking the consumer's inserts, to
 * prove what is already known: every existing row holds NULL or the default, which the check
 * accepts. A `NOT VALID` check still holds for every row written from now on. The new columns are
 * covered by the table grants of 0007, so `aic_app` reads and writes them.
 *
 * Frozen like 0001 to 0007.
 */
export const migration: Migration = {
  id: '0008_frame_statuses',
  sql: /* sql */ `
alter table compression_configs add column on_budget_miss text;
alter table compression_configs add constraint compression_configs_on_budget_miss_check
  check (on_budget_miss in ('drop', 'smallest', 'original')) not valid;

alter table frame_metrics add column status text, add column drop_reason text;
alter table frame_metrics
  add constraint frame_metrics_status_check
    check (status in ('success', 'fallback', 'dropped')) not valid,
  add constraint frame_metrics_drop_reason_check
    check (length(drop_reason) between 1 and 200) not valid;

alter table frame_metrics_hourly add column dropped bigint not null default 0;
alter table frame_metrics_user_hourly add column dropped bigint not null default 0;

alter table sessions add column dropped_total bigint not null default 0;
alter table sessions
  add constraint sessions_dropped_total_check
    check (dropped_total >= 0 and dropped_total <= frames_total) not valid;
`,
};
