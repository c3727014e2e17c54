/**
 * The task's plain HTTP side on METRICS_PORT: `/metrics` for the Prometheus scrape, `/health` for
 * the container health check (liveness: the process serves; dependencies are not its business, a
 * restart would not bring Postgres back) and `/readiness` (503 while the gRPC health status is
 * NOT_SERVING, e.g. as the NLB target check).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SERVICE_VERSION } from '../platform/version.ts';
import type { HealthService } from './health.ts';
import type { GrpcMetrics } from './prometheus.ts';

/** A running metrics server. */
export interface MetricsServer {
  port: number;
  server: Server;
  close(): Promise<void>;
}

/** Starts the metrics and health endpoints on `port` (0: a free one). */
export async function startMetricsServer(options: {
  port: number;
  host?: string;
  metrics: GrpcMetrics;
  health: HealthService;
}): Promise<MetricsServer> {
  const startedAt = Date.now();
  const json = (status: number, body: unknown) => ({
    status,
    type: 'application/json',
    text: JSON.stringify(body),
  });
  const server = createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://localhost').pathname;
    const serving = options.health.status;
    const answer =
      request.method !== 'GET'
        ? json(405, { error: 'method not allowed' })
        : path === '/metrics'
          ? {
              status: 200,
              type: 'text/plain; version=0.0.4; charset=utf-8',
              text: options.metrics.expose(),
            }
          : path === '/health'
            ? json(200, {
                status: 'ok',
                service: 'auralink-aic-grpc',
                version: SERVICE_VERSION,
                uptime_s: Math.round((Date.now() - startedAt) / 1000),
                grpc: serving,
              })
            : path === '/readiness'
              ? json(serving === 'SERVING' ? 200 : 503, { grpc: serving })
              : json(404, { error: 'not found' });
    response.writeHead(answer.status, {
      'content-type': answer.type,
      'content-length': Buffer.byteLength(answer.text),
    });
    response.end(answer.text);
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
