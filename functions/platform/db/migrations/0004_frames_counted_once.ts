import type { Migration } from './index.ts';

/**
 * A frame or a network sample is stored once however often a client sends it (docs/design.md
 * section 5.3):
 *
 * - `frame_metrics (session_id, frame_number)` is unique for frames that carry a number, and
 *   `(session_id, idempotency_key)` for frames and samples named by an `Idempotency-Key` instead.
 *   The statements that store them insert with `ON CONFLICT DO NOTHING` and add to the totals and
 *   rollups only what they inserted, so a repeat, concurrent or later, changes nothing.
 * - `aic_session_taken()`: the frame statement calls it when it stored a frame for a session that
 *   another user claimed meanwhile; it aborts the statement as a serialization failure, which the
 *   repositories retry (the retry then finds the session taken and stores nothing).
 *
 * Repeats stored before this migration keep their rows, since the totals and rollups counted them,
 * but lose their number, so that the unique index can be built over the rest.
 *
 * Frozen like 0001 to 0003.
 */
export const migration: Migration = {
  id: '0004_frames_counted_once',
  sql: /* sql */ `
update frame_metrics as f set frame_number = null
where f.frame_number is not null
  and exists (
    select 1 from frame_metrics as d
    where d.session_id = f.session_id and d.frame_number = f.frame_number and d.id < f.id
  );

alter table frame_metrics
  add column idempotency_key text check (length(idempotency_key) between 1 and 255);

create unique index frame_metrics_session_frame_number_key
  on frame_metrics (session_id, frame_number) where frame_number is not null;

create unique index frame_metrics_session_idempotency_key
  on frame_metrics (session_id, idempotency_key) where idempotency_key is not null;

alter table network_samples
  add column idempotency_key text check (length(idempotency_key) between 1 and 255);

create unique index network_samples_session_idempotency_key
  on network_samples (session_id, idempotency_key) where idempotency_key is not null;

create function aic_session_taken() returns boolean
  language plpgsql volatile
  as $$
  begin
    raise exception 'the session was claimed by another user during this statement'
      using errcode = '40001';
  end
  $$;

comment on function aic_session_taken() is
  'Aborts a frame statement whose session another user claimed meanwhile (retried by the caller).';
`,
};
