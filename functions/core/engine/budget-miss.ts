/**
 * What a frame gets when nothing fits its byte budget on a congested network (the policy's
 * `on_budget_miss`, docs/design.md section 4.5a). The engine's decision is taken as it is; this
 * rule only decides what of it goes out.
 */
import type { OnBudgetMiss } from '../contracts/config.ts';
import type { FrameBudget } from '../network/budget.ts';
import type { CompressionDecision, FallbackReason } from './engine.ts';

/**
 * Why a frame went out as nothing, or as its original, because of its budget.
 * `refinement_deferred`: the viewer's image meets the floor and nothing better fits the bytes
 * banked yet (see {@link applyRefinement}).
 */
export type BudgetMissReason = FallbackReason | 'no_candidate_fits' | 'refinement_deferred';

/** What goes out for a frame. */
export type FrameOutcome =
  /** The engine's decision as it stands: its encoding, or the original on fallback. */
  | { readonly kind: 'as_decided' }
  /** The original, although an encoding that meets the floor exists (it does not fit either). */
  | { readonly kind: 'original'; readonly reason: 'no_candidate_fits' }
  /** Nothing: the sender skips the frame. */
  | { readonly kind: 'dropped'; readonly reason: BudgetMissReason }
  /** Nothing: the viewer's image already meets the policy's threshold (`core/temporal`). */
  | { readonly kind: 'unchanged' };

const AS_DECIDED: FrameOutcome = { kind: 'as_decided' };

/** Nothing, for a refinement nothing better fits yet (see {@link applyRefinement}). */
export const REFINEMENT_DEFERRED: FrameOutcome = { kind: 'dropped', reason: 'refinement_deferred' };

/**
 * Whether {@link applyBudgetMiss} drops whatever misses the budget: the engine need not look for
 * the smallest encoding over it.
 */
export function dropsWhatMisses(
  onBudgetMiss: OnBudgetMiss,
  budget: Pick<FrameBudget, 'limitedBy'>,
): boolean {
  return onBudgetMiss === 'drop' && budget.limitedBy === 'network';
}

/**
 * Applies `onBudgetMiss` to the engine's `decision` for a frame of `originalBytes` under `budget`.
 * Only a budget the network limits is a miss: under the ratio cap alone nothing is congested, and
 * the decision stands. A miss is an encoding over the budget, or a fallback whose original does not
 * fit either:
 *
 * | `onBudgetMiss` | an encoding meets the floor, none fits | nothing meets the floor |
 * |---|---|---|
 * | `drop` | dropped (`no_candidate_fits`) | dropped (the engine's reason) |
 * | `smallest` | the smallest such encoding | dropped (the engine's reason) |
 * | `original` | the original (`no_candidate_fits`) | the original (the engine's reason) |
 *
 * An original smaller than every encoding that meets the floor (`original_smaller`) is the
 * smallest thing to send that meets it, so `smallest` sends it.
 */
export function applyBudgetMiss(
  decision: CompressionDecision,
  onBudgetMiss: OnBudgetMiss,
  budget: Pick<FrameBudget, 'budgetBytes' | 'limitedBy'>,
  originalBytes: number,
): FrameOutcome {
  if (decision.passthrough || budget.limitedBy !== 'network') return AS_DECIDED;
  if (decision.status === 'success') {
    if (decision.withinBudget) return AS_DECIDED;
    if (dropsWhatMisses(onBudgetMiss, budget))
      return { kind: 'dropped', reason: 'no_candidate_fits' };
    if (onBudgetMiss === 'original') return { kind: 'original', reason: 'no_candidate_fits' };
    return AS_DECIDED;
  }
  if (originalBytes <= budget.budgetBytes || onBudgetMiss === 'original') return AS_DECIDED;
  const reason = decision.fallbackReason ?? 'quality_floor_unreachable';
  if (onBudgetMiss === 'smallest' && reason === 'original_smaller') return AS_DECIDED;
  return { kind: 'dropped', reason };
}

/**
 * What goes out for a refinement (`core/temporal/viewer-plan.ts`): the engine's encoding when it
 * fits and meets the raised floor, else nothing. The viewer's image already meets the policy's floor,
 * so neither the original nor an encoding over the budget is ever worth sending instead.
 */
export function applyRefinement(decision: CompressionDecision): FrameOutcome {
  if (decision.status === 'success' && decision.withinBudget) return AS_DECIDED;
  return REFINEMENT_DEFERRED;
}
