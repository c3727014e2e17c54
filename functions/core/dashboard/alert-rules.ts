import type { AlertSeverity, AlertType } from '../contracts/dashboard.ts';

/**
 * Threshold alert rules (docs/design.md section 2): p95 latency above the user's latency budget, mean
 * SSIM under the user's quality floor, fallback rate above 5 %. Pure: the caller supplies one
 * user's recent figures and policy, the rules say which alerts that user should have open.
 */

/** Fallback rate above which an alert opens. */
export const FALLBACK_RATE_THRESHOLD = 0.05;

/** One user's frames over the evaluation window. */
export interface RecentFrameStats {
  frames: number;
  /** Exact p95 of total latency (ms). */
  p95LatencyMs: number;
  /** Mean SSIM of the frames that have one; null when none has. */
  meanSsim: number | null;
  fallbacks: number;
}

/** The user's thresholds: their stored policy, or the default one. */
export interface AlertPolicy {
  maxLatencyMs: number;
  minQualityScore: number;
}

/** An alert the user should have open. */
export interface AlertCandidate {
  type: AlertType;
  severity: AlertSeverity;
  message: string;
  observedValue: number;
  threshold: number;
}

/** Options of {@link evaluateAlertRules}. */
export interface AlertRuleOptions {
  /** Fewer frames than this in the window are not evidence of anything: no alert. */
  minFrames: number;
  /** Length of the evaluation window, for the messages. */
  windowMinutes: number;
}

const round = (value: number, digits: number) => Math.round(value * 10 ** digits) / 10 ** digits;

/**
 * The alerts `stats` call for under `policy`. Severity is `critical` when the figure is far past
 * its threshold (latency twice the budget, SSIM 0.1 under the floor, four times the fallback
 * threshold), `warning` otherwise.
 */
export function evaluateAlertRules(
  stats: RecentFrameStats,
  policy: AlertPolicy,
  options: AlertRuleOptions,
): AlertCandidate[] {
  if (stats.frames < options.minFrames || stats.frames === 0) return [];
  const over = `over the last ${options.windowMinutes} min (${stats.frames} frames)`;
  const alerts: AlertCandidate[] = [];

  if (stats.p95LatencyMs > policy.maxLatencyMs) {
    alerts.push({
      type: 'latency_p95_over_budget',
      severity: stats.p95LatencyMs >= 2 * policy.maxLatencyMs ? 'critical' : 'warning',
      message: `p95 latency ${round(stats.p95LatencyMs, 1)} ms ${over} exceeds the budget of ${policy.maxLatencyMs} ms`,
      observedValue: round(stats.p95LatencyMs, 3),
      threshold: policy.maxLatencyMs,
    });
  }

  if (stats.meanSsim !== null && stats.meanSsim < policy.minQualityScore) {
    alerts.push({
      type: 'ssim_under_floor',
      severity: stats.meanSsim <= policy.minQualityScore - 0.1 ? 'critical' : 'warning',
      message: `mean SSIM ${round(stats.meanSsim, 4)} ${over} is under the floor of ${policy.minQualityScore}`,
      observedValue: round(stats.meanSsim, 5),
      threshold: policy.minQualityScore,
    });
  }

  const fallbackRate = stats.fallbacks / stats.frames;
  if (fallbackRate > FALLBACK_RATE_THRESHOLD) {
    alerts.push({
      type: 'fallback_rate_high',
      severity: fallbackRate >= 4 * FALLBACK_RATE_THRESHOLD ? 'critical' : 'warning',
      message: `fallback rate ${round(fallbackRate * 100, 1)} % ${over} is above ${FALLBACK_RATE_THRESHOLD * 100} %`,
      observedValue: round(fallbackRate, 5),
      threshold: FALLBACK_RATE_THRESHOLD,
    });
  }
  return alerts;
}
