import { DEFAULT_CONFIG } from '../core/contracts/config.ts';
import { type AlertCandidate, evaluateAlertRules } from '../core/dashboard/alert-rules.ts';
import {
  openAlerts,
  type RecentUserStats,
  recentStatsByUser,
} from '../platform/db/alerts-repository.ts';
import type { Sql } from '../platform/db/database.ts';

/** Options of {@link runAlertEvaluation}. */
export interface AlertEvaluationOptions {
  /** How far back the figures reach. */
  windowMinutes: number;
  /** Fewer frames than this in the window raise no alert. */
  minFrames: number;
}

/** What one evaluation did. */
export interface AlertEvaluationResult {
  /** Users with frames in the window. */
  usersEvaluated: number;
  /** Alerts the rules called for (open ones of the same type included). */
  alertsFiring: number;
  /** Alerts newly opened. */
  alertsOpened: number;
}

/** Users one page of the evaluation reads and judges. */
const USERS_PER_PAGE = 1000;

/**
 * One run of the alert evaluator: reads every user's recent frames, a page of
 * {@link USERS_PER_PAGE} users at a time (so a run holds one page, however many tenants have
 * frames), applies the rules of `core/dashboard/alert-rules.ts` under each user's policy (the
 * default one when none is stored) and opens the alerts that are not open already. Safe to run
 * concurrently and repeatedly: the partial unique index keeps one open alert per user and type.
 */
export async function runAlertEvaluation(
  sql: Sql,
  options: AlertEvaluationOptions,
): Promise<AlertEvaluationResult> {
  const result: AlertEvaluationResult = { usersEvaluated: 0, alertsFiring: 0, alertsOpened: 0 };
  let after: string | undefined;
  for (;;) {
    const stats = await recentStatsByUser(sql, options.windowMinutes * 60, {
      after,
      limit: USERS_PER_PAGE,
    });
    const firing = firingAlerts(stats, options);
    result.usersEvaluated += stats.length;
    result.alertsFiring += firing.length;
    result.alertsOpened += await openAlerts(sql, firing);
    if (stats.length < USERS_PER_PAGE) return result;
    after = stats.at(-1)?.userId;
  }
}

/** The alerts the rules call for over one page of users. */
function firingAlerts(
  stats: readonly RecentUserStats[],
  options: AlertEvaluationOptions,
): (AlertCandidate & { userId: string })[] {
  const firing: (AlertCandidate & { userId: string })[] = [];
  for (const user of stats) {
    const candidates = evaluateAlertRules(
      user,
      {
        maxLatencyMs: user.maxLatencyMs ?? DEFAULT_CONFIG.max_latency_ms,
        minQualityScore: user.minQualityScore ?? DEFAULT_CONFIG.min_quality_score,
      },
      options,
    );
    for (const candidate of candidates) firing.push({ ...candidate, userId: user.userId });
  }
  return firing;
}
