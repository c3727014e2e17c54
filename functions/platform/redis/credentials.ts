/**
 * Where a Redis client's login comes from, so that a rotated password (or an expiring IAM token)
 * is picked up without a restart: the client asks its provider for the current credential when it
 * connects and for a new one when Redis refuses the one it has (see reauthenticator.ts).
 */
import { readFile } from 'node:fs/promises';
import type { SecretsLoader } from '../secrets.ts';

/** A Redis login: the ACL user (absent: `default`) and its password (absent: no AUTH). */
export interface RedisCredentials {
  readonly username?: string;
  readonly password?: string;
}

/** A source of Redis credentials. */
export interface RedisCredentialsProvider {
  /** The credential to log in with now (served from memory while it is fresh). */
  current(): Promise<RedisCredentials>;
  /**
   * Redis refused the current credential: read the source again. Concurrent calls share one read,
   * and a call soon after a read (see {@link DEFAULT_MIN_REFRESH_INTERVAL_MS}) gets that read's
   * result, so a burst of refused commands, or a credential that stays wrong, cannot hammer the
   * source.
   */
  refresh(): Promise<RedisCredentials>;
  /**
   * How often live connections should log in again with {@link current} (ms), for credentials
   * that expire (IAM tokens); undefined when a login lasts as long as the connection.
   */
  readonly renewEveryMs?: number;
}

/** Default least time between two reads of the source by {@link RedisCredentialsProvider.refresh}. */
export const DEFAULT_MIN_REFRESH_INTERVAL_MS = 1_000;

/** Options of {@link cachedCredentials}. */
export interface CachedCredentialsOptions {
  /** Reads the source; `fresh` asks it to bypass any cache of its own (a refused credential). */
  load(fresh: boolean): Promise<RedisCredentials>;
  /** How long `current()` serves a loaded credential (ms). 0: every call loads. Default: forever. */
  maxAgeMs?: number;
  /** Least time between two loads by `refresh()` (ms). */
  minRefreshIntervalMs?: number;
  /** See {@link RedisCredentialsProvider.renewEveryMs}. */
  renewEveryMs?: number;
  /** Clock in epoch milliseconds; tests inject one. */
  now?: () => number;
}

/**
 * A provider over `load` that caches, coalesces concurrent loads into one, and spaces out the loads
 * of `refresh()`. A failed load is not cached: the next call loads again.
 */
export function cachedCredentials(options: CachedCredentialsOptions): RedisCredentialsProvider {
  const now = options.now ?? Date.now;
  const maxAgeMs = options.maxAgeMs ?? Number.POSITIVE_INFINITY;
  const minRefreshIntervalMs = options.minRefreshIntervalMs ?? DEFAULT_MIN_REFRESH_INTERVAL_MS;
  let cached: { value: RedisCredentials; loadedAt: number } | undefined;
  let lastRefreshAt = Number.NEGATIVE_INFINITY;
  // One load of each kind at a time; `current()` may share a fresh one, `refresh()` never shares
  // one that may have been served from a cache of the source.
  const inFlight: { any?: Promise<RedisCredentials>; fresh?: Promise<RedisCredentials> } = {};

  const load = (fresh: boolean): Promise<RedisCredentials> => {
    // The age counts from the start of the load: a token signed then expires counting from then.
    const startedAt = now();
    const loading = options
      .load(fresh)
      .then((value) => {
        // A failed refresh does not count: the next one reads the source again at once.
        if (fresh) lastRefreshAt = startedAt;
        if (!cached || cached.loadedAt <= startedAt) cached = { value, loadedAt: startedAt };
        return value;
      })
      .finally(() => {
        if (inFlight.any === loading) inFlight.any = undefined;
        if (inFlight.fresh === loading) inFlight.fresh = undefined;
      });
    inFlight.any = loading;
    if (fresh) inFlight.fresh = loading;
    return loading;
  };

  return {
    current: () => {
      if (cached && now() - cached.loadedAt < maxAgeMs) return Promise.resolve(cached.value);
      return inFlight.any ?? load(false);
    },
    refresh: () => {
      if (inFlight.fresh) return inFlight.fresh;
      if (cached && now() - lastRefreshAt < minRefreshIntervalMs) {
        return Promise.resolve(cached.value);
      }
      return load(true);
    },
    ...(options.renewEveryMs === undefined ? {} : { renewEveryMs: options.renewEveryMs }),
  };
}

/** Fixed credentials (the URL's own, or `REDIS_USER` with the URL's password): never change. */
export function staticCredentials(credentials: RedisCredentials): RedisCredentialsProvider {
  const value = Promise.resolve(credentials);
  return { current: () => value, refresh: () => value };
}

/** Options of {@link secretCredentials}. */
export interface SecretCredentialsOptions {
  secrets: SecretsLoader;
  /** The secret's ARN (`REDIS_AUTH_SECRET_ARN`). */
  arn: string;
  /** The user when the secret names none (`REDIS_USER`, or the URL's user). */
  username?: string;
  minRefreshIntervalMs?: number;
  now?: () => number;
}

/**
 * The password in a Secrets Manager secret: its `SecretString` (an AUTH token), or JSON
 * `{ "username"?, "password" }`, whose user wins over `username` (a rotation may switch users).
 * `current()` goes through the loader's cache, which expires at the secret's next rotation;
 * `refresh()` forgets the cached value and reads the secret again.
 */
export function secretCredentials(options: SecretCredentialsOptions): RedisCredentialsProvider {
  const { secrets, arn } = options;
  return cachedCredentials({
    maxAgeMs: 0,
    ...(options.minRefreshIntervalMs === undefined
      ? {}
      : { minRefreshIntervalMs: options.minRefreshIntervalMs }),
    ...(options.now === undefined ? {} : { now: options.now }),
    load: async (fresh) => {
      if (fresh) secrets.invalidate(arn);
      return parseSecret(await secrets.getSecret(arn), options.username);
    },
  });
}

/** Reads a secret's text as a credential; see {@link secretCredentials}. */
export function parseSecret(text: string, username: string | undefined): RedisCredentials {
  const trimmed = text.trim();
  if (trimmed.startsWith('{')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(trimmed);
    } catch {
      throw new Error('The Redis secret starts like JSON but is not valid JSON');
    }
    const fields = parsed as { username?: unknown; password?: unknown };
    // Names the problem only: the secret's values must never reach a log.
    if (typeof fields.password !== 'string' || fields.password === '') {
      throw new Error('The Redis secret is JSON without a "password" string');
    }
    const user =
      typeof fields.username === 'string' && fields.username ? fields.username : username;
    return withUser(user, fields.password);
  }
  const password = withoutLineBreak(text);
  if (password === '') throw new Error('The Redis secret is empty');
  return withUser(username, password);
}

/** Default least time between two reads of a password file by `refresh()` (ms). */
export const FILE_MIN_REFRESH_INTERVAL_MS = 100;

/** Options of {@link fileCredentials}. */
export interface FileCredentialsOptions {
  /** The file holding the password (`REDIS_PASSWORD_FILE`). */
  path: string;
  /** The ACL user (`REDIS_USER`, or the URL's user). */
  username?: string;
  minRefreshIntervalMs?: number;
  now?: () => number;
}

/**
 * The password in a file, e.g. a mounted secret that a rotation agent rewrites; one trailing line
 * break is not part of it. Every `current()` and `refresh()` reads the file (it is small and local).
 */
export function fileCredentials(options: FileCredentialsOptions): RedisCredentialsProvider {
  return cachedCredentials({
    maxAgeMs: 0,
    // A local read is cheap: look again soon, so a rewritten file is found without delay.
    minRefreshIntervalMs: options.minRefreshIntervalMs ?? FILE_MIN_REFRESH_INTERVAL_MS,
    ...(options.now === undefined ? {} : { now: options.now }),
    load: async () => {
      const password = withoutLineBreak(await readFile(options.path, 'utf8'));
      // A file caught between truncation and rewrite: fail, so the next refusal reads it again.
      if (password === '') throw new Error(`The Redis password file ${options.path} is empty`);
      return withUser(options.username, password);
    },
  });
}

/** Drops one trailing line break, which editors and `echo` add and no password means. */
function withoutLineBreak(text: string): string {
  return text.replace(/\r?\n$/, '');
}

function withUser(username: string | undefined, password: string): RedisCredentials {
  return username === undefined ? { password } : { username, password };
}

/** Whether two credentials are the same login. */
export function sameCredentials(
  a: RedisCredentials | undefined,
  b: RedisCredentials | undefined,
): boolean {
  return a?.username === b?.username && a?.password === b?.password;
}
