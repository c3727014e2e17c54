import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FUNCTION_ENTRIES, type FunctionName } from '../core/contracts/routes.ts';
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
  uses: { postgres: string; redis: string };
  stop(): Promise<void>;
}

const REPO_ROOT = join(import.meta.dirname, '..', '..');

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
    let databaseUrl = settings.DATABASE_URL;
    let postgresUse = 'DATABASE_URL';
    if (!databaseUrl) {
      const pg = await startEmbeddedPostgres(join(options.stateDir, 'postgres'), options.log);
      started.push(pg);
      databaseUrl = pg.url;
      // The runtime's settings read it, as they read a configured one.
      process.env.DATABASE_URL = pg.url;
      // Lets `npm run alerts` reach this embedded server while it runs.
      await writeFile(localDatabaseUrlFile(options.stateDir), pg.url, { mode: 0o600 });
      started.push({
        url: pg.url,
        stop: () => rm(localDatabaseUrlFile(options.stateDir), { force: true }),
      });
      postgresUse = `embedded PostgreSQL at ${new URL(pg.url).host} (data in ${join(options.stateDir, 'postgres')})`;
    }
    let redisUse = 'REDIS_URL';
    if (!settings.REDIS_URL && redisServerAvailable()) {
      const redis = await startRedisServer();
      started.push(redis);
      process.env.REDIS_URL = redis.url;
      redisUse = `redis-server started at ${new URL(redis.url).host}`;
    } else if (!settings.REDIS_URL) {
      redisUse = 'none: rate limiting runs in its degraded mode (fails open, per-container limits)';
    }

    const db = createDatabase({ url: databaseUrl, poolMax: 1 });
    try {
      const { applied } = await migrate(db.sql);
      if (applied.length > 0) options.log(`applied migrations: ${applied.join(', ')}`);
    } finally {
      await db.close();
    }

    const handlers = {} as Record<FunctionName, LambdaHandler>;
    for (const [name, entry] of Object.entries(FUNCTION_ENTRIES) as [FunctionName, string][]) {
      const module = (await import(join(REPO_ROOT, entry))) as { handler: LambdaHandler };
      handlers[name] = module.handler;
    }
    const api = await startLocalServer({
      port: options.port,
      host: options.host,
      handlers,
      jwt: jwtSettingsFromEnv(),
      onError: (error) => options.log(`local runtime error: ${String(error)}`),
    });
    const grpc = await startGrpcServer({
      port: options.grpcPort ?? 50051,
      host: options.host,
    }).catch(async (error: unknown) => {
      await api.close();
      throw error;
    });
    const scheduler = startScheduler({
      intervalMs: options.scheduleIntervalMs,
      onError: (name, error) => options.log(`scheduled function ${name} failed: ${String(error)}`),
    });
    return {
      api,
      grpc,
      uses: { postgres: postgresUse, redis: redisUse },
      stop: async () => {
        scheduler.stop();
        await grpc.shutdown(5000);
        await api.close();
        await closeRuntime();
        await stopStarted();
      },
    };
  } catch (error) {
    await stopStarted();
    throw error;
  }
}
