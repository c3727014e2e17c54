import type { Migration } from './index.ts';

/**
 * The first schema (docs/design.md section 5). Every table carries its owner (`user_id`) so each query
 * can filter by it, and the hot dashboard reads are served by `(owner or session, time desc)`
 * indexes over millions of frame rows.
 *
 * Applied migrations are frozen: the CHECK bounds are literals, not imported from
 * functions/core/contracts/config.ts, and test/integration/db/constraints.test.ts proves that they
 * still match CONFIG_BOUNDS. A change of bounds is a new migration.
 */
export const migration: Migration = {
  id: '0001_initial',
  sql: /* sql */ `
create function aic_is_format_set(formats text[]) returns boolean
  language sql immutable strict parallel safe
  as $$
    select array_ndims(formats) = 1
      and cardinality(formats) between 1 and 3
      and formats <@ array['jpeg', 'webp', 'avif']::text[]
      and (select count(distinct f) from unnest(formats) as f) = cardinality(formats)
  $$;

comment on function aic_is_format_set(text[]) is
  'True for a non-empty array of distinct values among jpeg, webp and avif.';

create table compression_configs (
  user_id text primary key check (length(user_id) between 1 and 256),
  enabled boolean not null,
  mode text not null check (mode in ('off', 'conservative', 'adaptive', 'aggressive')),
  target_compression_ratio double precision not null
    check (target_compression_ratio between 0.1 and 0.95),
  max_latency_ms integer not null check (max_latency_ms between 5 and 100),
  min_quality_score double precision not null check (min_quality_score between 0.5 and 1),
  allowed_formats text[] not null check (aic_is_format_set(allowed_formats)),
  enable_predictive_compression boolean not null,
  enable_perceptual_optimization boolean not null,
  opt_out boolean not null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

create table sessions (
  session_id uuid primary key,
  user_id text not null check (length(user_id) between 1 and 256),
  started_at timestamptz not null default now(),
  last_seen_at timestamptz not null default now(),
  frames_total bigint not null default 0 check (frames_total >= 0),
  fallbacks_total bigint not null default 0 check (fallbacks_total >= 0),
  bytes_in_total bigint not null default 0 check (bytes_in_total >= 0),
  bytes_out_total bigint not null default 0 check (bytes_out_total >= 0),
  ssim_sum double precision not null default 0,
  latency_ms_sum double precision not null default 0 check (latency_ms_sum >= 0),
  check (fallbacks_total <= frames_total),
  -- Lets child rows reference (session, owner) so a sample can never name another user's session.
  unique (session_id, user_id)
);

create index sessions_user_last_seen_idx on sessions (user_id, last_seen_at desc);

create table network_samples (
  id bigint generated always as identity primary key,
  session_id uuid not null,
  user_id text not null,
  recorded_at timestamptz not null default now(),
  available_bandwidth_kbps double precision not null check (available_bandwidth_kbps >= 0),
  rtt_ms double precision not null check (rtt_ms >= 0),
  packet_loss_percent double precision not null check (packet_loss_percent between 0 and 100),
  jitter_ms double precision not null check (jitter_ms >= 0),
  fps double precision not null check (fps > 0),
  connection_type text,
  estimated_bandwidth_kbps double precision not null check (estimated_bandwidth_kbps >= 0),
  network_condition double precision not null check (network_condition between 0 and 1),
  foreign key (session_id, user_id) references sessions (session_id, user_id) on delete cascade
);

create index network_samples_session_recorded_idx
  on network_samples (session_id, recorded_at desc);

create table frame_metrics (
  id bigint generated always as identity primary key,
  session_id uuid not null,
  user_id text not null,
  recorded_at timestamptz not null default now(),
  frame_number bigint check (frame_number >= 0),
  frame_type text check (frame_type in ('video', 'screen')),
  mode text not null check (mode in ('off', 'conservative', 'adaptive', 'aggressive')),
  format text not null,
  quality integer check (quality between 0 and 100),
  width integer not null check (width > 0),
  height integer not null check (height > 0),
  original_bytes integer not null check (original_bytes >= 0),
  compressed_bytes integer not null check (compressed_bytes >= 0),
  compression_ratio double precision not null,
  ssim double precision,
  psnr_db double precision,
  budget_bytes integer not null check (budget_bytes >= 0),
  within_budget boolean not null,
  encode_attempts integer not null default 0 check (encode_attempts >= 0),
  decode_ms double precision not null check (decode_ms >= 0),
  encode_ms double precision not null check (encode_ms >= 0),
  metrics_ms double precision not null check (metrics_ms >= 0),
  total_ms double precision not null check (total_ms >= 0),
  fallback boolean not null default false,
  fallback_reason text
);

create index frame_metrics_user_recorded_idx on frame_metrics (user_id, recorded_at desc);
create index frame_metrics_session_recorded_idx on frame_metrics (session_id, recorded_at desc);

create table alerts (
  id uuid primary key default gen_random_uuid(),
  user_id text not null check (length(user_id) between 1 and 256),
  type text not null check (length(type) between 1 and 64),
  severity text not null check (length(severity) between 1 and 32),
  message text not null,
  observed_value double precision not null,
  threshold double precision not null,
  created_at timestamptz not null default now(),
  resolved_at timestamptz,
  check (resolved_at >= created_at)
);

-- One open alert per user and type; resolved ones accumulate as history.
create unique index alerts_one_open_per_type_idx on alerts (user_id, type)
  where resolved_at is null;
create index alerts_user_created_idx on alerts (user_id, created_at desc);
`,
};
