/**
 * Entry of the Fargate task: the gRPC service on GRPC_PORT and metrics/health on METRICS_PORT,
 * over the same settings as the Lambdas (DATABASE_URL, or DB_HOST with DB_IAM_AUTH or
 * DB_SECRET_ARN; REDIS_URL, AIC_JWT_*, rate limits). SIGTERM (ECS stopping the task) drains: NOT_SERVING, no new calls,
 * in-flight calls finish within GRPC_DRAIN_TIMEOUT_MS, then the rest are cancelled, the
 * connections closed and the process exits 0.
 */

import { warmUpImaging } from '../platform/imaging/warm-up.ts';
import { jwtSettings } from '../platform/jwt.ts';
import { logger, metrics } from '../platform/observability.ts';
import { closeRuntime, getRuntime } from '../platform/runtime.ts';
import { loadSettings } from '../platform/settings.ts';
import { startMetricsServer } from './metrics-server.ts';
import { startGrpcServer } from './server.ts';

/** EMF metrics of the shared code are flushed on this period (Lambda flushes per invocation). */
const METRICS_FLUSH_MS = 60_000;

const settings = loadSettings();
// A task that would accept tokens it must not (the development key, keys over http) refuses to
// start here, naming the setting.
const jwt = jwtSettings(settings);
// Start connecting now: the health service reports NOT_SERVING until this succeeds.
getRuntime().catch((error: unknown) => logger.error('runtime initialisation failed', { error }));
// Before serving, so that no stream's first frame pays for it (see warmUpImaging).
await warmUpImaging().catch((error: unknown) =>
  logger.warn('imaging warm-up failed; the first frame will be slower', { error }),
);
const grpcServer = await startGrpcServer({
  jwt,
  port: settings.GRPC_PORT,
  host: settings.GRPC_HOST,
  healthIntervalMs: settings.GRPC_HEALTH_INTERVAL_MS,
});
const metricsServer = await startMetricsServer({
  port: settings.METRICS_PORT,
  host: settings.GRPC_HOST,
  metrics: grpcServer.metrics,
  health: grpcServer.health,
});
const publish = () => {
  if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
};
const flush = setInterval(publish, METRICS_FLUSH_MS);
flush.unref();
logger.info('grpc task listening', {
  grpc_port: grpcServer.port,
  metrics_port: metricsServer.port,
});
process.stderr.write(
  `AIC gRPC listening on ${settings.GRPC_HOST}:${grpcServer.port}, metrics on ${metricsServer.port}\n`,
);

let stopping = false;
const shutdown = async (signal: string) => {
  if (stopping) return;
  stopping = true;
  logger.info('draining', { signal, timeout_ms: settings.GRPC_DRAIN_TIMEOUT_MS });
  const outcome = await grpcServer.shutdown(settings.GRPC_DRAIN_TIMEOUT_MS);
  clearInterval(flush);
  publish();
  await metricsServer.close();
  await closeRuntime();
  logger.info('stopped', { outcome });
  process.exit(0);
};
const onSignal = (signal: string) =>
  shutdown(signal).catch((error: unknown) => {
    logger.error('shutdown failed', { error });
    process.exit(1);
  });
process.on('SIGTERM', () => void onSignal('SIGTERM'));
process.on('SIGINT', () => void onSignal('SIGINT'));
