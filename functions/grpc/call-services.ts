/**
 * What every call of the server draws on: the shared runtime (Postgres, Redis, settings), the
 * token checks, the HTTP API's rate limiter and the Prometheus registry.
 */
import type * as grpc from '@grpc/grpc-js';
import { AicError, DependencyUnavailableError } from '../core/errors.ts';
import { classifyDependencyError } from '../platform/dependency-errors.ts';
import type { JwtSettings } from '../platform/jwt.ts';
import type { Runtime } from '../platform/runtime.ts';
import { authenticate, type CallContext } from './call-context.ts';
import type { GrpcMetrics } from './prometheus.ts';
import {
  createGrpcRateLimiter,
  type GrpcRateLimiter,
  type RateLimitMetadata,
  RPC_ROUTES,
} from './rate-limit.ts';

/** The dependencies of a call. */
export interface CallServices {
  readonly metrics: GrpcMetrics;
  /** The caller's `sub`, from the call's bearer token. */
  authenticate(metadata: grpc.Metadata): Promise<string>;
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
  jwt: JwtSettings;
  /** Default: the HTTP limiter over the runtime's Redis, built on first use. */
  rateLimiter?: GrpcRateLimiter;
}

/** The services of one server. */
export function createCallServices(options: CallServicesOptions): CallServices {
  let rateLimiter = options.rateLimiter;
  return {
    metrics: options.metrics,
    authenticate: (metadata) => authenticate(metadata, options.jwt),
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
