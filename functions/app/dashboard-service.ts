/**
 * The dashboard's use cases (docs/design.md section 2): a user's compression policy, recent frame
 * metrics, statistics over a window and alerts. Every read is the caller's own: a session filter
 * naming someone else's session is 404, never an empty answer.
 */
import type { z } from 'zod';
import {
  type CompressionConfig,
  DEFAULT_CONFIG,
  type StoredConfig,
} from '../core/contracts/config.ts';
import type {
  Alert,
  alertsQuerySchema,
  BandwidthSavings,
  FrameMetric,
  PerformanceSummary,
  QualityDistribution,
} from '../core/contracts/dashboard.ts';
import {
  bandwidthSavings,
  performanceSummary,
  qualityDistribution,
} from '../core/dashboard/statistics.ts';
import { NotFoundError } from '../core/errors.ts';
import { listAlerts, resolveAlert } from '../platform/db/alerts-repository.ts';
import { getConfig, putConfig } from '../platform/db/config-repository.ts';
import {
  recentFrameMetrics,
  windowLatencyHistogram,
  windowTotals,
} from '../platform/db/dashboard-repository.ts';
import { sessionOwnedBy } from '../platform/db/session-repository.ts';
import type { Runtime } from '../platform/runtime.ts';

const HOUR_S = 3600;
const DAY_S = 86_400;

/** What the dashboard needs of the runtime. */
export type DashboardRuntime = Pick<Runtime, 'db' | 'settings'>;

/** The filter of the alert list, as the contract validates it. */
export type AlertsQuery = z.output<typeof alertsQuerySchema>;

/** A session filter must name one of the caller's sessions: anything else is 404, never empty. */
async function requireOwnSession(runtime: DashboardRuntime, userId: string, sessionId?: string) {
  if (sessionId !== undefined && !(await sessionOwnedBy(runtime.db.sql, sessionId, userId))) {
    throw new NotFoundError('Session not found');
  }
}

/** The user's stored policy, or the defaults (`updated_at: null`) when none is stored. */
export async function getPolicy(runtime: DashboardRuntime, userId: string) {
  return (await getConfig(runtime.db.sql, userId)) ?? { ...DEFAULT_CONFIG, updated_at: null };
}

/** Stores the user's whole policy and returns it as stored. */
export function savePolicy(
  runtime: DashboardRuntime,
  userId: string,
  config: CompressionConfig,
): Promise<StoredConfig> {
  return putConfig(runtime.db.sql, userId, config);
}

/** The user's most recent frames, newest first, optionally of one of their sessions. */
export async function recentMetrics(
  runtime: DashboardRuntime,
  userId: string,
  filter: { sessionId?: string; limit: number },
): Promise<FrameMetric[]> {
  await requireOwnSession(runtime, userId, filter.sessionId);
  return recentFrameMetrics(runtime.db.sql, userId, filter);
}

/** Frames, savings, latency percentiles and quality over the last `hours`. */
export async function summarisePerformance(
  runtime: DashboardRuntime,
  userId: string,
  hours: number,
): Promise<PerformanceSummary> {
  const seconds = hours * HOUR_S;
  const [totals, latency] = await Promise.all([
    windowTotals(
      runtime.db.sql,
      userId,
      seconds,
      undefined,
      runtime.settings.FRAME_ROWS_RETENTION_HOURS,
    ),
    windowLatencyHistogram(
      runtime.db.sql,
      userId,
      seconds,
      runtime.settings.FRAME_ROWS_RETENTION_HOURS,
    ),
  ]);
  return performanceSummary(hours, totals, latency);
}

/** Bytes saved over the last `days`, with their egress cost, optionally of one session. */
export async function summariseSavings(
  runtime: DashboardRuntime,
  userId: string,
  days: number,
  sessionId?: string,
): Promise<BandwidthSavings> {
  await requireOwnSession(runtime, userId, sessionId);
  const totals = await windowTotals(
    runtime.db.sql,
    userId,
    days * DAY_S,
    sessionId,
    runtime.settings.FRAME_ROWS_RETENTION_HOURS,
  );
  return bandwidthSavings(
    days,
    sessionId ?? null,
    totals,
    runtime.settings.DASHBOARD_COST_PER_GB_USD,
  );
}

/** Frames per SSIM band over the last `days`. */
export async function summariseQuality(
  runtime: DashboardRuntime,
  userId: string,
  days: number,
): Promise<QualityDistribution> {
  return qualityDistribution(
    days,
    await windowTotals(
      runtime.db.sql,
      userId,
      days * DAY_S,
      undefined,
      runtime.settings.FRAME_ROWS_RETENTION_HOURS,
    ),
  );
}

/** The user's alerts, newest first, filtered as asked. */
export function userAlerts(
  runtime: DashboardRuntime,
  userId: string,
  query: AlertsQuery,
): Promise<Alert[]> {
  return listAlerts(runtime.db.sql, userId, query);
}

/** Marks one of the user's alerts resolved; 404 when it is not theirs or does not exist. */
export async function resolveUserAlert(
  runtime: DashboardRuntime,
  userId: string,
  alertId: string,
): Promise<Alert> {
  const alert = await resolveAlert(runtime.db.sql, userId, alertId);
  if (!alert) throw new NotFoundError('Alert not found');
  return alert;
}
