/**
 * Secrets Manager loader: reads a secret once and serves it from memory until its next rotation
 * (docs/design.md section 5), so a warm Lambda container does not call Secrets Manager per request.
 */
import {
  DescribeSecretCommand,
  type DescribeSecretCommandOutput,
  GetSecretValueCommand,
  type GetSecretValueCommandOutput,
} from '@aws-sdk/client-secrets-manager';
import { DependencyUnavailableError } from '../core/errors.ts';

/** The dependency name used in {@link DependencyUnavailableError} for Secrets Manager. */
export const SECRETS_DEPENDENCY = 'secrets-manager';

/** The part of `SecretsManagerClient` the loader uses; a real client satisfies it. */
export interface SecretsManagerClientLike {
  send(
    command: GetSecretValueCommand | DescribeSecretCommand,
  ): Promise<GetSecretValueCommandOutput | DescribeSecretCommandOutput>;
}

/** Options of {@link createSecretsLoader}. */
export interface SecretsLoaderOptions {
  client: SecretsManagerClientLike;
  /** Longest time a value is served without re-reading, whatever the rotation says. Default 1 h. */
  maxAgeMs?: number;
  /**
   * How long to keep a value whose rotation date has already passed (a rotation is due or running).
   * Without this floor every call would re-read until Secrets Manager moves the date. Default 30 s.
   */
  overdueRotationMaxAgeMs?: number;
  /** Clock in epoch milliseconds; tests inject one. Default `Date.now`. */
  now?: () => number;
}

/** Reads secrets through a cache that expires at the secret's next rotation. */
export interface SecretsLoader {
  /**
   * The secret's `SecretString`.
   *
   * @throws DependencyUnavailableError('secrets-manager') with the cause when it cannot be read.
   */
  getSecret(arn: string): Promise<string>;
  /**
   * The secret's `SecretString` parsed as JSON (not validated: check the shape at the caller).
   *
   * @throws DependencyUnavailableError('secrets-manager') when it cannot be read or is not JSON.
   */
  getJson<T = unknown>(arn: string): Promise<T>;
  /** Forgets a cached value, e.g. after the database rejected the credentials it held. */
  invalidate(arn: string): void;
}

/** Default safety cap of the cache: one hour. */
export const DEFAULT_SECRET_MAX_AGE_MS = 60 * 60 * 1000;

/** Default cache time for a secret whose rotation date has passed. */
export const DEFAULT_OVERDUE_ROTATION_MAX_AGE_MS = 30_000;

interface CacheEntry {
  value: string;
  expiresAt: number;
}

/** Creates a loader with its own cache (one per container; share it between handlers). */
export function createSecretsLoader(options: SecretsLoaderOptions): SecretsLoader {
  const { client } = options;
  const maxAgeMs = options.maxAgeMs ?? DEFAULT_SECRET_MAX_AGE_MS;
  const overdueMaxAgeMs = options.overdueRotationMaxAgeMs ?? DEFAULT_OVERDUE_ROTATION_MAX_AGE_MS;
  const now = options.now ?? Date.now;
  const cache = new Map<string, CacheEntry>();
  const inFlight = new Map<string, Promise<string>>();

  async function fetchSecret(arn: string): Promise<string> {
    const fetchedAt = now();
    let value: GetSecretValueCommandOutput;
    let description: DescribeSecretCommandOutput;
    try {
      const [valueOutput, describeOutput] = await Promise.all([
        client.send(new GetSecretValueCommand({ SecretId: arn })),
        client.send(new DescribeSecretCommand({ SecretId: arn })),
      ]);
      value = valueOutput as GetSecretValueCommandOutput;
      description = describeOutput as DescribeSecretCommandOutput;
    } catch (error) {
      throw new DependencyUnavailableError(SECRETS_DEPENDENCY, { cause: error });
    }
    if (typeof value.SecretString !== 'string') {
      throw new DependencyUnavailableError(SECRETS_DEPENDENCY, {
        cause: new Error(`Secret ${arn} has no SecretString (binary secrets are not supported)`),
      });
    }
    const nextRotation = description.NextRotationDate?.getTime();
    let expiresAt = fetchedAt + maxAgeMs;
    if (nextRotation !== undefined) {
      expiresAt = Math.min(
        expiresAt,
        nextRotation > fetchedAt ? nextRotation : fetchedAt + overdueMaxAgeMs,
      );
    }
    cache.set(arn, { value: value.SecretString, expiresAt });
    return value.SecretString;
  }

  async function getSecret(arn: string): Promise<string> {
    const cached = cache.get(arn);
    if (cached && now() < cached.expiresAt) return cached.value;
    const pending = inFlight.get(arn);
    if (pending) return pending;
    // Concurrent callers share this one fetch; it leaves the map whether it succeeds or fails, so
    // a failure is never cached and the next caller tries again.
    const fetch = fetchSecret(arn).finally(() => inFlight.delete(arn));
    inFlight.set(arn, fetch);
    return fetch;
  }

  return {
    getSecret,
    async getJson<T>(arn: string): Promise<T> {
      const text = await getSecret(arn);
      try {
        return JSON.parse(text) as T;
      } catch (error) {
        throw new DependencyUnavailableError(SECRETS_DEPENDENCY, {
          cause: new Error(`Secret ${arn} is not valid JSON`, { cause: error }),
        });
      }
    },
    invalidate(arn: string) {
      cache.delete(arn);
    },
  };
}

/** Overrides of {@link databaseUrlFromSecret}; e.g. `host` is the RDS Proxy endpoint. */
export interface DatabaseUrlOverrides {
  host?: string;
  port?: number;
  dbname?: string;
}

/**
 * Builds `postgres://user:password@host:port/dbname?sslmode=require` from an RDS secret
 * (`{ username, password, host, port, dbname }`), percent-encoding every part.
 *
 * @throws DependencyUnavailableError('secrets-manager') when the secret lacks a required field.
 */
export function databaseUrlFromSecret(
  secretJson: unknown,
  overrides: DatabaseUrlOverrides = {},
): string {
  const secret: Record<string, unknown> =
    typeof secretJson === 'object' && secretJson !== null ? { ...secretJson } : {};
  const field = (name: string): string | undefined => {
    const value = secret[name];
    if (typeof value === 'string' && value !== '') return value;
    if (typeof value === 'number') return String(value);
    return undefined;
  };
  const username = field('username');
  const password = field('password');
  const host = overrides.host ?? field('host');
  const port = overrides.port ?? Number(field('port') ?? 5432);
  const dbname = overrides.dbname ?? field('dbname') ?? 'postgres';
  if (username === undefined || password === undefined || host === undefined) {
    const missing = Object.entries({ username, password, host })
      .filter(([, value]) => value === undefined)
      .map(([name]) => name);
    throw unusableSecret(`missing ${missing.join(', ')}`);
  }
  if (!Number.isInteger(port) || port < 1 || port > 65_535) throw unusableSecret('invalid port');
  return (
    `postgres://${encodeURIComponent(username)}:${encodeURIComponent(password)}` +
    `@${host}:${port}/${encodeURIComponent(dbname)}?sslmode=require`
  );
}

// Names the problem only: the secret's values must never reach a log.
function unusableSecret(problem: string): DependencyUnavailableError {
  return new DependencyUnavailableError(SECRETS_DEPENDENCY, {
    cause: new Error(`The database secret is unusable: ${problem}`),
  });
}
