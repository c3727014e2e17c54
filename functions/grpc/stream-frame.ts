/**
 * One frame of a `CompressStream`: validated, compressed and stored through the stream's
 * {@link StreamCompressor}, its rate-limit check running beside its work. The frame's own problems
 * (FRAME_ERRORS) become its `error` and the stream goes on; anything else ends the stream.
 */
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
  };
}

/**
 * Answers one frame of a stream; call in stream order. The frame is stored once it is admitted and
 * `previous` (the frame before it) is settled. Rejects when the frame ends the stream.
 */
export async function answerStreamFrame(
  scope: StreamFrameScope,
  request: CompressStreamRequestMessage,
  previous: Promise<unknown>,
): Promise<FrameOutcome> {
  const { ctx, metrics } = scope;
  recordFrameReceived(metrics, request.frame?.frame_data?.length ?? 0);
  // Every frame is checked exactly once, on every path. The check begins just after the frame's
  // work has, so that its own CPU time (building the script call) runs while sharp decodes.
  const admit = once(scope.rateLimit);
  try {
    if (!request.frame) {
      throw new ValidationError('The request is invalid', [
        { field: 'frame', message: 'is required', code: 'invalid_type' },
      ]);
    }
    const command = fromCompressFrameRequest(request.frame, ctx.userId ?? '');
    const work = scope.frames.compress({ ...command, signal: ctx.signal }, () =>
      Promise.all([admit(), previous]),
    );
    admit(); // now that the work is under way
    const frame = await work;
    const message = toCompressFrameResponse(frame.response);
    recordFrameAnswered(metrics, frame.response, message.compressed_data.length);
    return { message: { result: message }, limits: await admit() };
  } catch (error) {
    const checked = admit();
    const aic = asAicError(error);
    if (ctx.signal.aborted || !FRAME_ERRORS.has(aic.code)) throw error;
    const limits = await checked;
    recordFrameRefused(metrics, aic.code);
    return { message: { error: frameError(aic) }, limits };
  }
}
