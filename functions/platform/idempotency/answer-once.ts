/**
 * Answers a named request once (docs/design.md section 2.3): the first copy is worked and its
 * answer kept for the idempotency window (`IDEMPOTENCY_WINDOW_S`); a repeat within it gets that
 * answer, marked as a replay, without any work; a repeat while the first copy is still in the work
 * is refused with `IDEMPOTENCY_IN_PROGRESS` (409, `Retry-After: 1`) rather than held, since a
 * waiting Lambda bills and takes a unit of the function's reserved concurrency.
 *
 * Built on {@link GuardedRedis} rather than Powertools' idempotency utility: Powertools fails the
 * request when its store is unavailable, while here a Redis outage must only cost the replay
 * (the metrics consumer counts the frame once all the same); and the gRPC task has no Lambda event to key on.
 */
import { IdempotencyInProgressError } from '../../core/errors.ts';
import type { Runtime } from '../runtime.ts';
import { claimAnswer, claimToken, releaseClaim, saveAnswer } from './answer-store.ts';
import { answerKey, type RequestIdentity } from './identity.ts';

/** An answer, and whether it is a stored one given to a repeat. */
export interface OnceAnswer<T> {
  answer: T;
  /** The answer was worked out for an earlier copy of the request (`X-AIC-Replay: true`). */
  replay: boolean;
}

/**
 * `work`'s answer for the request named `identity`, worked out at most once per idempotency window
 * while Redis answers. A request without identity, or without Redis, is simply worked. A failed
 * `work` stores nothing and gives up the claim, so that a retry works it again. When the claim got
 * no reply the request is worked as the claim's holder all the same: a claim written without a
 * reply then still ends with the answer or is given up, instead of holding retries off.
 *
 * @throws IdempotencyInProgressError when an earlier copy of the request is still in the work.
 */
export async function answerOnce<T>(
  runtime: Runtime,
  identity: RequestIdentity | undefined,
  work: () => Promise<T>,
): Promise<OnceAnswer<T>> {
  const { redis } = runtime;
  if (identity === undefined || redis === undefined) return { answer: await work(), replay: false };
  const key = answerKey(identity);
  const token = claimToken();
  const claim = await claimAnswer<T>(redis, key, token);
  if (claim.kind === 'answered') return { answer: claim.answer, replay: true };
  if (claim.kind === 'working') throw new IdempotencyInProgressError();
  let answer: T;
  try {
    answer = await work();
  } catch (error) {
    await releaseClaim(redis, key, token);
    throw error;
  }
  const retention = {
    windowS: runtime.settings.IDEMPOTENCY_WINDOW_S,
    maxBytes: runtime.settings.IDEMPOTENCY_MAX_ANSWER_BYTES,
  };
  // An answer that was not kept gives its claim up, so that repeats are worked again at once
  // instead of waiting out the claim.
  if (!(await saveAnswer(redis, key, answer, retention))) await releaseClaim(redis, key, token);
  return { answer, replay: false };
}
