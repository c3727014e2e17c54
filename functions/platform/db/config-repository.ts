/**
 * Per-user compression policies (`compression_configs`). Every statement is a parameterised
 * postgres.js tagged template and is filtered by the owner's `user_id`.
 */
import type {
  CompressionConfig,
  CompressionMode,
  OnBudgetMiss,
  OutputFormat,
  StoredConfig,
} from '../../core/contracts/config.ts';
import type { Sql } from './database.ts';

/** A `compression_configs` row as the repositories read it. */
export interface ConfigRow {
  enabled: boolean;
  mode: CompressionMode;
  target_compression_ratio: number;
  max_latency_ms: number;
  min_quality_score: number;
  allowed_formats: OutputFormat[];
  enable_predictive_compression: boolean;
  enable_perceptual_optimization: boolean;
  opt_out: boolean;
  /** Null: the mode's default (migration 0008). */
  on_budget_miss: OnBudgetMiss | null;
  /** Null: the default, `UNCHANGED_SSIM_DEFAULTS` (migration 0009). */
  unchanged_ssim_screen: number | null;
  unchanged_ssim_video: number | null;
  updated_at: Date;
}

/** The columns of a {@link ConfigRow}, for the statements that read one. */
export const CONFIG_COLUMNS = [
  'enabled',
  'mode',
  'target_compression_ratio',
  'max_latency_ms',
  'min_quality_score',
  'allowed_formats',
  'enable_predictive_compression',
  'enable_perceptual_optimization',
  'opt_out',
  'on_budget_miss',
  'unchanged_ssim_screen',
  'unchanged_ssim_video',
  'updated_at',
] as const;

/** {@link CONFIG_COLUMNS} as a select list, each qualified by `alias` when given. */
export function configColumns(alias = ''): string {
  return CONFIG_COLUMNS.map((c) => (alias ? `${alias}.${c}` : c)).join(', ');
}

/** The stored policy of `userId`, or null when the user never stored one. */
export async function getConfig(sql: Sql, userId: string): Promise<StoredConfig | null> {
  const [row] = await sql<ConfigRow[]>`
    select ${sql.unsafe(configColumns())}
    from compression_configs
    where user_id = ${userId}
  `;
  return row ? toStoredConfig(row) : null;
}

/**
 * Stores `config` as the policy of `userId` (insert or replace: a field left out, such as an unset
 * `on_budget_miss` or `unchanged_ssim_screen`, is stored as unset) and returns it with its new
 * `updated_at`. The database CHECK constraints reject values outside the contract's bounds.
 */
export async function putConfig(
  sql: Sql,
  userId: string,
  config: CompressionConfig,
): Promise<StoredConfig> {
  // clock_timestamp(), not now(): two writes in one transaction still get distinct times.
  const [row] = await sql<ConfigRow[]>`
    insert into compression_configs (
      user_id, enabled, mode, target_compression_ratio, max_latency_ms, min_quality_score,
      allowed_formats, enable_predictive_compression, enable_perceptual_optimization, opt_out,
      on_budget_miss, unchanged_ssim_screen, unchanged_ssim_video, updated_at
    ) values (
      ${userId}, ${config.enabled}, ${config.mode}, ${config.target_compression_ratio},
      ${config.max_latency_ms}, ${config.min_quality_score}, ${sql.array(config.allowed_formats)},
      ${config.enable_predictive_compression}, ${config.enable_perceptual_optimization},
      ${config.opt_out}, ${config.on_budget_miss ?? null}, ${config.unchanged_ssim_screen ?? null},
      ${config.unchanged_ssim_video ?? null}, clock_timestamp()
    )
    on conflict (user_id) do update set
      enabled = excluded.enabled,
      mode = excluded.mode,
      target_compression_ratio = excluded.target_compression_ratio,
      max_latency_ms = excluded.max_latency_ms,
      min_quality_score = excluded.min_quality_score,
      allowed_formats = excluded.allowed_formats,
      enable_predictive_compression = excluded.enable_predictive_compression,
      enable_perceptual_optimization = excluded.enable_perceptual_optimization,
      opt_out = excluded.opt_out,
      on_budget_miss = excluded.on_budget_miss,
      unchanged_ssim_screen = excluded.unchanged_ssim_screen,
      unchanged_ssim_video = excluded.unchanged_ssim_video,
      updated_at = excluded.updated_at
    returning ${sql.unsafe(configColumns())}
  `;
  if (!row) throw new Error('Upsert of compression_configs returned no row');
  return toStoredConfig(row);
}

/** The API's view of a stored row. */
export function toStoredConfig(row: ConfigRow): StoredConfig {
  return {
    enabled: row.enabled,
    mode: row.mode,
    target_compression_ratio: row.target_compression_ratio,
    max_latency_ms: row.max_latency_ms,
    min_quality_score: row.min_quality_score,
    allowed_formats: [...row.allowed_formats],
    enable_predictive_compression: row.enable_predictive_compression,
    enable_perceptual_optimization: row.enable_perceptual_optimization,
    opt_out: row.opt_out,
    on_budget_miss: row.on_budget_miss,
    unchanged_ssim_screen: row.unchanged_ssim_screen,
    unchanged_ssim_video: row.unchanged_ssim_video,
    updated_at: row.updated_at.toISOString(),
  };
}
