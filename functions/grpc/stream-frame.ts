/**
 * One frame of a `CompressStream`: validated, then admitted (the rate limiter counts it, then the
 * frame capacity takes it by its pixels) before it is decoded, then compressed and stored through
 * the stream's {@link StreamCompressor}. The frame's own problems (FRAME_ERRORS), a refusal by the
 * rate limiter or the capacity included, become its `error` and the stream goes on; anything else
 * ends the stream.
 */
import type { FrameCapacity } from '../core/admission/frame-capacity.ts';
import type { Permit } from '../core/admission/permit.ts';
import { type AicError, type ErrorCode, ValidationError } from '../core/errors.ts';
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
]);

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
  return { message: { error: frameError(aic) }, limits: verdict.limits ?? limitsOf(aic) };
}

/**
 * Answers one frame of a stream; call in stream order. The frame is decoded once the rate limiter
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
    const frame = await scope.frames.compress(
      { ...command, signal: ctx.signal },
      () => previous,
      async () => {
        await admit();
        permit = scope.capacity.admit(command.userId, command.frame);
      },
    );
    const message = toCompressFrameResponse(frame.response);
    recordFrameAnswered(metrics, frame.response, message.compressed_data.length);
    return { message: { result: message }, limits: await admit() };
  } catch (error) {
    return await refusedFrame(scope, admit, error);
  } finally {
    permit?.release();
  }
}
