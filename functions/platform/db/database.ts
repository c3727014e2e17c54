/**
 * The Postgres client: one small postgres.js pool per Lambda container, talking to RDS Proxy.
 */
import { setTimeout as sleepMs } from 'node:timers/promises';
import postgres from 'postgres';
import { backoffDelays, DEFAULT_CONNECT_RETRY, type RetryPolicy } from '../../core/backoff.ts';
import { DependencyUnavailableError } from '../../core/errors.ts';

/** The postgres.js tagged-template client every repository takes. */
export type Sql = postgres.Sql;

/** The dependency name used in {@link DependencyUnavailableError} for Postgres. */
export const POSTGRES_DEPENDENCY = 'postgres';

/** Options of {@link createDatabase}. */
export interface DatabaseOptions {
  /** `postgres://user:password@host:port/dbname[?sslmode=require]`. */
  url: string;
  /**
   * Password that overrides the URL's, called for every new connection (an RDS IAM auth token
   * expires after 15 minutes, so each connection gets a fresh one). Must not reject: postgres.js
   * leaves a rejection unhandled.
   */
  password?: () => string | Promise<string>;
  /** Connections in the pool. A Lambda container serves one request at a time; 2 leaves room for a
   * readiness ping beside a query. Default 2. */
  poolMax?: number;
  /** Seconds to wait for a connection to open. Default 5. */
  connectTimeoutS?: number;
  /** Seconds after which an idle connection is closed. Default 60. */
  idleTimeoutS?: number;
  /**
   * TLS: `'require'` encrypts without verifying the certificate, `true` encrypts and verifies it
   * against Node's CA bundle (RDS Proxy presents an Amazon Trust Services certificate), `false`
   * connects in plain text. When unset, the URL's `sslmode` decides.
   */
  ssl?: boolean | 'require';
  /**
   * Named prepared statements (planned once per connection). Default false: RDS Proxy pins a client
   * that uses them to one backend connection, which defeats its multiplexing.
   */
  prepare?: boolean;
  /** `application_name` reported to the server (visible in pg_stat_activity). Default `auralink-aic`. */
  applicationName?: string;
}

/** A configured pool with a bounded health check. */
export interface Database {
  /** The postgres.js client; connections open lazily on the first query. */
  sql: Sql;
  /**
   * Runs `select 1`; resolves when the server answered within `timeoutMs`.
   *
   * @throws DependencyUnavailableError('postgres') on any failure or when the time runs out.
   */
  ping(timeoutMs?: number): Promise<void>;
  /**
   * Closes every connection, waiting at most `timeoutS` (default 5) for running queries. After an
   * outage postgres.js may wait out the whole timeout even with nothing running; pass 0 to
   * close at once.
   */
  close(timeoutS?: number): Promise<void>;
}

/** Default time a {@link Database.ping} may take. */
export const DEFAULT_PING_TIMEOUT_MS = 2000;

// int8 arrives as text by default. Counters, byte totals and identity ids stay far below 2^53
// (9 PB, 9e15 rows), so a plain number is the sensible JavaScript type for them.
const bigintAsNumber = {
  to: 20,
  from: [20],
  serialize: (value: number | bigint) => value.toString(),
  parse: (value: string) => Number(value),
};

/** Seconds postgres.js waits before reconnecting after its `retries`-th failed connect: 50 ms doubling, at most 0.5 s. */
export function reconnectDelayS(retries: number): number {
  return Math.min(0.05 * 2 ** Math.max(0, retries - 1), 0.5);
}

/** Creates a lazily connecting pool; nothing touches the network until the first query. */
export function createDatabase(options: DatabaseOptions): Database {
  const sql = postgres(options.url, {
    max: options.poolMax ?? 2,
    connect_timeout: options.connectTimeoutS ?? 5,
    idle_timeout: options.idleTimeoutS ?? 60,
    // Named prepared statements pin the client to one backend connection in RDS Proxy, which
    // defeats its multiplexing; unnamed statements keep every query parameterised all the same.
    prepare: options.prepare ?? false,
    onnotice: () => {},
    // After a failed connect postgres.js waits before the next one, up to 20 s by default: a query
    // queued behind that wait after an outage hangs long past the server's return. Short waits
    // keep an outage's requests quick 503s and recovery immediate.
    backoff: reconnectDelayS,
    types: { bigint: bigintAsNumber },
    connection: { application_name: options.applicationName ?? 'auralink-aic' },
    ...(options.password === undefined ? {} : { password: options.password }),
    // postgres.js lets an explicit `ssl` key win over the URL's sslmode, even when undefined.
    ...(options.ssl === undefined ? {} : { ssl: options.ssl }),
  });

  return {
    sql,
    ping: (timeoutMs = DEFAULT_PING_TIMEOUT_MS) => ping(sql, timeoutMs),
    close: (timeoutS = 5) => sql.end({ timeout: timeoutS }),
  };
}

async function ping(sql: Sql, timeoutMs: number): Promise<void> {
  const query = sql`select 1`;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`Postgres did not answer within ${timeoutMs} ms`)),
      timeoutMs,
    );
  });
  try {
    // A ping left behind by the timeout is not cancelled: postgres.js sends a cancel request over a
    // fresh connection whose failure it never reports, and a late `select 1` is harmless. The race
    // keeps a handler on it, so its eventual failure (connect_timeout) is not unhandled.
    await Promise.race([query.execute(), timeout]);
  } catch (error) {
    throw new DependencyUnavailableError(POSTGRES_DEPENDENCY, { cause: error });
  } finally {
    clearTimeout(timer);
  }
}

/** Hooks of {@link connectWithRetry}. */
export interface ConnectWithRetryOptions {
  /** How to wait between tries; tests inject a fast one. Default: a real timer. */
  sleep?: (ms: number) => Promise<void>;
  /** Called after each failed try that will be retried (for logs and metrics). */
  onRetry?: (info: { attempt: number; delayMs: number; error: unknown }) => void;
  /** Time each ping may take. Default {@link DEFAULT_PING_TIMEOUT_MS}. */
  pingTimeoutMs?: number;
}

/**
 * Pings the database until it answers, waiting per the backoff schedule between tries
 * (docs/design.md section 5: 5 tries, 1 s doubling, capped at 30 s).
 *
 * @throws DependencyUnavailableError('postgres') with the last failure as `cause` after the last try.
 */
export async function connectWithRetry(
  db: Pick<Database, 'ping'>,
  retry: RetryPolicy = DEFAULT_CONNECT_RETRY,
  options: ConnectWithRetryOptions = {},
): Promise<void> {
  const delays = backoffDelays(retry);
  const sleep = options.sleep ?? ((ms: number) => sleepMs(ms).then(() => undefined));
  let lastError: unknown;
  for (let attempt = 1; attempt <= retry.tries; attempt++) {
    try {
      await db.ping(options.pingTimeoutMs ?? DEFAULT_PING_TIMEOUT_MS);
      return;
    } catch (error) {
      lastError = error;
      const delayMs = delays[attempt - 1];
      if (delayMs === undefined) break;
      options.onRetry?.({ attempt, delayMs, error });
      await sleep(delayMs);
    }
  }
  throw new DependencyUnavailableError(POSTGRES_DEPENDENCY, { cause: lastError });
}
