/**
 * What every call of the server draws on: the shared runtime (Postgres, Redis, settings), the
 * caller the edge interceptor verified, the HTTP API's rate limiter, the process's frame capacity
 * and the Prometheus registry.
 */
import type * as grpc from '@grpc/grpc-js';
import { FrameCapacity } from '../core/admission/frame-capacity.ts';
import { AicError, DependencyUnavailableError } from '../core/errors.ts';
import { classifyDependencyError } from '../platform/dependency-errors.ts';
import type { Runtime } from '../platform/runtime.ts';
import type { CallContext } from './call-context.ts';
import { type CallIdentity, callerOf } from './call-identity.ts';
import type { GrpcMetrics } from './prometheus.ts';
import {
  createGrpcRateLimiter,
  type GrpcRateLimiter,
  type RateLimitMetadata,
  RPC_ROUTES,
} from './rate-limit.ts';
import type { GrpcLimits } from './server-limits.ts';

/** The dependencies of a call. */
export interface CallServices {
  readonly metrics: GrpcMetrics;
  /**
   * The frames in the work in this process: at most so many of one user, at most so many pixels
   * together. Asked before a frame is decoded.
   */
  readonly frames: FrameCapacity;
  /** Sessions whose engine model one stream keeps. */
  readonly streamMaxSessions: number;
  /** The caller the edge interceptor verified from the call's bearer token. */
  caller(metadata: grpc.Metadata): CallIdentity;
  /** The shared runtime; a runtime that cannot start is a dependency failure (retry later). */
  runtime(): Promise<Runtime>;
  /**
   * Counts one request of the call's method against the caller's quota: its rate-limit fields, or
   * a RateLimitError.
   */
  rateLimit(ctx: CallContext, runtime: Runtime): Promise<RateLimitMetadata>;
}

/** Options of {@link createCallServices}. */
export interface CallServicesOptions {
  metrics: GrpcMetrics;
  runtime: () => Promise<Runtime>;
  limits: Pick<
    GrpcLimits,
    'maxFramesPerUser' | 'maxPixelsInFlight' | 'maxPixelsPerUser' | 'streamMaxSessions'
  >;
  /** Default: the HTTP limiter over the runtime's Redis, built on first use. */
  rateLimiter?: GrpcRateLimiter;
}

/** The services of one server. */
export function createCallServices(options: CallServicesOptions): CallServices {
  let rateLimiter = options.rateLimiter;
  const { limits } = options;
  return {
    metrics: options.metrics,
    frames: new FrameCapacity({
      maxPixels: limits.maxPixelsInFlight,
      maxFramesPerUser: limits.maxFramesPerUser,
      maxPixelsPerUser: limits.maxPixelsPerUser,
    }),
    streamMaxSessions: limits.streamMaxSessions,
    caller: callerOf,
    runtime: async () => {
      try {
        return await options.runtime();
      } catch (error) {
        // Postgres unreachable or secrets unavailable: the client may retry later.
        const classified = classifyDependencyError(error);
        throw classified instanceof AicError
          ? classified
          : new DependencyUnavailableError('runtime', { cause: error });
      }
    },
    rateLimit: async (ctx, runtime) => {
      rateLimiter ??= createGrpcRateLimiter(runtime.settings, runtime.redis);
      return rateLimiter(RPC_ROUTES[ctx.method], ctx.userId ?? '');
    },
  };
}
