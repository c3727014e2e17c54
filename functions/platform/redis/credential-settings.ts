/**
 * Chooses where the services' Redis login comes from, from the settings (docs/design.md section 6):
 * IAM auth tokens on AWS, or a password in Secrets Manager or in a file, or the URL's own login.
 */
import type { SecretsLoader } from '../secrets.ts';
import type { Settings } from '../settings.ts';
import {
  fileCredentials,
  type RedisCredentialsProvider,
  secretCredentials,
  staticCredentials,
} from './credentials.ts';
import { type AwsCredentialsProvider, iamCredentials } from './elasticache-iam-token.ts';

/** The settings that choose the login. */
export type RedisLoginSettings = Pick<
  Settings,
  | 'REDIS_URL'
  | 'REDIS_AUTH_SECRET_ARN'
  | 'REDIS_PASSWORD_FILE'
  | 'REDIS_USER'
  | 'REDIS_IAM_AUTH'
  | 'REDIS_CACHE_NAME'
>;

/** What the sources need from the process. */
export interface RedisLoginDependencies {
  /** The process's secrets loader (called only for `REDIS_AUTH_SECRET_ARN`). */
  secrets: () => SecretsLoader;
  /** `AWS_REGION`: the region IAM tokens are signed for. */
  region: string | undefined;
  /** AWS credentials for IAM tokens; default the SDK's default chain. */
  awsCredentials?: AwsCredentialsProvider;
}

/**
 * The provider of the Redis login, or undefined when there is no Redis or it needs no login:
 * - `REDIS_IAM_AUTH=true`: IAM tokens for `REDIS_USER` on `REDIS_CACHE_NAME` in `AWS_REGION`,
 *   over TLS only (a token is a bearer credential);
 * - `REDIS_AUTH_SECRET_ARN`: the secret's password (plain, or JSON with a user);
 * - `REDIS_PASSWORD_FILE`: the file's password;
 * - otherwise the URL's user and password, with `REDIS_USER` as the user when set.
 * The user of a password is `REDIS_USER`, else the URL's.
 *
 * @throws Error naming the setting when they do not fit together.
 */
export function redisLogin(
  settings: RedisLoginSettings,
  deps: RedisLoginDependencies,
): RedisCredentialsProvider | undefined {
  if (!settings.REDIS_URL) return undefined;
  const url = parseRedisUrl(settings.REDIS_URL);
  const sources = (
    [
      ['REDIS_IAM_AUTH', settings.REDIS_IAM_AUTH],
      ['REDIS_AUTH_SECRET_ARN', settings.REDIS_AUTH_SECRET_ARN !== undefined],
      ['REDIS_PASSWORD_FILE', settings.REDIS_PASSWORD_FILE !== undefined],
      ['a password in REDIS_URL', url.password !== undefined],
    ] as const
  )
    .filter(([, set]) => set)
    .map(([name]) => name);
  if (sources.length > 1) {
    throw new Error(
      `The Redis password must come from one place; set only one of ${sources.join(', ')}`,
    );
  }
  const username = settings.REDIS_USER ?? url.username;
  if (settings.REDIS_IAM_AUTH) return iamLogin(settings, deps, url.tls);
  if (settings.REDIS_AUTH_SECRET_ARN) {
    return secretCredentials({
      secrets: deps.secrets(),
      arn: settings.REDIS_AUTH_SECRET_ARN,
      username,
    });
  }
  if (settings.REDIS_PASSWORD_FILE) {
    return fileCredentials({ path: settings.REDIS_PASSWORD_FILE, username });
  }
  if (username === undefined && url.password === undefined) return undefined;
  return staticCredentials({
    ...(username === undefined ? {} : { username }),
    ...(url.password === undefined ? {} : { password: url.password }),
  });
}

function iamLogin(
  settings: RedisLoginSettings,
  deps: RedisLoginDependencies,
  tls: boolean,
): RedisCredentialsProvider {
  const needs = (what: string) => new Error(`REDIS_IAM_AUTH=true needs ${what}`);
  if (!settings.REDIS_USER) throw needs('REDIS_USER (the ElastiCache user ID)');
  if (!settings.REDIS_CACHE_NAME) throw needs('REDIS_CACHE_NAME (the replication group ID)');
  if (!deps.region) throw needs('AWS_REGION (the region of the cache)');
  if (!tls) throw needs('TLS: a rediss:// REDIS_URL');
  return iamCredentials({
    userId: settings.REDIS_USER,
    cacheName: settings.REDIS_CACHE_NAME,
    region: deps.region,
    ...(deps.awsCredentials === undefined ? {} : { credentials: deps.awsCredentials }),
  });
}

function parseRedisUrl(text: string): { username?: string; password?: string; tls: boolean } {
  const url = URL.canParse(text) ? new URL(text) : undefined;
  if (url?.protocol !== 'redis:' && url?.protocol !== 'rediss:') {
    throw new Error('REDIS_URL must be redis://host:port or rediss://host:port');
  }
  const decoded = (part: string) => (part === '' ? undefined : decodeURIComponent(part));
  const username = decoded(url.username);
  const password = decoded(url.password);
  return {
    ...(username === undefined ? {} : { username }),
    ...(password === undefined ? {} : { password }),
    tls: url.protocol === 'rediss:',
  };
}
