/**
 * Threshold alerts (`alerts`). The user-facing statements are parameterised and filtered by the
 * owner; the evaluator's read spans every user with recent frames (it is the system's scheduled
 * job, not a caller) and groups by owner, so each alert is computed from its owner's frames only.
 */
import type { z } from 'zod';
import type {
  Alert,
  AlertSeverity,
  AlertType,
  alertsQuerySchema,
} from '../../core/contracts/dashboard.ts';
import type { AlertCandidate } from '../../core/dashboard/alert-rules.ts';
import type { Sql } from './database.ts';

type AlertsQuery = z.output<typeof alertsQuerySchema>;

interface AlertRow {
  id: string;
  type: AlertType;
  severity: AlertSeverity;
  message: string;
  observed_value: number;
  threshold: number;
  created_at: Date;
  resolved_at: Date | null;
}

function toAlert(row: AlertRow): Alert {
  return {
    alert_id: row.id,
    type: row.type,
    severity: row.severity,
    message: row.message,
    observed_value: row.observed_value,
    threshold: row.threshold,
    created_at: row.created_at.toISOString(),
    resolved_at: row.resolved_at?.toISOString() ?? null,
  };
}

/** `userId`'s alerts, newest first, filtered as the query says. */
export async function listAlerts(sql: Sql, userId: string, query: AlertsQuery): Promise<Alert[]> {
  const rows = await sql<AlertRow[]>`
    select id, type, severity, message, observed_value, threshold, created_at, resolved_at
    from alerts
    where user_id = ${userId}
      ${query.resolved === undefined ? sql`` : query.resolved ? sql`and resolved_at is not null` : sql`and resolved_at is null`}
      ${query.severity === undefined ? sql`` : sql`and severity = ${query.severity}`}
    order by created_at desc, id
    limit ${query.limit}
  `;
  return rows.map(toAlert);
}

/**
 * Resolves `alertId` if it is `userId`'s; resolving a resolved alert changes nothing (idempotent).
 * Returns null when there is no such alert of this user.
 */
export async function resolveAlert(
  sql: Sql,
  userId: string,
  alertId: string,
): Promise<Alert | null> {
  const [row] = await sql<AlertRow[]>`
    update alerts set resolved_at = coalesce(resolved_at, greatest(now(), created_at))
    where id = ${alertId} and user_id = ${userId}
    returning id, type, severity, message, observed_value, threshold, created_at, resolved_at
  `;
  return row ? toAlert(row) : null;
}

/** One user's figures over the evaluation window and the thresholds of their policy. */
export interface RecentUserStats {
  userId: string;
  frames: number;
  p95LatencyMs: number;
  meanSsim: number | null;
  fallbacks: number;
  /** From the stored policy; null when the user stored none (the default policy applies). */
  maxLatencyMs: number | null;
  minQualityScore: number | null;
}

/** A page of {@link recentStatsByUser}: the users after `after` (in id order), at most `limit`. */
export interface UserPage {
  after: string | undefined;
  limit: number;
}

/**
 * Per user with frames in the last `seconds`, one page of users at a time in id order: frame
 * count, exact p95 of total latency, mean SSIM as the floors measure it (`quality_score`; a row
 * from before it, its `ssim`), fallbacks, and their stored thresholds. A page reads its users'
 * frames through `frame_metrics (user_id, recorded_at)` in user order and stops at `limit` users,
 * so paging through every user reads each window row once.
 */
export async function recentStatsByUser(
  sql: Sql,
  seconds: number,
  page: UserPage,
): Promise<RecentUserStats[]> {
  return sql<RecentUserStats[]>`
    select s.*, c.max_latency_ms as "maxLatencyMs", c.min_quality_score as "minQualityScore"
    from (
      select f.user_id as "userId", count(*)::bigint as frames,
        percentile_cont(0.95) within group (order by f.total_ms) as "p95LatencyMs",
        avg(coalesce(f.quality_score, f.ssim)) as "meanSsim",
        count(*) filter (where f.fallback)::bigint as fallbacks
      from frame_metrics f
      where f.recorded_at >= now() - ${seconds} * interval '1 second'
        ${page.after === undefined ? sql`` : sql`and f.user_id > ${page.after}`}
      group by f.user_id
      order by f.user_id
      limit ${page.limit}
    ) as s
    left join compression_configs c on c.user_id = s."userId"
    order by s."userId"
  `;
}

/** Alerts one insert carries: six parameters each, far under Postgres' 65,535 per statement. */
const ALERTS_PER_INSERT = 1000;

/**
 * Opens each alert unless its user already has an open one of that type (the partial unique
 * index `alerts_one_open_per_type_idx`), {@link ALERTS_PER_INSERT} to a statement; returns how
 * many were opened.
 */
export async function openAlerts(
  sql: Sql,
  alerts: readonly (AlertCandidate & { userId: string })[],
): Promise<number> {
  let opened = 0;
  for (let i = 0; i < alerts.length; i += ALERTS_PER_INSERT) {
    opened += await insertAlerts(sql, alerts.slice(i, i + ALERTS_PER_INSERT));
  }
  return opened;
}

async function insertAlerts(
  sql: Sql,
  alerts: readonly (AlertCandidate & { userId: string })[],
): Promise<number> {
  if (alerts.length === 0) return 0;
  const rows = alerts.map((alert) => ({
    user_id: alert.userId,
    type: alert.type,
    severity: alert.severity,
    message: alert.message,
    observed_value: alert.observedValue,
    threshold: alert.threshold,
  }));
  const opened = await sql`
    insert into alerts ${sql(rows, 'user_id', 'type', 'severity', 'message', 'observed_value', 'threshold')}
    on conflict (user_id, type) where resolved_at is null do nothing
    returning id
  `;
  return opened.length;
}
