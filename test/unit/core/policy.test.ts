import { describe, expect, it } from 'vitest';
import {
  DEFAULT_CONFIG,
  UNCHANGED_SSIM_DEFAULTS,
} from '../../../functions/core/contracts/config.ts';
import { resolvePolicy } from '../../../functions/core/policy.ts';

describe('the resolved policy', () => {
  it('takes on_budget_miss from the request, then the stored policy, then the mode', () => {
    expect(resolvePolicy({}, null).onBudgetMiss).toBe('drop');
    expect(resolvePolicy({ mode: 'conservative' }, null).onBudgetMiss).toBe('smallest');
    expect(resolvePolicy({ mode: 'aggressive' }, null).onBudgetMiss).toBe('drop');
    const stored = { ...DEFAULT_CONFIG, on_budget_miss: 'original' as const };
    expect(resolvePolicy({}, stored).onBudgetMiss).toBe('original');
    expect(resolvePolicy({ onBudgetMiss: 'smallest' }, stored).onBudgetMiss).toBe('smallest');
    expect(resolvePolicy({}, { ...DEFAULT_CONFIG, on_budget_miss: null }).onBudgetMiss).toBe(
      'drop',
    );
  });

  it('sends the original whatever the budget when compression is off or opted out', () => {
    expect(resolvePolicy({ mode: 'off' }, null).onBudgetMiss).toBe('original');
    const optedOut = { ...DEFAULT_CONFIG, opt_out: true };
    expect(resolvePolicy({ onBudgetMiss: 'drop' }, optedOut).onBudgetMiss).toBe('original');
  });

  it('answers a screen frame unchanged at 0.99 and a video frame never, unless the policy says', () => {
    expect(UNCHANGED_SSIM_DEFAULTS).toEqual({ screen: 0.99, video: null });
    expect(resolvePolicy({}, null).unchangedSsim).toEqual({ screen: 0.99, video: null });
    expect(resolvePolicy({ mode: 'aggressive' }, null).unchangedSsim).toEqual({
      screen: 0.99,
      video: null,
    });
    const nulls = { ...DEFAULT_CONFIG, unchanged_ssim_screen: null, unchanged_ssim_video: null };
    expect(resolvePolicy({}, nulls).unchangedSsim).toEqual({ screen: 0.99, video: null });
  });

  it('takes each unchanged threshold from the request, then the stored policy, then the default', () => {
    const stored = { ...DEFAULT_CONFIG, unchanged_ssim_screen: 0.97, unchanged_ssim_video: 0.995 };
    expect(resolvePolicy({}, stored).unchangedSsim).toEqual({ screen: 0.97, video: 0.995 });
    expect(resolvePolicy({ unchangedSsimScreen: 0.95 }, stored).unchangedSsim).toEqual({
      screen: 0.95,
      video: 0.995,
    });
    expect(resolvePolicy({ unchangedSsimVideo: 0.92 }, stored).unchangedSsim).toEqual({
      screen: 0.97,
      video: 0.92,
    });
    expect(resolvePolicy({ unchangedSsimVideo: 0.98 }, null).unchangedSsim).toEqual({
      screen: 0.99,
      video: 0.98,
    });
    // The thresholds are the policy's whatever the mode: a request's other mode keeps them.
    expect(resolvePolicy({ mode: 'conservative' }, stored).unchangedSsim).toEqual({
      screen: 0.97,
      video: 0.995,
    });
  });

  it('never answers unchanged when compression is off, disabled or opted out', () => {
    const stored = { ...DEFAULT_CONFIG, unchanged_ssim_screen: 0.97, unchanged_ssim_video: 0.995 };
    const never = { screen: null, video: null };
    expect(resolvePolicy({ mode: 'off' }, stored).unchangedSsim).toEqual(never);
    expect(resolvePolicy({}, { ...stored, mode: 'off' }).unchangedSsim).toEqual(never);
    const requested = { unchangedSsimScreen: 0.95, unchangedSsimVideo: 0.95 };
    expect(resolvePolicy(requested, { ...stored, opt_out: true }).unchangedSsim).toEqual(never);
    expect(resolvePolicy(requested, { ...stored, enabled: false }).unchangedSsim).toEqual(never);
  });
});
