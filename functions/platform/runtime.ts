import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { CheckResult } from '../core/contracts/health.ts';
import { databaseConnection } from './db/connection.ts';
import { connectWithRetry, createDatabase, type Database } from './db/database.ts';
import { MIGRATIONS } from './db/migrations/index.ts';

import { INITIALISATION_STALL_MS, watchInitialisation } from './initialisation-watch.ts';
import type { FrameEventLog } from './metrics/frame-event-log.ts';
import { createFrameLog } from './metrics/frame-log-factory.ts';
import { logger, metrics } from './observability.ts';
import { redisLogin } from './redis/credential-settings.ts';
import type { RedisCredentials, RedisCredentialsProvider } from './redis/credentials.ts';
import { createGuardedRedis, type GuardedRedis } from './redis/guarded-redis.ts';
import { createSecretsLoader, type SecretsLoader } from './secrets.ts';
import { loadSettings, type Settings } from './settings.ts';
import { assertNoSharedKey } from './shared-key.ts';

/** The dependencies every handler of a container shares. */
export interface Runtime {
  settings: Settings;
  db: Database;
  /** Undefined when no Redis is configured: rate limiting then runs in its degraded mode. */
  redis: GuardedRedis | undefined;
  /** Where answered frames' events go (docs/design.md section 5.8). */
  frameLog: FrameEventLog;
}

type InitState =
  | { kind: 'idle' }
  | { kind: 'initialising'; since: number }
  | { kind: 'ready'; tookMs: number }
  | { kind: 'failed'; at: number; error: unknown };

let pending: Promise<Runtime> | undefined;
let initState: InitState = { kind: 'idle' };
let stopInitialisationWatch: (() => void) | undefined;
let secrets: SecretsLoader | undefined;

function secretsLoader(): SecretsLoader {
  secrets ??= createSecretsLoader({ client: new SecretsManagerClient({}) });
  return secrets;
}

/**
 * Where this process's Redis login comes from (`REDIS_IAM_AUTH`, `REDIS_AUTH_SECRET_ARN`,
 * `REDIS_PASSWORD_FILE` or the URL); undefined without Redis or without a login.
 *
 * @throws Error naming the setting when the Redis settings do not fit together.
 */
export function createRedisLogin(settings: Settings): RedisCredentialsProvider | undefined {
  return redisLogin(settings, { secrets: secretsLoader, region: process.env.AWS_REGION });
}

/** A Redis login and its first value, shared by the container's clients. */
interface RedisLogin {
  credentials: RedisCredentialsProvider;
  first: RedisCredentials;
}

/**
 * A guarded client of `REDIS_URL` with the settings' breaker; `role` names it in the breaker's
 * log lines.
 */
function guardedRedis(
  settings: Settings,
  options: { login: RedisLogin | undefined; commandTimeoutMs: number; role: string },
): GuardedRedis {
  const { login } = options;
  return createGuardedRedis({
    url: settings.REDIS_URL as string,
    ...(login ? { ...login.first, credentials: login.credentials } : {}),
    commandTimeoutMs: options.commandTimeoutMs,
    keyPrefix: settings.REDIS_KEY_PREFIX,
    breaker: {
      failureThreshold: settings.BREAKER_FAILURE_THRESHOLD,
      openMs: settings.BREAKER_OPEN_MS,
      halfOpenMaxTrials: settings.BREAKER_HALF_OPEN_TRIALS,
      successThreshold: settings.BREAKER_SUCCESS_THRESHOLD,
    },
    logger,
    onStateChange: (from, to) => {
      logger.warn('Redis circuit breaker changed state', { from, to, client: options.role });
      metrics.addMetric(
        `RedisBreaker${to === 'HALF_OPEN' ? 'HalfOpen' : to === 'OPEN' ? 'Open' : 'Closed'}`,
        MetricUnit.Count,
        1,
      );
    },
  });
}

async function initialise(): Promise<Runtime> {
  const started = performance.now();
  const settings = loadSettings();
  assertNoSharedKey(settings);
  // Before Postgres: a Redis misconfiguration fails the start at once, with nothing to close.
  const credentials = createRedisLogin(settings);
  const login = credentials && { credentials, first: await credentials.current() };
  const connection = await databaseConnection(settings, {
    getSecretJson: (arn) => secretsLoader().getJson(arn),
    onTokenError: (error) => logger.error('Could not sign an RDS IAM auth token', { error }),
  });
  const db = createDatabase({
    ...connection,
    poolMax: settings.DB_POOL_MAX,
    prepare: settings.DB_PREPARE,
  });
  await connectWithRetry(
    db,
    {
      tries: settings.DB_CONNECT_TRIES,
      baseDelayMs: settings.DB_CONNECT_BASE_DELAY_MS,
      maxDelayMs: settings.DB_CONNECT_MAX_DELAY_MS,
    },
    {
      onRetry: ({ attempt, delayMs, error }) => {
        logger.warn('Postgres not reachable, retrying', { attempt, delay_ms: delayMs, error });
        metrics.addMetric('DbConnectRetry', MetricUnit.Count, 1);
      },
    },
  ).catch(async (error: unknown) => {
    metrics.addMetric('DbConnectFailure', MetricUnit.Count, 1);
    await db.close();
    throw error;
  });
  const redisWith = (commandTimeoutMs: number, role: string) =>
    guardedRedis(settings, { login, commandTimeoutMs, role });
  const redis = settings.REDIS_URL
    ? redisWith(settings.REDIS_COMMAND_TIMEOUT_MS, 'requests')
    : undefined;
  // Start the (TLS) handshake now, so the first rate-limit call is not the one that waits for it.
  redis?.connect();
  // The frame log's appends get a connection, a deadline and a breaker of their own: a slow append
  // under load must neither fail over for the rate limiter nor open its breaker.
  const frameLog = createFrameLog(settings, {
    sql: db.sql,
    redis: settings.REDIS_URL
      ? () => redisWith(settings.METRICS_APPEND_TIMEOUT_MS, 'metrics')
      : undefined,
  });
  initState = { kind: 'ready', tookMs: Math.round(performance.now() - started) };
  return { settings, db, redis, frameLog };
}

/**
 * The container's dependencies, initialised once on first use (cold start): settings, secrets, the
 * Postgres pool (connected with retry) and the guarded Redis client. A failed initialisation is not
 * cached: the next request tries again.
 */
export function getRuntime(): Promise<Runtime> {
  stopInitialisationWatch ??= watchInitialisation({
    afterMs: INITIALISATION_STALL_MS,
    isReady: () => initState.kind === 'ready',
    onStalled: () => {
      logger.error('The container is still not initialised 60 s after it started', {
        state: initState.kind,
      });
      metrics.addMetric('InitialisationStalled', MetricUnit.Count, 1);
      metrics.publishStoredMetrics();
    },
  });
  if (!pending) {
    initState = { kind: 'initialising', since: Date.now() };
    pending = initialise().catch((error: unknown) => {
      initState = { kind: 'failed', at: Date.now(), error };
      pending = undefined;
      throw error;
    });
  }
  return pending;
}

/** The readiness check of initialisation: whether the runtime came up. */
export function initialisationCheck(): CheckResult {
  switch (initState.kind) {
    case 'ready':
      return { status: 'pass', latency_ms: initState.tookMs };
    case 'failed':
      return {
        status: 'fail',
        latency_ms: 0,
        detail: 'initialisation failed; retrying on the next request',
      };
    default:
      return { status: 'fail', latency_ms: 0, detail: 'initialising' };
  }
}

/** Closes every connection of the runtime (local runtime shutdown, tests). */
export async function closeRuntime(): Promise<void> {
  const current = pending;
  pending = undefined;
  stopInitialisationWatch?.();
  stopInitialisationWatch = undefined;
  initState = { kind: 'idle' };
  if (!current) return;
  const runtime = await current.catch(() => undefined);
  // Pending appends first: they may still need Redis or Postgres.
  await runtime?.frameLog.close().catch(() => undefined);
  await Promise.all([runtime?.db.close(), runtime?.redis?.close()]);
}

/** The Postgres check of readiness: reachable within the timeout and the schema is current. */
export async function postgresCheck(db: Database, timeoutMs = 1000): Promise<CheckResult> {
  const started = performance.now();
  const elapsed = () => Math.round((performance.now() - started) * 10) / 10;
  try {
    await db.ping(timeoutMs);
    const [row] = await db.sql<{ id: string }[]>`select max(id) as id from schema_migrations`;
    if (row?.id !== MIGRATIONS.at(-1)?.id) {
      return {
        status: 'fail',
        latency_ms: elapsed(),
        detail: 'schema is not current; run the migrations',
      };
    }
    return { status: 'pass', latency_ms: elapsed() };
  } catch {
    return { status: 'fail', latency_ms: elapsed(), detail: 'unreachable' };
  }
}
