/**
 * The task's plain HTTP side on METRICS_PORT: `/metrics` for the Prometheus scrape, `/health` for
 * the container health check (liveness: the process serves; dependencies are not its business, a
 * restart would not bring Postgres back) and `/readiness` (503 while the gRPC health status is
 * NOT_SERVING, e.g. as the NLB target check).
 *
 * A scrape also reads the state of the dependencies into the registry (readiness and the Redis
 * breaker): the cached readiness the health service polls, so a scrape adds no probe of its own
 * within the cache period.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setImmediate } from 'node:timers/promises';
import type { BreakerStateName } from '../core/circuit-breaker.ts';
import type { ReadinessResponse } from '../core/contracts/health.ts';
import { logger } from '../platform/observability.ts';
import { checkReadiness } from '../platform/readiness.ts';
import { getRuntime, type Runtime } from '../platform/runtime.ts';
import { SERVICE_VERSION } from '../platform/version.ts';
import type { HealthService } from './health.ts';
import type { GrpcMetrics } from './prometheus.ts';

/** Content type of the Prometheus text exposition format. */
export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** Where a scrape reads the state of the task's dependencies. */
export interface DependencySources {
  /** Readiness as `GET /readiness` answers it. */
  readiness(): Promise<ReadinessResponse>;
  /** The request path's Redis breaker; undefined without Redis or before the runtime is up. */
  redisBreaker(): Promise<BreakerStateName | undefined>;
}

/** The runtime when it is up; one still starting (or failing to) is not waited for. */
function startedRuntime(): Promise<Runtime | undefined> {
  return Promise.race([getRuntime().catch(() => undefined), setImmediate(undefined)]);
}

/** The container's dependencies: its cached readiness and its runtime's Redis breaker. */
export const containerDependencies: DependencySources = {
  readiness: () => checkReadiness(),
  redisBreaker: async () => (await startedRuntime())?.redis?.state,
};

/**
 * Reads readiness, then the breaker, into `metrics`. Readiness that cannot be read counts as
 * `not_ready`; a breaker that cannot be read has no series.
 */
export async function collectDependencies(
  metrics: GrpcMetrics,
  sources: DependencySources,
): Promise<void> {
  const readiness = await sources.readiness().catch(() => undefined);
  metrics.readiness.set(readiness?.status ?? 'not_ready');
  for (const [check, result] of Object.entries(readiness?.checks ?? {})) {
    metrics.readinessChecks.set(result.status, { check });
  }
  const breaker = await sources.redisBreaker().catch(() => undefined);
  if (breaker) metrics.redisBreaker.set(breaker.toLowerCase() as Lowercase<BreakerStateName>);
  else metrics.redisBreaker.clear();
}

/** The exposition of `metrics` with the dependencies read from `sources` just before. */
export async function prometheusText(
  metrics: GrpcMetrics,
  sources: DependencySources = containerDependencies,
): Promise<string> {
  await collectDependencies(metrics, sources);
  return metrics.expose();
}

/** A running metrics server. */
export interface MetricsServer {
  port: number;
  server: Server;
  close(): Promise<void>;
}

/** Options of {@link startMetricsServer}. */
export interface MetricsServerOptions {
  /** TCP port; 0 picks a free one. */
  port: number;
  host?: string;
  metrics: GrpcMetrics;
  health: HealthService;
  /** Default {@link containerDependencies}. */
  dependencies?: DependencySources;
}

interface Answer {
  status: number;
  type: string;
  text: string;
}

const json = (status: number, body: unknown): Answer => ({
  status,
  type: 'application/json',
  text: JSON.stringify(body),
});

/** The answer to a GET of `path`. */
async function answerGet(
  path: string,
  options: MetricsServerOptions,
  startedAt: number,
): Promise<Answer> {
  const serving = options.health.status;
  switch (path) {
    case '/metrics': {
      const text = await prometheusText(options.metrics, options.dependencies);
      return { status: 200, type: PROMETHEUS_CONTENT_TYPE, text };
    }
    case '/health':
      return json(200, {
        status: 'ok',
        service: 'auralink-aic-grpc',
        version: SERVICE_VERSION,
        uptime_s: Math.round((Date.now() - startedAt) / 1000),
        grpc: serving,
      });
    case '/readiness':
      return json(serving === 'SERVING' ? 200 : 503, { grpc: serving });
    default:
      return json(404, { error: 'not found' });
  }
}

function answer(
  request: IncomingMessage,
  options: MetricsServerOptions,
  startedAt: number,
): Promise<Answer> {
  if (request.method !== 'GET') return Promise.resolve(json(405, { error: 'method not allowed' }));
  const path = new URL(request.url ?? '/', 'http://localhost').pathname;
  return answerGet(path, options, startedAt).catch((error: unknown) => {
    logger.error('metrics endpoint failed', { path, error });
    return json(500, { error: 'internal error' });
  });
}

/** Starts the metrics and health endpoints on `port` (0: a free one). */
export async function startMetricsServer(options: MetricsServerOptions): Promise<MetricsServer> {
  const startedAt = Date.now();
  const server = createServer((request, response) => {
    void answer(request, options, startedAt).then(({ status, type, text }) => {
      response.writeHead(status, {
        'content-type': type,
        'content-length': Buffer.byteLength(text),
      });
      response.end(text);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
