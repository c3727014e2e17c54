import type { Migration } from './index.ts';

/**
 * What keeps a user's footprint bounded (docs/design.md section 5):
 *
 * - `session_quotas`: per user, the UTC day (`aic_utc_day`) and how many sessions the user has
 *   started on it. The statement that claims a new session takes one unit of it in the same
 *   statement, by an upsert whose row lock serialises a user's concurrent claims, so no
 *   interleaving of them passes the cap. Filled here with the sessions started today.
 * - `frame_metrics_user_hourly`: the totals of `frame_metrics_hourly` without the session, one row
 *   per owner and UTC hour, so the dashboard's windows read at most one row per hour whatever
 *   number of sessions the user had. Filled here from `frame_metrics_hourly`.
 * - `frame_metrics_hourly (session_id, hour)`: the one session's hours, for a session filter.
 *
 * Frozen like 0001 and 0002.
 */
export const migration: Migration = {
  id: '0003_bounded_sessions',
  sql: /* sql */ `
create function aic_utc_day(at timestamptz) returns date
  language sql immutable strict parallel safe
  as $$ select (at at time zone 'UTC')::date $$;

create table session_quotas (
  user_id text primary key check (length(user_id) between 1 and 256),
  day date not null,
  sessions integer not null check (sessions > 0)
);

insert into session_quotas (user_id, day, sessions)
select user_id, aic_utc_day(now()), count(*)
from sessions
where aic_utc_day(started_at) = aic_utc_day(now())
group by user_id;

create table frame_metrics_user_hourly (
  user_id text not null,
  hour timestamptz not null,
  frames bigint not null check (frames > 0),
  fallbacks bigint not null,
  within_budget bigint not null,
  bytes_in bigint not null,
  bytes_out bigint not null,
  ssim_frames bigint not null,
  ssim_sum double precision not null,
  latency_ms_sum double precision not null,
  excellent_frames bigint not null,
  excellent_ssim_sum double precision not null,
  good_frames bigint not null,
  good_ssim_sum double precision not null,
  fair_frames bigint not null,
  fair_ssim_sum double precision not null,
  poor_frames bigint not null,
  poor_ssim_sum double precision not null,
  primary key (user_id, hour)
);

insert into frame_metrics_user_hourly
select user_id, hour, sum(frames), sum(fallbacks), sum(within_budget), sum(bytes_in),
  sum(bytes_out), sum(ssim_frames), sum(ssim_sum), sum(latency_ms_sum), sum(excellent_frames),
  sum(excellent_ssim_sum), sum(good_frames), sum(good_ssim_sum), sum(fair_frames),
  sum(fair_ssim_sum), sum(poor_frames), sum(poor_ssim_sum)
from frame_metrics_hourly
group by user_id, hour;

create index frame_metrics_hourly_session_hour_idx on frame_metrics_hourly (session_id, hour);
`,
};
