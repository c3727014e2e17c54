import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FUNCTION_ENTRIES, type FunctionName } from '../core/contracts/routes.ts';
import { prometheusText } from '../grpc/metrics-server.ts';
import { GrpcMetrics } from '../grpc/prometheus.ts';
import { type GrpcServer, startGrpcServer } from '../grpc/server.ts';
import { createDatabase } from '../platform/db/database.ts';
import { migrate } from '../platform/db/migrate.ts';
import { jwtSettingsFromEnv } from '../platform/jwt.ts';
import { closeRuntime } from '../platform/runtime.ts';
import { loadSettings } from '../platform/settings.ts';
import {
  type EmbeddedService,
  redisServerAvailable,
  startEmbeddedPostgres,
  startRedisServer,
} from './embedded-services.ts';
import { localDatabaseUrlFile } from './local-state.ts';
import { startLocalMetricsConsumer } from './metrics-consumer.ts';
import { startScheduler } from './scheduler.ts';
import { type LambdaHandler, type LocalServer, startLocalServer } from './server.ts';

/** Options of {@link startLocalRuntime}. */
export interface LocalRuntimeOptions {
  port: number;
  host?: string;
  /** Where embedded services keep their data (`.aic-local` in the repository). */
  stateDir: string;
  log: (line: string) => void;
  /** Port of the gRPC service (GRPC_PORT; 0 picks a free one). Default 50051. */
  grpcPort?: number;
  /** Interval of the scheduled functions (the alert evaluator); default: their own schedule. */
  scheduleIntervalMs?: number;
}

/** A running local product and what it started. */
export interface LocalRuntime {
  api: LocalServer;
  /** The gRPC service, on the same runtime as the HTTP handlers. */
  grpc: GrpcServer;
  /** What each dependency is, for the start-up banner. */
  uses: { postgres: string; redis: string; metrics: string };
  stop(): Promise<void>;
}

const REPO_ROOT = join(import.meta.dirname, '..', '..');

/** A dependency the local runtime uses, and how to describe it in the start-up banner. */
interface LocalDependency {
  url: string | undefined;
  use: string;
}

/** The configured Postgres, or an embedded one started in `stateDir` (and recorded there). */
async function localPostgres(
  configured: string | undefined,
  options: LocalRuntimeOptions,
  started: EmbeddedService[],
): Promise<LocalDependency & { url: string }> {
  if (configured) return { url: configured, use: 'DATABASE_URL' };
  const dataDir = join(options.stateDir, 'postgres');
  const pg = await startEmbeddedPostgres(dataDir, options.log);
  started.push(pg);
  // The runtime's settings read it, as they read a configured one.
  process.env.DATABASE_URL = pg.url;
  // Lets `npm run alerts` reach this embedded server while it runs.
  await writeFile(localDatabaseUrlFile(options.stateDir), pg.url, { mode: 0o600 });
  started.push({
    url: pg.url,
    stop: () => rm(localDatabaseUrlFile(options.stateDir), { force: true }),
  });
  return {
    url: pg.url,
    use: `embedded PostgreSQL at ${new URL(pg.url).host} (data in ${dataDir})`,
  };
}

/** The configured Redis, or a `redis-server` started for the run, or none (degraded limits). */
async function localRedis(
  configured: string | undefined,
  started: EmbeddedService[],
): Promise<LocalDependency> {
  if (configured) return { url: configured, use: 'REDIS_URL' };
  if (!redisServerAvailable()) {
    const use = 'none: rate limiting runs in its degraded mode (fails open, per-container limits)';
    return { url: undefined, use };
  }
  const redis = await startRedisServer();
  started.push(redis);
  process.env.REDIS_URL = redis.url;
  return { url: redis.url, use: `redis-server started at ${new URL(redis.url).host}` };
}

async function applyMigrations(
  url: string,
  statementTimeoutMs: number,
  log: (line: string) => void,
): Promise<void> {
  const db = createDatabase({ url, poolMax: 1 });
  try {
    const { applied } = await migrate(db.sql, { statementTimeoutMs });
    if (applied.length > 0) log(`applied migrations: ${applied.join(', ')}`);
  } finally {
    await db.close();
  }
}

/** Every Lambda function's handler, loaded from its entry as the Lambda runtime would. */
async function loadHandlers(): Promise<Record<FunctionName, LambdaHandler>> {
  const handlers = {} as Record<FunctionName, LambdaHandler>;
  for (const [name, entry] of Object.entries(FUNCTION_ENTRIES) as [FunctionName, string][]) {
    const module = (await import(join(REPO_ROOT, entry))) as { handler: LambdaHandler };
    handlers[name] = module.handler;
  }
  return handlers;
}

/**
 * Runs the product locally on embedded defaults: Postgres from DATABASE_URL or an embedded server,
 * Redis from REDIS_URL or a `redis-server` it starts (or none: the limiter's degraded mode), the
 * migrations applied, and every route served through the Lambda handlers.
 */
export async function startLocalRuntime(options: LocalRuntimeOptions): Promise<LocalRuntime> {
  const started: EmbeddedService[] = [];
  const stopStarted = async () => {
    for (const service of started.reverse()) await service.stop().catch(() => undefined);
  };
  try {
    const settings = loadSettings();
    const postgres = await localPostgres(settings.DATABASE_URL, options, started);
    const redis = await localRedis(settings.REDIS_URL, started);
    await applyMigrations(postgres.url, settings.DB_STATEMENT_TIMEOUT_MS, options.log);
    // The gRPC server's registry, scraped at the API's `GET /metrics`.
    const prometheus = new GrpcMetrics();
    const api = await startLocalServer({
      port: options.port,
      host: options.host,
      handlers: await loadHandlers(),
      jwt: jwtSettingsFromEnv(),
      onError: (error) => options.log(`local runtime error: ${String(error)}`),
      prometheus: () => prometheusText(prometheus),
    });
    const grpc = await startGrpcServer({
      port: options.grpcPort ?? 50051,
      host: options.host,
      metrics: prometheus,
    }).catch(async (error: unknown) => {
      await api.close();
      throw error;
    });
    const metricsConsumer = await startLocalMetricsConsumer(loadSettings(), (error) =>
      options.log(`metrics consumer: ${String(error)}`),
    );
    const scheduler = startScheduler({
      intervalMs: options.scheduleIntervalMs,
      onError: (name, error) => options.log(`scheduled function ${name} failed: ${String(error)}`),
    });
    return {
      api,
      grpc,
      uses: {
        postgres: postgres.use,
        redis: redis.use,
        metrics: metricsConsumer ? 'Redis stream, consumed in this process' : 'Postgres, at once',
      },
      stop: async () => {
        scheduler.stop();
        await grpc.shutdown(5000);
        await api.close();
        await metricsConsumer?.close();
        await closeRuntime();
        await stopStarted();
      },
    };
  } catch (error) {
    await stopStarted();
    throw error;
  }
}
