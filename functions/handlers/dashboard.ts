import {
  getPolicy,
  recentMetrics,
  resolveUserAlert,
  savePolicy,
  summarisePerformance,
  summariseQuality,
  summariseSavings,
  userAlerts,
} from '../app/dashboard-service.ts';
import type { CompressionConfig } from '../core/contracts/config.ts';
import { createFunctionHandler } from '../http/function-handler.ts';
import { getRuntime } from '../platform/runtime.ts';

const saveConfig = async ({ userId, body }: { userId: string; body: CompressionConfig }) => ({
  body: await savePolicy(await getRuntime(), userId, body),
});

/** Lambda entry of the dashboard function: the caller's policy, metrics, statistics and alerts. */
export const handler = createFunctionHandler('dashboard', {
  getConfig: async ({ userId }) => ({ body: await getPolicy(await getRuntime(), userId) }),
  putConfig: saveConfig,
  postConfig: saveConfig,
  listMetrics: async ({ userId, query }) => {
    const filter = { sessionId: query.session_id, limit: query.limit };
    const metrics = await recentMetrics(await getRuntime(), userId, filter);
    return { body: { metrics, count: metrics.length } };
  },
  getPerformanceSummary: async ({ userId, query }) => ({
    body: await summarisePerformance(await getRuntime(), userId, query.hours),
  }),
  getBandwidthSavings: async ({ userId, query }) => ({
    body: await summariseSavings(await getRuntime(), userId, query.days, query.session_id),
  }),
  getQualityDistribution: async ({ userId, query }) => ({
    body: await summariseQuality(await getRuntime(), userId, query.days),
  }),
  listAlerts: async ({ userId, query }) => {
    const alerts = await userAlerts(await getRuntime(), userId, query);
    return { body: { alerts, count: alerts.length } };
  },
  resolveAlert: async ({ userId, path }) => ({
    body: await resolveUserAlert(await getRuntime(), userId, path.alert_id),
  }),
});
