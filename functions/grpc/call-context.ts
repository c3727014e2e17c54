/**
 * The context of one call: its request id (from `x-request-id`, or a new UUID, echoed in the
 * initial metadata), the caller the edge interceptor verified, and the signal that aborts its work
 * when the client cancels or the deadline passes.
 */
import * as grpc from '@grpc/grpc-js';
import { DeadlineExceededError } from '../core/errors.ts';
import { resolveRequestId } from '../core/request-id.ts';
import type { GrpcMetrics } from './prometheus.ts';
import type { RPC_ROUTES } from './rate-limit.ts';

/** An RPC of the AIC service. */
export type RpcMethod = keyof typeof RPC_ROUTES;

/** What the server knows of a call while serving it. */
export interface CallContext {
  method: RpcMethod;
  requestId: string;
  /** `performance.now()` when the call began. */
  started: number;
  /** The caller's `sub`, once authenticated. */
  userId?: string;
  /** Aborted when the client cancels or the deadline passes. */
  signal: AbortSignal;
  /** Frames answered (streams). */
  frames: number;
  /** Fields the work adds to the call's trailing metadata (`aic-replay`, docs/design.md section 3). */
  trailers: Record<string, string>;
}

/** The reason a call's signal aborts when the client cancels it before its deadline. */
export class CallCancelled extends Error {}

type AnyCall = grpc.ServerUnaryCall<unknown, unknown> | grpc.ServerDuplexStream<unknown, unknown>;

/** The deadline of a call as an epoch in ms (Infinity when none). */
function deadlineOf(call: { getDeadline(): grpc.Deadline }): number {
  const deadline = call.getDeadline();
  return deadline instanceof Date ? deadline.getTime() : deadline;
}

/**
 * Begins a call: resolves its request id and sends it in the initial metadata, ties its signal to
 * cancellation and the deadline, and counts it in flight (until `settleCall` finishes it).
 */
export function openCall(call: AnyCall, method: RpcMethod, metrics: GrpcMetrics): CallContext {
  const header = call.metadata.get('x-request-id')[0];
  const requestId = resolveRequestId(typeof header === 'string' ? header : undefined);
  const controller = new AbortController();
  const deadline = deadlineOf(call);
  const onCancel = () =>
    controller.abort(
      Date.now() >= deadline ? new DeadlineExceededError() : new CallCancelled('cancelled'),
    );
  call.once('cancelled', onCancel);
  if (Date.now() >= deadline) onCancel();
  const initial = new grpc.Metadata();
  initial.set('x-request-id', requestId);
  call.sendMetadata(initial);
  metrics.inFlight.inc();
  return {
    method,
    requestId,
    started: performance.now(),
    signal: controller.signal,
    frames: 0,
    trailers: {},
  };
}

/** Runs `work` unless the call is gone; rejects as soon as it is (the work's result is dropped). */
export function untilCancelled<T>(ctx: CallContext, work: Promise<T>): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    if (ctx.signal.aborted) {
      reject(ctx.signal.reason);
      return;
    }
    const onAbort = () => reject(ctx.signal.reason);
    ctx.signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => ctx.signal.removeEventListener('abort', onAbort));
  });
}

/** The status a gone call ended with: DEADLINE_EXCEEDED or CANCELLED. */
export function cancelledStatus(ctx: CallContext): grpc.status {
  return ctx.signal.reason instanceof DeadlineExceededError
    ? grpc.status.DEADLINE_EXCEEDED
    : grpc.status.CANCELLED;
}
