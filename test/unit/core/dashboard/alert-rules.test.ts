import { describe, expect, it } from 'vitest';
import {
  evaluateAlertRules,
  FALLBACK_RATE_THRESHOLD,
  type RecentFrameStats,
} from '../../../../functions/core/dashboard/alert-rules.ts';

const policy = { maxLatencyMs: 20, minQualityScore: 0.85 };
const options = { minFrames: 20, windowMinutes: 5 };
const healthy: RecentFrameStats = { frames: 100, p95LatencyMs: 12, meanSsim: 0.93, fallbacks: 1 };

const types = (stats: Partial<RecentFrameStats>) =>
  evaluateAlertRules({ ...healthy, ...stats }, policy, options).map((a) => a.type);

describe('the alert rules', () => {
  it('raise nothing for a healthy user', () => {
    expect(types({})).toEqual([]);
  });

  it('raise a latency alert when p95 is above the budget, not at it', () => {
    expect(types({ p95LatencyMs: 20 })).toEqual([]);
    expect(types({ p95LatencyMs: 20.01 })).toEqual(['latency_p95_over_budget']);
  });

  it('raise a quality alert when mean SSIM is under the floor, not at it', () => {
    expect(types({ meanSsim: 0.85 })).toEqual([]);
    expect(types({ meanSsim: 0.8499 })).toEqual(['ssim_under_floor']);
    expect(types({ meanSsim: null })).toEqual([]);
  });

  it('raise a fallback alert above 5 %, not at it', () => {
    expect(types({ fallbacks: 5 })).toEqual([]);
    expect(types({ fallbacks: 6 })).toEqual(['fallback_rate_high']);
    expect(FALLBACK_RATE_THRESHOLD).toBe(0.05);
  });

  it('raise every alert that applies at once, with observed value and threshold', () => {
    const alerts = evaluateAlertRules(
      { frames: 50, p95LatencyMs: 45, meanSsim: 0.7, fallbacks: 25 },
      policy,
      options,
    );
    expect(alerts.map((a) => [a.type, a.severity, a.observedValue, a.threshold])).toEqual([
      ['latency_p95_over_budget', 'critical', 45, 20],
      ['ssim_under_floor', 'critical', 0.7, 0.85],
      ['fallback_rate_high', 'critical', 0.5, 0.05],
    ]);
    expect(alerts[0]?.message).toContain('last 5 min (50 frames)');
  });

  it('call a moderate breach a warning', () => {
    const [alert] = evaluateAlertRules({ ...healthy, p95LatencyMs: 25 }, policy, options);
    expect(alert?.severity).toBe('warning');
  });

  it('raise nothing on too few frames', () => {
    expect(evaluateAlertRules({ ...healthy, frames: 19, fallbacks: 19 }, policy, options)).toEqual(
      [],
    );
  });
});
