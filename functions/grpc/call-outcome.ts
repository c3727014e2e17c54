/**
 * How a call ends. An answered call carries `x-request-id`, the rate-limit fields and the fields
 * its work added (`aic-replay`) in its trailing metadata; a failed one the service's typed error
 * with its one gRPC status (`ERROR_STATUS`) and, in trailing metadata, `x-request-id`,
 * `aic-error-code`, `aic-error-details` (JSON list of `{field, message, code}`, for validation) and
 * the error's headers (for rate limits `retry-after` plus the `x-ratelimit-*` fields). Either way
 * the call is counted and logged once.
 */
import * as grpc from '@grpc/grpc-js';
import { type AicError, toAicError } from '../core/errors.ts';
import { classifyDependencyError } from '../platform/dependency-errors.ts';
import { logger } from '../platform/observability.ts';
import { type CallContext, cancelledStatus } from './call-context.ts';
import type { GrpcMetrics } from './prometheus.ts';
import type { RateLimitMetadata } from './rate-limit.ts';

/** The trailing metadata of a call: its request id, then `fields` (names lower-cased). */
export function trailers(requestId: string, fields: Record<string, string>): grpc.Metadata {
  const metadata = new grpc.Metadata();
  metadata.set('x-request-id', requestId);
  for (const [name, value] of Object.entries(fields)) metadata.set(name.toLowerCase(), value);
  return metadata;
}

/** Any failure as the service's typed error (dependency failures classified first). */
export const asAicError = (error: unknown): AicError => toAicError(classifyDependencyError(error));

/** The gRPC error a call fails with: the error's status and message, its fields in trailers. */
export function toServiceError(error: AicError, requestId: string): grpc.ServiceError {
  const fields: Record<string, string> = { 'aic-error-code': error.code };
  if (error.details?.length) fields['aic-error-details'] = JSON.stringify(error.details);
  return Object.assign(new Error(error.message), {
    code: error.grpcStatus,
    details: error.message,
    metadata: trailers(requestId, { ...fields, ...error.headers }),
  });
}

function statusName(code: number): string {
  return grpc.status[code] ?? String(code);
}

/** Ends the bookkeeping of a call opened by `openCall`: metrics and one access log line. */
function finishCall(ctx: CallContext, metrics: GrpcMetrics, code: number, error?: AicError): void {
  metrics.inFlight.dec();
  const seconds = (performance.now() - ctx.started) / 1000;
  metrics.calls.inc({ method: ctx.method, code: statusName(code) });
  metrics.latency.observe({ method: ctx.method }, seconds);
  if (error?.code === 'RATE_LIMIT_EXCEEDED') metrics.rateLimited.inc();
  const entry = {
    request_id: ctx.requestId,
    rpc: ctx.method,
    user: ctx.userId,
    grpc_code: statusName(code),
    duration_ms: Math.round(seconds * 1e5) / 100,
    ...(ctx.method === 'CompressStream' ? { frames: ctx.frames } : {}),
  };
  if (code === grpc.status.INTERNAL || code === grpc.status.UNKNOWN) {
    logger.error('grpc call failed', { ...entry, error: error?.cause ?? error });
  } else if (error) {
    logger.info('grpc call rejected', { ...entry, code: error.code, reason: error.message });
  } else {
    logger.info('grpc call', entry);
  }
}

/** What a call's work settles with: its answer and the rate-limit fields for its trailers. */
export interface CallResult<T> {
  value: T;
  limits: RateLimitMetadata;
}

/** How a call is answered, by the kind of call. */
export interface CallReply<T> {
  ok(value: T, trailers: grpc.Metadata): void;
  fail(error: grpc.ServiceError): void;
}

/**
 * Answers a call once `work` settles, then finishes it. A call that is gone is not answered: its
 * status is what grpc-js already sent, and it is finished with that.
 */
export function settleCall<T>(
  ctx: CallContext,
  metrics: GrpcMetrics,
  work: Promise<CallResult<T>>,
  reply: CallReply<T>,
): Promise<void> {
  return work.then(
    ({ value, limits }) => {
      reply.ok(value, trailers(ctx.requestId, { ...limits, ...ctx.trailers }));
      finishCall(ctx, metrics, grpc.status.OK);
    },
    (error: unknown) => {
      const aic = asAicError(error);
      const cancelled = ctx.signal.aborted;
      if (!cancelled) reply.fail(toServiceError(aic, ctx.requestId));
      finishCall(ctx, metrics, cancelled ? cancelledStatus(ctx) : aic.grpcStatus, aic);
    },
  );
}
