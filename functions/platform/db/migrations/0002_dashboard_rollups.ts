import type { Migration } from './index.ts';

/**
 * Hourly rollups for the dashboard, kept current by the statement that stores each frame
 * (`recordFrame`), so the statistics routes read a few rows per hour instead of every frame:
 *
 * - `frame_metrics_hourly`: per owner, UTC hour and session, the additive totals of the frames
 *   (counts, byte sums, SSIM and latency sums, frames and SSIM sums per quality band).
 * - `frame_latency_hourly`: per owner and UTC hour, a log-bucketed histogram of total latency
 *   (`aic_latency_bucket`), from which p50/p95 are read.
 *
 * Hours are `date_bin('1 hour', recorded_at, epoch)`, independent of the session time zone. A BRIN
 * index on `frame_metrics.recorded_at` lets the alert evaluator read "the last minutes of every
 * user" without a third B-tree on the hot insert path. Existing frames are rolled up here.
 *
 * Frozen like 0001: the band thresholds and bucket constants are literals;
 * functions/core/dashboard/latency-histogram.ts and contracts/dashboard.ts mirror them and
 * test/integration/db/dashboard-rollup.test.ts proves that they agree.
 */
export const migration: Migration = {
  id: '0002_dashboard_rollups',
  sql: /* sql */ `
-- Not STRICT: a STRICT SQL function around a CASE is not inlined, and a call through the SQL
-- function executor per raw frame costs more than the whole dashboard query.
create function aic_latency_bucket(ms double precision) returns smallint
  language sql immutable parallel safe
  as $$
    select case
      when ms is null then null
      when ms < 0.1 then 0
      else least(280, 1 + floor(ln(ms / 0.1) / ln(1.05)))::smallint
    end
  $$;

comment on function aic_latency_bucket(double precision) is
  'Latency histogram bucket: 0 below 0.1 ms, k in [0.1 * 1.05^(k-1), 0.1 * 1.05^k) ms, 280 open-ended.';

create function aic_hour(at timestamptz) returns timestamptz
  language sql immutable strict parallel safe
  as $$ select date_bin('1 hour', at, timestamptz '1970-01-01 00:00:00+00') $$;

create table frame_metrics_hourly (
  user_id text not null,
  hour timestamptz not null,
  session_id uuid not null,
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
  primary key (user_id, hour, session_id)
);

create table frame_latency_hourly (
  user_id text not null,
  hour timestamptz not null,
  bucket smallint not null check (bucket between 0 and 280),
  frames bigint not null check (frames > 0),
  primary key (user_id, hour, bucket)
);

create index frame_metrics_recorded_brin_idx on frame_metrics using brin (recorded_at);

insert into frame_metrics_hourly
select user_id, aic_hour(recorded_at), session_id, count(*),
  count(*) filter (where fallback), count(*) filter (where within_budget),
  sum(original_bytes), sum(compressed_bytes), count(ssim), coalesce(sum(ssim), 0), sum(total_ms),
  count(*) filter (where ssim >= 0.95), coalesce(sum(ssim) filter (where ssim >= 0.95), 0),
  count(*) filter (where ssim >= 0.90 and ssim < 0.95),
  coalesce(sum(ssim) filter (where ssim >= 0.90 and ssim < 0.95), 0),
  count(*) filter (where ssim >= 0.80 and ssim < 0.90),
  coalesce(sum(ssim) filter (where ssim >= 0.80 and ssim < 0.90), 0),
  count(*) filter (where ssim < 0.80), coalesce(sum(ssim) filter (where ssim < 0.80), 0)
from frame_metrics
group by 1, 2, 3;

insert into frame_latency_hourly
select user_id, aic_hour(recorded_at), aic_latency_bucket(total_ms), count(*)
from frame_metrics
group by 1, 2, 3;
`,
};
