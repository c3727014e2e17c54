/**
 * Which candidate each step of the engine's search encodes next, from the candidates' scores
 * (`scoring.ts`) and the time left (`deadline.ts`). The steps are described in `engine.ts`.
 */
import { cheapestCost, type Deadline, TIME_SAFETY } from './deadline.ts';
import type { FrameSearch } from './frame-search.ts';
import { argmax, type Scored } from './scoring.ts';

/** Safety margin, in predicted standard deviations, before a candidate counts as a sure fit. */
export const CONFIDENCE_Z = 1;

/**
 * Margin on the byte budget, in predicted standard deviations, for a candidate that is the last
 * encode the latency budget allows: a miss cannot be corrected, so it aims at about 98 %
 * confidence rather than {@link CONFIDENCE_Z}'s 84 %.
 */
export const SINGLE_SHOT_Z = 2;

/** Below this probability of success, the budget phase stops exploring and aims at the floor. */
export const EXPLORE_PROBABILITY = 0.1;

/**
 * Margin on the floor when the budget cannot be met and the frame aims at the smallest encoding
 * that meets the floor: wider than {@link CONFIDENCE_Z}, because missing the floor costs another
 * encode while a little margin only costs bytes the frame is over budget by anyway.
 */
export const FLOOR_MARGIN_Z = 1.5;

/**
 * Below this probability that the budget phase's pick fits and meets the floor, a second candidate
 * is encoded beside it where the process can run two encodes at once (see {@link hedgeFor}).
 */
export const HEDGE_BELOW_PROBABILITY = 0.7;

/**
 * The candidate to encode beside `next`, the budget phase's pick, when the model is unsure of it
 * (success under {@link HEDGE_BELOW_PROBABILITY}): the likeliest other candidate of `pool` to fit and
 * meet the floor, if it is likelier than `next` and the deadline affords both encodes side by side
 * and both measurements after them. When `next` misses, the second encoding is already made: a
 * frame that would take two encodes one after the other takes about one encode's time.
 */
export function hedgeFor(
  pool: readonly Scored[],
  next: Scored,
  deadline: Pick<Deadline, 'remainingMs'>,
): Scored | undefined {
  if (next.success >= HEDGE_BELOW_PROBABILITY) return undefined;
  const hedge = argmax(
    pool.filter((s) => s !== next && s.success > next.success),
    (s) => s.success,
  );
  if (hedge === undefined) return undefined;
  const encodeMs = Math.max(next.prediction.encodeMs, hedge.prediction.encodeMs);
  const measureMs = next.prediction.measureMs + hedge.prediction.measureMs;
  return TIME_SAFETY * (encodeMs + measureMs) <= deadline.remainingMs() ? hedge : undefined;
}

/** Smallest predicted SSIM gain worth the extra try after a fit (see {@link pickBetterThan}). */
const MIN_SSIM_GAIN = 0.005;

/** The extra try when nothing fits wants a candidate predicted under this share of the best one. */
const SHRINK_BELOW_SHARE = 0.75;

/**
 * Predicted SSIMs closer than this count as equal when picking a candidate: no viewer sees the
 * difference, and the smaller candidate is the safer bet on the budget (a still shot otherwise
 * keeps reaching for quality 95, whose size the smooth curves underestimate, for 0.001 of SSIM).
 */
const SSIM_RESOLUTION = 0.001;

/** What the budget phase's pick reads of the search. */
export type BudgetPickContext = Pick<FrameSearch, 'deadline' | 'hasValid'>;

/**
 * The highest optimistic SSIM (one standard deviation better than predicted, to
 * {@link SSIM_RESOLUTION}), then the smaller predicted size. Optimism makes the search try, at no
 * extra encode, a safe candidate whose quality the model is unsure of, so that it cannot stay stuck
 * on a wrong guess about a scale or a format it has never measured.
 */
export function highestPredictedSsim(pool: readonly Scored[]): Scored | undefined {
  return argmax(pool, (s) => {
    const optimistic = 1 - Math.exp(s.prediction.logDistortion - s.prediction.logDistortionSd);
    return Math.floor(optimistic / SSIM_RESOLUTION) - 1e-6 * s.prediction.logBytes;
  });
}

/** The smallest candidate sure to meet the floor, else the one most likely to meet it. */
export function smallestAboveFloor(pool: readonly Scored[]): Scored | undefined {
  const sure = pool.filter((s) => s.zFloor >= FLOOR_MARGIN_Z);
  if (sure.length === 0) return argmax(pool, (s) => s.zFloor);
  return argmax(sure, (s) => -s.prediction.logBytes);
}

/**
 * Sure to fit and meet the floor: by {@link CONFIDENCE_Z}, or by {@link SINGLE_SHOT_Z} on the
 * budget when it is the last try (see `Deadline.isLastTry`). `cheapest` is the least predicted
 * cost (encode and measure) among the candidates in question.
 */
export function isSure(deadline: Deadline, s: Scored, cheapest: number): boolean {
  const margin = deadline.isLastTry(s, cheapest) ? SINGLE_SHOT_Z : CONFIDENCE_Z;
  return s.zBytes >= margin && s.zFloor >= CONFIDENCE_Z;
}

/**
 * The budget phase's pick: the highest predicted SSIM among the candidates sure to fit and meet
 * the floor; when none is sure, the one most likely to do both; when even that is unlikely (below
 * {@link EXPLORE_PROBABILITY}) and nothing meets the floor yet, the one most likely to fit among
 * those sure of the floor by {@link FLOOR_MARGIN_Z}. `sendsOverBudget`: whether an encoding over the
 * budget can be sent at all (not when the caller drops what misses it); only then does the last try
 * put the floor before the budget.
 */
export function pickForBudget(
  search: BudgetPickContext,
  pool: readonly Scored[],
  sendsOverBudget = true,
): Scored | undefined {
  const cheapest = cheapestCost(pool);
  const sure = pool.filter((s) => isSure(search.deadline, s, cheapest));
  if (sure.length > 0) return highestPredictedSsim(sure);
  const likeliest = argmax(pool, (s) => s.success);
  if (
    sendsOverBudget &&
    likeliest !== undefined &&
    search.deadline.isLastTry(likeliest, cheapest) &&
    !search.hasValid()
  ) {
    // Missing the floor on the last try sends the original; missing the budget only sends a
    // larger encoding. So the last try must be sure of the floor, and then likeliest to fit.
    const sureOfFloor = pool.filter((s) => s.zFloor >= CONFIDENCE_Z);
    if (likeliest.zFloor < CONFIDENCE_Z && sureOfFloor.length > 0) {
      return argmax(sureOfFloor, (s) => s.zBytes);
    }
  }
  if (likeliest === undefined || likeliest.success >= EXPLORE_PROBABILITY || search.hasValid()) {
    return likeliest;
  }
  const sureOfFloor = pool.filter((s) => s.zFloor >= FLOOR_MARGIN_Z);
  return sureOfFloor.length > 0 ? argmax(sureOfFloor, (s) => s.zBytes) : likeliest;
}

/**
 * The pick of the extra try after a fit that used well under the budget: the highest predicted
 * SSIM among the candidates sure to fit and meet the floor that the model expects at least
 * {@link MIN_SSIM_GAIN} better than `ssim`.
 */
export function pickBetterThan(
  ssim: number,
  deadline: Deadline,
): (pool: readonly Scored[]) => Scored | undefined {
  const target = ssim + MIN_SSIM_GAIN;
  return (pool) => {
    const cheapest = cheapestCost(pool);
    return highestPredictedSsim(
      pool.filter((s) => isSure(deadline, s, cheapest) && s.prediction.ssim >= target),
    );
  };
}

/**
 * The pick of the extra try when nothing fits: the smallest candidate sure of the floor by
 * {@link FLOOR_MARGIN_Z} that the model expects under {@link SHRINK_BELOW_SHARE} of `bytes`.
 */
export function pickSmallerThan(bytes: number): (pool: readonly Scored[]) => Scored | undefined {
  const target = Math.log(SHRINK_BELOW_SHARE * bytes);
  return (pool) =>
    smallestAboveFloor(
      pool.filter((s) => s.zFloor >= FLOOR_MARGIN_Z && s.prediction.logBytes < target),
    );
}
