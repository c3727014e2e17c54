/**
 * What names a request for exactly-once handling (docs/design.md section 2.3): a frame by its
 * owner, its session and its `frame_number`; a frame without a number, or a network update, by its
 * owner, its session and the client's `Idempotency-Key`. A request with neither has no identity:
 * every copy of it is new.
 */
import { ValidationError } from '../../core/errors.ts';

/** The operations whose repeats are answered with the first answer. */
export type IdempotentOperation = 'compress' | 'network';

/** Who, which session and which request: one identity per answer. */
export interface RequestIdentity {
  readonly operation: IdempotentOperation;
  /** Whose request it is: the tenant (docs/design.md section 2.5). */
  readonly owner: string;
  readonly sessionId: string;
  /** The frame's number, or else the client's key. */
  readonly name: { readonly frameNumber: number } | { readonly key: string };
}

/** Longest `Idempotency-Key` accepted: as long as a key column holds (migration 0004). */
export const MAX_IDEMPOTENCY_KEY_LENGTH = 255;

// Visible ASCII only: the key travels in an HTTP header and in gRPC metadata unchanged.
const KEY_PATTERN = /^[\x21-\x7e]+$/;

/**
 * The client's `Idempotency-Key` header (gRPC: `idempotency-key` metadata), or undefined when it
 * sent none.
 *
 * @throws ValidationError when it is empty, longer than {@link MAX_IDEMPOTENCY_KEY_LENGTH} or
 *   not visible ASCII.
 */
export function parseIdempotencyKey(value: string | undefined, field: string): string | undefined {
  if (value === undefined) return undefined;
  if (value.length <= MAX_IDEMPOTENCY_KEY_LENGTH && KEY_PATTERN.test(value)) return value;
  throw new ValidationError('The request is invalid', [
    {
      field,
      message: `must be 1 to ${MAX_IDEMPOTENCY_KEY_LENGTH} visible ASCII characters`,
      code: 'invalid_idempotency_key',
    },
  ]);
}

/**
 * The identity of a request of `operation` by `userId` on `sessionId`: by its frame number when it
 * has one (the key is then ignored), else by its key; undefined when it has neither.
 */
export function requestIdentity(
  operation: IdempotentOperation,
  userId: string,
  sessionId: string,
  frameNumber: number | undefined,
  key: string | undefined,
): RequestIdentity | undefined {
  const owner = userId;
  if (frameNumber !== undefined) return { operation, owner, sessionId, name: { frameNumber } };
  if (key !== undefined) return { operation, owner, sessionId, name: { key } };
  return undefined;
}

/**
 * The Redis key (under the client's key prefix) of an identity's answer. Distinct identities give
 * distinct keys: every free-text part is percent-encoded, so none can contain the `:` between
 * parts, and the name says whether it is a number (`f`) or a key (`k`).
 */
export function answerKey(identity: RequestIdentity): string {
  const name =
    'frameNumber' in identity.name
      ? `f:${identity.name.frameNumber}`
      : `k:${encodeURIComponent(identity.name.key)}`;
  const owner = encodeURIComponent(identity.owner);
  return `idem:${identity.operation}:${owner}:${encodeURIComponent(identity.sessionId)}:${name}`;
}

/** The request header (gRPC: metadata, lower case) that names a request without a frame number. */
export const IDEMPOTENCY_KEY_HEADER = 'Idempotency-Key';

/** The response header that marks a replayed answer, always `true`. */
export const REPLAY_HEADER = 'X-AIC-Replay';

/** The trailer of a unary gRPC call whose answer is a replay, always `true`. */
export const REPLAY_TRAILER = 'aic-replay';

/** The trailer of a `CompressStream`: how many of its frames were answered with a replay. */
export const REPLAYED_FRAMES_TRAILER = 'aic-replayed-frames';
