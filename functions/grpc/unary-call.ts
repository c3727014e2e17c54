/**
 * A unary RPC: the caller was verified by the edge interceptor; the call counts against the
 * caller's quota, then its work runs; the call is answered with the work's result, or fails as soon
 * as the client cancels or the deadline passes. A unary call is short: its token is checked once.
 */
import type * as grpc from '@grpc/grpc-js';
import type { Runtime } from '../platform/runtime.ts';
import { type CallContext, openCall, type RpcMethod, untilCancelled } from './call-context.ts';
import { type CallResult, settleCall } from './call-outcome.ts';
import type { CallServices } from './call-services.ts';

/** The work of a unary RPC, for an authenticated and admitted call, with the call's metadata. */
export type UnaryWork<Req, Res> = (
  ctx: CallContext,
  request: Req,
  runtime: Runtime,
  metadata: grpc.Metadata,
) => Promise<Res>;

/** The grpc-js handler of the unary RPC `method` doing `work`. */
export function unaryCall<Req, Res>(
  services: CallServices,
  method: RpcMethod,
  work: UnaryWork<Req, Res>,
): grpc.handleUnaryCall<Req, Res> {
  return (call, callback) => {
    const ctx = openCall(call as grpc.ServerUnaryCall<unknown, unknown>, method, services.metrics);
    const run = async (): Promise<CallResult<Res>> => {
      ctx.signal.throwIfAborted();
      ctx.userId = services.caller(call.metadata).userId;
      const runtime = await services.runtime();
      const limits = await services.rateLimit(ctx, runtime);
      const value = await untilCancelled(ctx, work(ctx, call.request, runtime, call.metadata));
      return { value, limits };
    };
    void settleCall(ctx, services.metrics, run(), {
      ok: (value, trailers) => callback(null, value, trailers),
      fail: (error) => callback(error),
    });
  };
}
