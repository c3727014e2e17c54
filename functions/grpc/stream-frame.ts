/**
 * One frame of a `CompressStream`: validated, then admitted (the rate limiter counts it, then the
 * frame capacity takes it by its pixels) before it is decoded, then compressed and stored through
 * the stream's {@link StreamCompressor}. The frame's own problems (FRAME_ERRORS), a refusal by the
 * rate limiter or the capacity included, become its `error` and the stream goes on; anything else
 * ends the stream.
 */
import type { CompressCommand } from '../app/compress-command.ts';
import type { FrameCapacity } from '../core/admission/frame-capacity.ts';
import type { Permit } from '../core/admission/permit.ts';
import type { CompressResponse } from '../core/contracts/compress.ts';
import { type AicError, type ErrorCode, ValidationError } from '../core/errors.ts';
import type { OnceAnswer } from '../platform/idempotency/answer-once.ts';
import { REPLAYED_FRAMES_TRAILER } from '../platform/idempotency/identity.ts';
import type { CallContext } from './call-context.ts';
import { asAicError } from './call-outcome.ts';
import type { StreamCompressor } from './compress-stream.ts';
import { recordFrameAnswered, recordFrameReceived, recordFrameRefused } from './frame-metrics.ts';
import { fromCompressFrameRequest, toCompressFrameResponse } from './mapping.ts';
import type { GrpcMetrics } from './prometheus.ts';
import type {
  CompressStreamRequestMessage,
  CompressStreamResponseMessage,
  FrameErrorMessage,
} from './proto.ts';
import type { RateLimitMetadata } from './rate-limit.ts';

/** Errors that concern one frame of a stream: answered as that frame's `error`, the stream goes on. */
const FRAME_ERRORS: ReadonlySet<ErrorCode> = new Set([
  'VALIDATION_FAILED',
  'UNPROCESSABLE_FRAME',
  'PAYLOAD_TOO_LARGE',
  'UNSUPPORTED_MEDIA_TYPE',
  'NOT_FOUND',
  'FORBIDDEN',
  'RATE_LIMIT_EXCEEDED',
  'CONCURRENCY_LIMIT_EXCEEDED',
  'SESSION_QUOTA_EXCEEDED',
  'IDEMPOTENCY_IN_PROGRESS',
]);

/**
 * Refusals whose answer waits out their `retry-after` (at most {@link MAX_REFUSAL_HOLD_MS}) before
 * it goes out. The answer holds the frame's place in the stream's window, so the server reads the
 * stream's next frames no faster than it can admit them: a client that ignores `retry-after`
 * cannot make the server read, parse and refuse frames of 10 MiB as fast as it can send them.
 */
const PACED_REFUSALS: ReadonlySet<ErrorCode> = new Set([
  'RATE_LIMIT_EXCEEDED',
  'CONCURRENCY_LIMIT_EXCEEDED',
  'SESSION_QUOTA_EXCEEDED',
  'IDEMPOTENCY_IN_PROGRESS',
]);

/** The longest a refused frame's answer waits. */
const MAX_REFUSAL_HOLD_MS = 1000;

/** Waits out a paced refusal's `retry-after` (capped), or until the stream ends. */
function holdRefusal(error: AicError, signal: AbortSignal): Promise<void> {
  if (!PACED_REFUSALS.has(error.code)) return Promise.resolve();
  const seconds = Number(error.headers?.['Retry-After'] ?? 1);
  const ms = Math.min(MAX_REFUSAL_HOLD_MS, Math.max(0, seconds * 1000));
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

/** What a frame of a stream is answered with, and the rate-limit fields its check returned. */
export interface FrameOutcome {
  message: CompressStreamResponseMessage;
  limits: RateLimitMetadata;
}

/** What the frames of one stream share. */
export interface StreamFrameScope {
  ctx: CallContext;
  metrics: GrpcMetrics;
  frames: StreamCompressor;
  /** The process's frames in the work: a frame takes its place there before it is decoded. */
  capacity: FrameCapacity;
  /** Counts one frame against the caller's quota. */
  rateLimit(): Promise<RateLimitMetadata>;
  /** A frame, answered once per its number (docs/design.md section 3). */
  once(
    command: CompressCommand,
    work: () => Promise<CompressResponse>,
  ): Promise<OnceAnswer<CompressResponse>>;
}

/** `check`, run at most once whichever path asks first. */
function once<T>(check: () => Promise<T>): () => Promise<T> {
  let result: Promise<T> | undefined;
  return () => {
    if (result === undefined) {
      result = check();
      // Awaited on every path; this only keeps an early rejection from counting as unhandled.
      result.catch(() => undefined);
    }
    return result;
  };
}

function frameError(error: AicError): FrameErrorMessage {
  return {
    code: error.code,
    message: error.message,
    details: (error.details ?? []).map((d) => ({ ...d, code: d.code ?? '' })),
    grpc_status_code: error.grpcStatus,
    retry_after_seconds: Number(error.headers?.['Retry-After'] ?? 0),
  };
}

/** The rate-limit fields a refusal by the limiter carries (its headers, lower case). */
function limitsOf(error: AicError): RateLimitMetadata {
  return Object.fromEntries(
    Object.entries(error.headers ?? {})
      .map(([name, value]) => [name.toLowerCase(), value])
      .filter(([name]) => name !== 'retry-after'),
  );
}

/**
 * The answer of a frame that failed with `error`: the limiter's refusal when it refused the frame,
 * else the frame's own error, with the limiter's fields. Rethrows what ends the stream.
 */
async function refusedFrame(
  scope: StreamFrameScope,
  admit: () => Promise<RateLimitMetadata>,
  error: unknown,
): Promise<FrameOutcome> {
  const verdict = await admit().then(
    (limits) => ({ limits, error }),
    (refusal: unknown) => ({ limits: undefined, error: refusal }),
  );
  const aic = asAicError(verdict.error);
  if (scope.ctx.signal.aborted || !FRAME_ERRORS.has(aic.code)) throw verdict.error;
  recordFrameRefused(scope.metrics, aic.code);
  if (aic.code === 'RATE_LIMIT_EXCEEDED') scope.metrics.rateLimited.inc();
  await holdRefusal(aic, scope.ctx.signal);
  return { message: { error: frameError(aic) }, limits: verdict.limits ?? limitsOf(aic) };
}

/** Counts a replayed frame in the stream's trailers (`aic-replayed-frames`). */
function countReplay(ctx: CallContext): void {
  const counted = Number(ctx.trailers[REPLAYED_FRAMES_TRAILER] ?? 0);
  ctx.trailers[REPLAYED_FRAMES_TRAILER] = String(counted + 1);
}

/**
 * Answers one frame of a stream; call in stream order. A repeat of a frame (its number) is answered
 * with the first answer, without its engine or a store. The frame is decoded once the rate limiter
 * counted it and the capacity took it, and stored once `previous` (the frame before it) is settled.
 * Rejects when the frame ends the stream.
 */
export async function answerStreamFrame(
  scope: StreamFrameScope,
  request: CompressStreamRequestMessage,
  previous: Promise<unknown>,
): Promise<FrameOutcome> {
  const { ctx, metrics } = scope;
  recordFrameReceived(metrics, request.frame?.frame_data?.length ?? 0);
  // Every frame is checked exactly once, on every path.
  const admit = once(scope.rateLimit);
  let permit: Permit | undefined;
  try {
    if (!request.frame) {
      throw new ValidationError('The request is invalid', [
        { field: 'frame', message: 'is required', code: 'invalid_type' },
      ]);
    }
    const command = fromCompressFrameRequest(request.frame, ctx.userId ?? '');
    const { answer, replay } = await scope.once(command, async () => {
      const frame = await scope.frames.compress(
        { ...command, signal: ctx.signal },
        () => previous,
        async () => {
          await admit();
          permit = scope.capacity.admit(command.userId, command.frame);
        },
      );
      return frame.response;
    });
    if (replay) {
      countReplay(ctx);
      // A replay settles after the frame before it, so the frame after it is still stored only
      // after every frame before it, and never after one that ended the stream.
      await previous;
    }
    const message = toCompressFrameResponse(answer);
    recordFrameAnswered(metrics, answer, message.compressed_data.length);
    return { message: { result: message }, limits: await admit() };
  } catch (error) {
    return await refusedFrame(scope, admit, error);
  } finally {
    permit?.release();
  }
}
