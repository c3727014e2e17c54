import type { Migration } from './index.ts';

/**
 * Frames arrive as events from the metrics stream (docs/design.md section 5.8), in batches, and
 * the stream may deliver one twice:
 *
 * - `frame_metrics.event_id` names each frame within its session (`f:<frame_number>`,
 *   `k:<Idempotency-Key>` or `e:<uuid>`), unique per session: the consumer inserts a batch with
 *   `ON CONFLICT DO NOTHING` and adds to the totals and rollups only what it inserted. Rows stored
 *   before get the id their number or key gives them (`r:<id>` for a frame with neither), and the
 *   two unique indexes of 0004 on frames give way to this one. A row inserted without an id (a
 *   seed, a backfill) gets one of its own.
 * - Per-frame rows are kept for `FRAME_ROWS_RETENTION_HOURS` only; the BRIN index on
 *   `recorded_at` lets the pruning delete by age without a second B-tree on every insert.
 *
 * Frozen like 0001 to 0004.
 */
export const migration: Migration = {
  id: '0005_frame_events',
  sql: /* sql */ `
alter table frame_metrics add column event_id text check (length(event_id) between 3 and 300);

update frame_metrics set event_id = case
  when frame_number is not null then 'f:' || frame_number
  when idempotency_key is not null then 'k:' || idempotency_key
  else 'r:' || id end;

alter table frame_metrics alter column event_id set not null,
  alter column event_id set default 'r:' || gen_random_uuid();

create unique index frame_metrics_session_event_key on frame_metrics (session_id, event_id);

drop index frame_metrics_session_frame_number_key;
drop index frame_metrics_session_idempotency_key;

create index frame_metrics_recorded_brin on frame_metrics using brin (recorded_at);
`,
};
