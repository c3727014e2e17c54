import { type CompressionConfig, DEFAULT_CONFIG } from '../core/contracts/config.ts';
import {
  bandwidthSavings,
  performanceSummary,
  qualityDistribution,
} from '../core/dashboard/statistics.ts';
import { NotFoundError } from '../core/errors.ts';
import { createFunctionHandler } from '../http/function-handler.ts';
import { listAlerts, resolveAlert } from '../platform/db/alerts-repository.ts';
import { getConfig, putConfig } from '../platform/db/config-repository.ts';
import {
  recentFrameMetrics,
  windowLatencyHistogram,
  windowTotals,
} from '../platform/db/dashboard-repository.ts';
import type { Sql } from '../platform/db/database.ts';
import { sessionOwnedBy } from '../platform/db/session-repository.ts';
import { getRuntime } from '../platform/runtime.ts';

const HOUR_S = 3600;
const DAY_S = 86_400;

const saveConfig = async ({ userId, body }: { userId: string; body: CompressionConfig }) => {
  const { db } = await getRuntime();
  return { body: await putConfig(db.sql, userId, body) };
};

/** A session filter must name one of the caller's sessions: anything else is 404, never empty. */
async function requireOwnSession(sql: Sql, sessionId: string | undefined, userId: string) {
  if (sessionId !== undefined && !(await sessionOwnedBy(sql, sessionId, userId))) {
    throw new NotFoundError('Session not found');
  }
}

/** Lambda entry of the dashboard function: the caller's policy, metrics, statistics and alerts. */
export const handler = createFunctionHandler('dashboard', {
  getConfig: async ({ userId }) => {
    const { db } = await getRuntime();
    return { body: (await getConfig(db.sql, userId)) ?? { ...DEFAULT_CONFIG, updated_at: null } };
  },
  putConfig: saveConfig,
  postConfig: saveConfig,
  listMetrics: async ({ userId, query }) => {
    const { db } = await getRuntime();
    await requireOwnSession(db.sql, query.session_id, userId);
    const metrics = await recentFrameMetrics(db.sql, userId, {
      sessionId: query.session_id,
      limit: query.limit,
    });
    return { body: { metrics, count: metrics.length } };
  },
  getPerformanceSummary: async ({ userId, query }) => {
    const { db } = await getRuntime();
    const seconds = query.hours * HOUR_S;
    const [totals, latency] = await Promise.all([
      windowTotals(db.sql, userId, seconds),
      windowLatencyHistogram(db.sql, userId, seconds),
    ]);
    return { body: performanceSummary(query.hours, totals, latency) };
  },
  getBandwidthSavings: async ({ userId, query }) => {
    const { db, settings } = await getRuntime();
    await requireOwnSession(db.sql, query.session_id, userId);
    const totals = await windowTotals(db.sql, userId, query.days * DAY_S, query.session_id);
    return {
      body: bandwidthSavings(
        query.days,
        query.session_id ?? null,
        totals,
        settings.DASHBOARD_COST_PER_GB_USD,
      ),
    };
  },
  getQualityDistribution: async ({ userId, query }) => {
    const { db } = await getRuntime();
    return {
      body: qualityDistribution(query.days, await windowTotals(db.sql, userId, query.days * DAY_S)),
    };
  },
  listAlerts: async ({ userId, query }) => {
    const { db } = await getRuntime();
    const alerts = await listAlerts(db.sql, userId, query);
    return { body: { alerts, count: alerts.length } };
  },
  resolveAlert: async ({ userId, path }) => {
    const { db } = await getRuntime();
    const alert = await resolveAlert(db.sql, userId, path.alert_id);
    if (!alert) throw new NotFoundError('Alert not found');
    return { body: alert };
  },
});
