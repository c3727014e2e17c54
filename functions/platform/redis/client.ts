import type { ConnectionOptions } from 'node:tls';
import { Redis } from 'ioredis';
import type { RedisCredentialsProvider } from './credentials.ts';
import { RedisReauthenticator } from './reauthenticator.ts';

/**
 * Redis client factory (ioredis 6) tuned for a request path that must never wait on Redis: the
 * rate limiter fails open, so a slow or absent Redis has to show up as a fast error, not a stall.
 */

/** Default per-command timeout: the limiter must not add more than this to a request. */
export const DEFAULT_COMMAND_TIMEOUT_MS = 50;

/** Default timeout of one connection attempt (TCP, TLS and handshake). */
export const DEFAULT_CONNECT_TIMEOUT_MS = 1_000;

/** Default cap of the reconnect backoff. */
export const DEFAULT_MAX_RECONNECT_DELAY_MS = 2_000;

/** Minimal structured logger; Powertools' `Logger` satisfies it. */
export interface RedisLogger {
  info(message: string, attributes: Record<string, unknown>): void;
  warn(message: string, attributes: Record<string, unknown>): void;
}

/** Options of {@link createRedisClient}; the composition root fills them from the environment. */
export interface RedisClientOptions {
  /**
   * `redis://host:port[/db]` or `rediss://...` (TLS). Credentials in the URL are used unless
   * `username` or `password` is given.
   */
  url: string;
  /** A command without a reply after this many ms is rejected with "Command timed out". */
  commandTimeoutMs?: number;
  /** Timeout of one connection attempt. */
  connectTimeoutMs?: number;
  /** Prepended to every key (ioredis `keyPrefix`), e.g. `aic:`. */
  keyPrefix?: string;
  /** `true` or TLS options to use TLS; a `rediss://` URL implies `true`. */
  tls?: boolean | ConnectionOptions;
  /** AUTH password; with `credentials`, the provider's current one. */
  password?: string;
  /** AUTH user name (Redis ACL), when not the default user. */
  username?: string;
  /**
   * Where the login comes from when it can change (a rotated password, an IAM token): the client
   * then logs in again with a new credential when Redis refuses its own (reauthenticator.ts).
   * `username` and `password` are its first value: `await credentials.current()`.
   */
  credentials?: RedisCredentialsProvider;
  /** Upper bound of the reconnect backoff; reconnecting itself never stops. */
  maxReconnectDelayMs?: number;
  /** Connect only on first use (default `true`), so creating a client costs nothing at import. */
  lazyConnect?: boolean;
  /** Receives connection errors and reconnects; without it they are swallowed, never unhandled. */
  logger?: RedisLogger;
  /** Shown in `CLIENT LIST`, helps operators find the container. */
  connectionName?: string;
}

/**
 * Reconnect delay for the `times`-th attempt: exponential from 50 ms, capped, with up to 10 %
 * jitter so a fleet of containers does not reconnect in lockstep. Never gives up.
 */
export function reconnectDelayMs(times: number, maxDelayMs: number): number {
  const base = Math.min(maxDelayMs, 50 * 2 ** Math.min(Math.max(times - 1, 0), 16));
  return Math.round(base * (1 - Math.random() * 0.1));
}

/**
 * Creates an ioredis client that fails fast while disconnected:
 * - no offline queue and no per-request retries, so a command issued while the connection is down
 *   is rejected at once instead of waiting for a reconnect;
 * - `commandTimeoutMs` on every command;
 * - unfulfilled commands are not resent after a reconnect (a resent rate-limit increment would
 *   count twice);
 * - reconnects forever in the background with bounded backoff;
 * - an `error` listener is always attached (forwarding to `logger`), so a connection error can
 *   never crash the process as an unhandled `error` event;
 * - with `credentials`, a refused login is repaired with a new credential
 *   ({@link RedisReauthenticator.of} finds the client's re-authenticator).
 */
export function createRedisClient(options: RedisClientOptions): Redis {
  const maxReconnectDelayMs = options.maxReconnectDelayMs ?? DEFAULT_MAX_RECONNECT_DELAY_MS;
  const useTls = options.tls !== undefined ? options.tls : /^rediss:\/\//i.test(options.url);
  const explicitLogin = options.username !== undefined || options.password !== undefined;
  // ioredis lets the URL's credentials win over the options; explicit ones must win here.
  const redis = new Redis(explicitLogin ? withoutCredentials(options.url) : options.url, {
    commandTimeout: options.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS,
    connectTimeout: options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    // The INFO ready check only matters while a server loads a dump; skipping it saves a round
    // trip on every cold start, and a loading server answers with errors the breaker counts.
    enableReadyCheck: false,
    lazyConnect: options.lazyConnect ?? true,
    retryStrategy: (times) => reconnectDelayMs(times, maxReconnectDelayMs),
    ...(useTls === false ? {} : { tls: useTls === true ? {} : useTls }),
    ...(options.keyPrefix === undefined ? {} : { keyPrefix: options.keyPrefix }),
    ...(options.password === undefined ? {} : { password: options.password }),
    ...(options.username === undefined ? {} : { username: options.username }),
    ...(options.connectionName === undefined ? {} : { connectionName: options.connectionName }),
  });
  attachLogging(redis, options.logger);
  if (options.credentials) RedisReauthenticator.attach(redis, options.credentials, options.logger);
  return redis;
}

function withoutCredentials(url: string): string {
  const parsed = new URL(url);
  parsed.username = '';
  parsed.password = '';
  return parsed.toString();
}

/** Forwards connection events to the logger, once per distinct error until the next `ready`. */
function attachLogging(redis: Redis, logger: RedisLogger | undefined): void {
  let lastError: string | undefined;
  redis.on('error', (error: unknown) => {
    const message = error instanceof Error ? error.message : String(error);
    // While Redis is down every reconnect attempt fails the same way; log the first only.
    if (message === lastError) return;
    lastError = message;
    logger?.warn('Redis connection error', {
      error: message,
      code: (error as { code?: unknown } | null)?.code,
    });
  });
  redis.on('ready', () => {
    if (lastError !== undefined) logger?.info('Redis connection restored', {});
    lastError = undefined;
  });
}
