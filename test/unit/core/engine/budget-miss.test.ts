import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { OnBudgetMiss } from '../../../../functions/core/contracts/config.ts';
import { applyBudgetMiss } from '../../../../functions/core/engine/budget-miss.ts';
import type {
  CompressionDecision,
  FallbackReason,
} from '../../../../functions/core/engine/engine.ts';

const CONGESTED = { budgetBytes: 1_000, limitedBy: 'network' } as const;
const ORIGINAL_OVER = 50_000;

/** A decision with the fields the rule reads; the rest does not matter to it. */
function decision(fields: {
  status: 'success' | 'fallback';
  withinBudget: boolean;
  fallbackReason?: FallbackReason;
  passthrough?: boolean;
}): CompressionDecision {
  return {
    passthrough: false,
    encodeAttempts: 1,
    trials: [],
    ...fields,
  } as unknown as CompressionDecision;
}

const overBudget = decision({ status: 'success', withinBudget: false });
const floorUnreachable = decision({
  status: 'fallback',
  withinBudget: false,
  fallbackReason: 'quality_floor_unreachable',
});

describe('on_budget_miss', () => {
  it('drops, sends the smallest or sends the original as the table of docs/design.md 4.6 says', () => {
    const outcomes = (policy: OnBudgetMiss) => [
      applyBudgetMiss(overBudget, policy, CONGESTED, ORIGINAL_OVER),
      applyBudgetMiss(floorUnreachable, policy, CONGESTED, ORIGINAL_OVER),
    ];
    expect(outcomes('drop')).toEqual([
      { kind: 'dropped', reason: 'no_candidate_fits' },
      { kind: 'dropped', reason: 'quality_floor_unreachable' },
    ]);
    expect(outcomes('smallest')).toEqual([
      { kind: 'as_decided' },
      { kind: 'dropped', reason: 'quality_floor_unreachable' },
    ]);
    expect(outcomes('original')).toEqual([
      { kind: 'original', reason: 'no_candidate_fits' },
      { kind: 'as_decided' },
    ]);
  });

  it('sends an original smaller than every valid encoding when asked for the smallest', () => {
    const originalSmaller = decision({
      status: 'fallback',
      withinBudget: false,
      fallbackReason: 'original_smaller',
    });
    expect(applyBudgetMiss(originalSmaller, 'smallest', CONGESTED, ORIGINAL_OVER)).toEqual({
      kind: 'as_decided',
    });
    expect(applyBudgetMiss(originalSmaller, 'drop', CONGESTED, ORIGINAL_OVER)).toEqual({
      kind: 'dropped',
      reason: 'original_smaller',
    });
  });

  it('keeps a fallback whose original fits the budget, and every passthrough', () => {
    expect(applyBudgetMiss(floorUnreachable, 'drop', CONGESTED, 900)).toEqual({
      kind: 'as_decided',
    });
    const passthrough = decision({ status: 'fallback', withinBudget: false, passthrough: true });
    expect(applyBudgetMiss(passthrough, 'drop', CONGESTED, ORIGINAL_OVER)).toEqual({
      kind: 'as_decided',
    });
  });

  it('never changes a decision that fits, one the ratio cap limits, or one the policy keeps whole', () => {
    const decisions = fc
      .record({
        status: fc.constantFrom<'success' | 'fallback'>('success', 'fallback'),
        withinBudget: fc.boolean(),
        fallbackReason: fc.constantFrom<FallbackReason>(
          'quality_floor_unreachable',
          'latency_budget_exhausted',
          'attempt_limit_reached',
          'encoder_error',
          'no_candidates',
          'original_smaller',
        ),
        passthrough: fc.boolean(),
      })
      .map(decision);
    fc.assert(
      fc.property(
        decisions,
        fc.constantFrom<OnBudgetMiss>('drop', 'smallest', 'original'),
        fc.integer({ min: 1, max: 100_000 }),
        fc.integer({ min: 1, max: 100_000 }),
        fc.constantFrom<'network' | 'target_ratio'>('network', 'target_ratio'),
        (d, policy, budgetBytes, originalBytes, limitedBy) => {
          const outcome = applyBudgetMiss(d, policy, { budgetBytes, limitedBy }, originalBytes);
          const fits = d.status === 'success' ? d.withinBudget : originalBytes <= budgetBytes;
          if (limitedBy === 'target_ratio' || d.passthrough || fits) {
            expect(outcome).toEqual({ kind: 'as_decided' });
          }
          // The original is sent only when asked for; nothing is dropped when it was asked for.
          if (outcome.kind === 'original') expect(policy).toBe('original');
          if (policy === 'original') expect(outcome.kind).not.toBe('dropped');
        },
      ),
    );
  });
});
