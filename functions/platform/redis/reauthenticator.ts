/**
 * Keeps an ioredis client logged in while its credential changes (a rotated password, an expiring
 * IAM token). ioredis logs in (HELLO ... AUTH) on every connect and reconnect with
 * `redis.options.username/password`, so those options always hold the latest credential:
 *
 * - when Redis refuses a login (the handshake fails with WRONGPASS, or a command gets NOAUTH), the
 *   provider is asked for a new credential (`refresh()`, one fetch for any number of refusals) and
 *   it goes into the options, and onto the live connection with AUTH when there is one; the next
 *   reconnect (ioredis keeps reconnecting with backoff) logs in with it;
 * - for a provider with `renewEveryMs` (IAM tokens), a timer puts `current()` into the options and
 *   sends AUTH on the live connection whenever it changed, so new connections never present an
 *   expired token and live ones are re-authenticated well before ElastiCache's 12-hour limit.
 */
import type { Redis } from 'ioredis';
import type { RedisLogger } from './client.ts';
import {
  type RedisCredentials,
  type RedisCredentialsProvider,
  sameCredentials,
} from './credentials.ts';

/**
 * What ioredis rejects a command with when the connection is not ready and there is no offline
 * queue (the fail-fast client): the command was never sent.
 */
const NOT_SENT_MESSAGE = "Stream isn't writeable and enableOfflineQueue options is false";

/** Whether `error` is Redis refusing a login: `NOAUTH` (none yet) or `WRONGPASS` (a wrong one). */
export function isLoginRefused(error: unknown): boolean {
  return error instanceof Error && /^(NOAUTH|WRONGPASS)\b/.test(error.message);
}

interface Repair {
  readonly promise: Promise<boolean>;
  readonly settle: (ok: boolean) => void;
  /** The new credential a coming connection attempt will present, once fetched. */
  awaiting?: RedisCredentials;
}

const attached = new WeakMap<Redis, RedisReauthenticator>();

/** Re-authenticates one client; see the module comment. */
export class RedisReauthenticator {
  readonly #redis: Redis;
  readonly #provider: RedisCredentialsProvider;
  readonly #logger: RedisLogger | undefined;
  /** The credential of the latest connection attempt. */
  #attempt: RedisCredentials | undefined;
  /** The credential Redis refused last; cleared once a connection is ready. */
  #refused: RedisCredentials | undefined;
  #repair: Repair | undefined;
  #timer: NodeJS.Timeout | undefined;

  /** Attaches a re-authenticator to `redis` (before it first connects); {@link of} finds it. */
  static attach(
    redis: Redis,
    provider: RedisCredentialsProvider,
    logger?: RedisLogger,
  ): RedisReauthenticator {
    const reauthenticator = new RedisReauthenticator(redis, provider, logger);
    attached.set(redis, reauthenticator);
    return reauthenticator;
  }

  /** The re-authenticator of `redis`, if it has one. */
  static of(redis: Redis): RedisReauthenticator | undefined {
    return attached.get(redis);
  }

  private constructor(redis: Redis, provider: RedisCredentialsProvider, logger?: RedisLogger) {
    this.#redis = redis;
    this.#provider = provider;
    this.#logger = logger;
    // ioredis reads the options when it starts an attempt and emits `connecting` on the next tick,
    // before any awaited work of this class can change them.
    redis.on('connecting', () => {
      this.#attempt = loginOf(redis);
    });
    redis.on('ready', () => this.#onReady());
    redis.on('error', (error: unknown) => this.#onError(error));
    redis.on('end', () => this.stop());
    if (provider.renewEveryMs !== undefined) {
      this.#timer = setInterval(() => void this.#renew(), provider.renewEveryMs);
      // A pending renewal must not keep a finished process (or a frozen Lambda) alive.
      this.#timer.unref();
    }
  }

  /**
   * Whether a command failed because Redis refused the login: a `NOAUTH`/`WRONGPASS` reply, or a
   * command not sent while the connection whose login was refused is down. Either way the server
   * did not run it, so it may be sent once more after {@link repair} without applying it twice.
   */
  failedOnLogin(error: unknown): boolean {
    if (isLoginRefused(error)) return true;
    return (
      this.#refused !== undefined && error instanceof Error && error.message === NOT_SENT_MESSAGE
    );
  }

  /**
   * Fetches a new credential and makes the connection use it. Resolves true once the connection is
   * logged in with it (AUTH on a live connection, or the next reconnect), false when it could not
   * be fetched, is the one Redis just refused, or was refused too. Concurrent calls share one.
   */
  repair(): Promise<boolean> {
    if (this.#repair) return this.#repair.promise;
    let settle: (ok: boolean) => void = () => undefined;
    const promise = new Promise<boolean>((resolve) => {
      settle = resolve;
    });
    const repair: Repair = { promise, settle };
    this.#repair = repair;
    void this.#fetchAndApply(repair);
    return promise;
  }

  /** Stops the renewal timer and ends a pending repair (the client is closing). */
  stop(): void {
    clearInterval(this.#timer);
    this.#end(false);
  }

  async #fetchAndApply(repair: Repair): Promise<void> {
    let credentials: RedisCredentials;
    try {
      credentials = await this.#provider.refresh();
    } catch (error) {
      this.#logger?.warn('Could not fetch the Redis credential', { error: String(error) });
      this.#end(false, repair);
      return;
    }
    if (this.#repair !== repair) return;
    this.#apply(credentials);
    const status = this.#redis.status;
    if (status === 'ready') {
      const ok = await this.#login(credentials);
      if (ok) this.#refused = undefined;
      this.#end(ok, repair);
    } else if (status === 'end' || sameCredentials(credentials, this.#refused)) {
      // Nothing new to present: the reconnects go on with backoff until the source changes.
      this.#end(false, repair);
    } else {
      repair.awaiting = credentials;
    }
  }

  #onReady(): void {
    if (this.#refused !== undefined) this.#logger?.info('Redis accepted the new credential', {});
    this.#refused = undefined;
    if (this.#repair?.awaiting) this.#end(true);
  }

  #onError(error: unknown): void {
    const awaiting = this.#repair?.awaiting;
    // Only a failed attempt with the awaited credential decides the repair: one still made with
    // the refused credential was already under way when the new one arrived.
    if (awaiting && sameCredentials(awaiting, this.#attempt)) this.#end(false);
    if (!isLoginRefused(error)) return;
    if (this.#refused === undefined) {
      this.#logger?.warn('Redis refused the login; fetching the credential again', {
        user: this.#attempt?.username ?? 'default',
      });
    }
    this.#refused = this.#attempt ?? {};
    void this.repair();
  }

  #end(ok: boolean, repair: Repair | undefined = this.#repair): void {
    if (repair === undefined || this.#repair !== repair) return;
    this.#repair = undefined;
    repair.settle(ok);
  }

  async #renew(): Promise<void> {
    let credentials: RedisCredentials;
    try {
      credentials = await this.#provider.current();
    } catch (error) {
      this.#logger?.warn('Could not renew the Redis credential', { error: String(error) });
      return;
    }
    if (sameCredentials(credentials, loginOf(this.#redis))) return;
    this.#apply(credentials);
    if (this.#redis.status === 'ready') await this.#login(credentials);
  }

  #apply(credentials: RedisCredentials): void {
    this.#redis.options.username = credentials.username;
    this.#redis.options.password = credentials.password;
  }

  /** AUTH on the live connection; a refusal leaves it logged in as before. */
  async #login(credentials: RedisCredentials): Promise<boolean> {
    const { username, password } = credentials;
    if (password === undefined) return false;
    try {
      await (username === undefined
        ? this.#redis.auth(password)
        : this.#redis.auth(username, password));
      return true;
    } catch (error) {
      this.#logger?.warn('Redis refused AUTH with the new credential', {
        error: error instanceof Error ? error.message : String(error),
      });
      return false;
    }
  }
}

/** The login in the client's options (ioredis defaults both fields to null). */
function loginOf(redis: Redis): RedisCredentials {
  const { username, password } = redis.options;
  return {
    ...(typeof username === 'string' ? { username } : {}),
    ...(typeof password === 'string' ? { password } : {}),
  };
}
