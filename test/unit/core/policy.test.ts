import { describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG } from '../../../functions/core/contracts/config.ts';
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
});
