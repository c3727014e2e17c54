import type { Migration } from './index.ts';

/**
 * A session is its owner's (the tenant's, docs/design.md section 2.5) by key: `sessions` is keyed
 * by `(user_id, session_id)`, so two tenants that choose the same UUID have two sessions, and
 * nobody can take a session another tenant uses by learning its id. A frame's `event_id` (0005)
 * and a network sample's `Idempotency-Key` are unique per session of their owner.
 *
 * 0005's second BRIN index on `frame_metrics.recorded_at` duplicated 0002's and is dropped.
 *
 * The unique `(session_id, user_id)` of 0001 stays: `network_samples` references it. Room is left
 * in each page of `sessions` (fillfactor 80) so that the metrics consumer's updates of a session's
 * totals, which touch no indexed column, are HOT updates that write no index entry.
 *
 * Frozen like 0001 to 0005.
 */
export const migration: Migration = {
  id: '0006_tenant_sessions',
  sql: /* sql */ `
alter table sessions drop constraint sessions_pkey;
alter table sessions add primary key (user_id, session_id);

alter table sessions set (fillfactor = 80);

drop index frame_metrics_session_event_key;
create unique index frame_metrics_owner_session_event_key
  on frame_metrics (user_id, session_id, event_id);
drop index frame_metrics_recorded_brin;

drop index network_samples_session_idempotency_key;
create unique index network_samples_owner_session_idempotency_key
  on network_samples (user_id, session_id, idempotency_key) where idempotency_key is not null;
`,
};
