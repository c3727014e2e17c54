/**
 * The gRPC server of the Fargate task (docs/design.md section 3): `AICCompressionService` over the
 * same core and platform as the Lambdas, the standard health service tied to readiness, server
 * reflection (v1 and v1alpha), and a bounded graceful drain.
 *
 * The parts: the edge (edge-interceptor.ts: tokens, receive limits and call caps on a call's
 * metadata; server-limits.ts: the limits and server options), the call context (call-context.ts)
 * and how a call ends (call-outcome.ts), unary calls (unary-call.ts), the stream pipeline
 * (stream-call.ts, stream-pipeline.ts, stream-frame.ts), the service map (aic-service.ts) and the
 * drain (drain.ts).
 */
import * as grpc from '@grpc/grpc-js';
import { ReflectionService } from '@grpc/reflection';
import type { ReadinessResponse } from '../core/contracts/health.ts';
import { type JwtSettings, jwtSettingsFromEnv } from '../platform/jwt.ts';
import { logger } from '../platform/observability.ts';
import { checkReadiness } from '../platform/readiness.ts';
import { getRuntime, type Runtime } from '../platform/runtime.ts';
import { loadSettings } from '../platform/settings.ts';
import { aicServiceImplementation } from './aic-service.ts';
import { createCallServices } from './call-services.ts';
import { drainServer } from './drain.ts';
import { edgeInterceptor } from './edge-interceptor.ts';
import { HealthService, type ReadinessMonitor, startReadinessMonitor } from './health.ts';
import { GrpcMetrics } from './prometheus.ts';
import { aicServiceDefinition, loadAicDefinition, loadReflectedDefinition } from './proto.ts';
import type { GrpcRateLimiter } from './rate-limit.ts';
import { type GrpcLimits, grpcLimits, serverOptions } from './server-limits.ts';
import { ActiveStreams } from './stream-stop.ts';

export { MAX_RECEIVE_MESSAGE_BYTES, MESSAGE_OVERHEAD_BYTES } from './message-limits.ts';

/** Options of {@link startGrpcServer}. */
export interface GrpcServerOptions {
  /** TCP port; 0 picks a free one. */
  port: number;
  /** Address to bind; `0.0.0.0` in the container, loopback locally. */
  host?: string;
  /** The shared dependencies; default the container's {@link getRuntime}. */
  runtime?: () => Promise<Runtime>;
  /** Readiness behind the health service; default the checks of `GET /readiness`. */
  readiness?: () => Promise<ReadinessResponse>;
  /** How often readiness is re-checked for the health service, ms. Default 5000. */
  healthIntervalMs?: number;
  /** Token checks; default from the environment, like the local runtime. */
  jwt?: JwtSettings;
  /**
   * The edge's limits; default those of the settings (`GRPC_MAX_*`), which the Fargate task and
   * `npm start` both take. Tests lower some.
   */
  limits?: Partial<GrpcLimits>;
  /** Rate limiter; default the HTTP one over the runtime's Redis. */
  rateLimiter?: GrpcRateLimiter;
  /** Prometheus registry; default a new one. */
  metrics?: GrpcMetrics;
}

/** A running gRPC server. */
export interface GrpcServer {
  port: number;
  server: grpc.Server;
  health: HealthService;
  metrics: GrpcMetrics;
  monitor: ReadinessMonitor;
  /** Whether a drain has begun. */
  readonly draining: boolean;
  /**
   * Drains: health turns NOT_SERVING and Watch streams end, no new call is accepted (GOAWAY),
   * streams end with UNAVAILABLE after the frame in hand, unary calls finish. Whatever is still
   * running after `timeoutMs` is cancelled. Resolves with how it ended.
   */
  shutdown(timeoutMs: number): Promise<'drained' | 'forced'>;
}

function bind(server: grpc.Server, host: string, port: number): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    server.bindAsync(`${host}:${port}`, grpc.ServerCredentials.createInsecure(), (error, bound) =>
      error ? reject(error) : resolve(bound),
    );
  });
}

/** Starts the server on `options.port` and the readiness monitor behind its health service. */
export async function startGrpcServer(options: GrpcServerOptions): Promise<GrpcServer> {
  const metrics = options.metrics ?? new GrpcMetrics();
  const limits = { ...grpcLimits(loadSettings()), ...options.limits };
  const services = createCallServices({
    metrics,
    runtime: options.runtime ?? getRuntime,
    limits,
    rateLimiter: options.rateLimiter,
  });
  const edge = edgeInterceptor({ jwt: options.jwt ?? jwtSettingsFromEnv(), limits, metrics });
  const streams = new ActiveStreams();
  const health = new HealthService('NOT_SERVING');
  const server = new grpc.Server(serverOptions(limits, [edge]));
  server.addService(
    aicServiceDefinition(loadAicDefinition()),
    aicServiceImplementation(services, streams),
  );
  health.addToServer(server);
  new ReflectionService(loadReflectedDefinition()).addToServer(server);
  const port = await bind(server, options.host ?? '127.0.0.1', options.port);
  const monitor = startReadinessMonitor(
    health,
    options.readiness ?? (() => checkReadiness()),
    options.healthIntervalMs ?? 5000,
    (status) => {
      metrics.serving.set(status === 'SERVING' ? 1 : 0);
      logger.info('grpc health status changed', { status });
    },
  );
  const parts = { server, health, monitor, metrics, streams };
  return {
    port,
    server,
    health,
    metrics,
    monitor,
    get draining() {
      return streams.draining;
    },
    shutdown: (timeoutMs) => drainServer(parts, timeoutMs),
  };
}
