/**
 * When the budget phase of the engine's search stops searching a tier of candidates before it runs
 * out of them: the calibrated model sees no way to fit, or, with time for a single encode, a wider
 * tier offers a likelier candidate.
 */
import type { Candidate } from './candidates.ts';
import type { FrameSearch } from './frame-search.ts';
import { EXPLORE_PROBABILITY } from './next-candidate.ts';
import type { Scored } from './scoring.ts';

/**
 * Once the model is calibrated (an encode of this frame over the budget, or the session's earlier
 * frames), the budget phase ends when no remaining candidate has this probability of fitting and
 * meeting the floor.
 */
export const GIVE_UP_PROBABILITY = 0.02;

/**
 * Observations (encodes and measurements) after which the session's model counts as calibrated for
 * giving up on the budget without first spending an encode of this frame on it, when the latency
 * budget leaves time for one encode only: a frame whose budget the session has shown to be out of
 * reach then goes straight to the smallest encoding that meets the floor.
 */
export const CALIBRATED_OBSERVATIONS = 6;

/** What the give-up rules read of the search. */
export type GiveUpContext = Pick<
  FrameSearch,
  'deadline' | 'hasOverBudget' | 'openCandidates' | 'affordable'
>;

/**
 * Whether the calibrated model sees no way to fit. Calibrated by the session's earlier frames
 * (`sessionObservations`, see {@link CALIBRATED_OBSERVATIONS}), and then either by an over-budget
 * encode of this frame or, when the time left allows a single encode, by those frames alone, so
 * that encode goes to the smallest valid candidate. A session's first frame never gives up: one
 * encode of it teaches the content's level, not how its quality falls with scale, and a cold model
 * sure of the latter would miss an in-budget encoding that exists.
 */
export function budgetOutOfReach(
  search: GiveUpContext,
  pool: readonly Scored[],
  sessionObservations: number,
): boolean {
  const calibrated =
    sessionObservations >= CALIBRATED_OBSERVATIONS &&
    (search.hasOverBudget() || search.deadline.isSingleShot(pool));
  return calibrated && pool.every((s) => s.success < GIVE_UP_PROBABILITY);
}

/**
 * Whether, with time for a single encode, a tier is unlikely to succeed (no candidate of `pool`
 * reaches {@link EXPLORE_PROBABILITY}) while the wider tier `wider` offers a likelier candidate:
 * a screen frame whose full-scale encodes the model expects to miss the budget spends its one
 * encode on a downscale. With time for more, the tier is searched until it cannot succeed, as the
 * screen rule says.
 */
export function likelierElsewhere(
  search: GiveUpContext,
  pool: readonly Scored[],
  wider: (candidate: Candidate) => boolean,
): boolean {
  if (!search.deadline.isSingleShot(pool)) return false;
  const best = Math.max(...pool.map((s) => s.success));
  if (best >= EXPLORE_PROBABILITY) return false;
  const others = search.affordable(search.openCandidates(wider));
  return others.some((s) => s.success > best);
}
