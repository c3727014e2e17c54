/**
 * How the runtime reaches Postgres: a full URL (local runtime, tests), the RDS secret's password,
 * or, with `DB_IAM_AUTH`, an RDS IAM auth token signed for every new connection (docs/design.md
 * section 6: RDS Proxy with TLS required and IAM auth).
 */
import { Signer } from '@aws-sdk/rds-signer';
import { DependencyUnavailableError } from '../../core/errors.ts';
import { databaseUrlFromSecret, SECRETS_DEPENDENCY } from '../secrets.ts';
import type { Settings } from '../settings.ts';
import type { DatabaseOptions } from './database.ts';

/** The part of `@aws-sdk/rds-signer`'s `Signer` the runtime uses. */
export interface AuthTokenSigner {
  /** A token for the signer's host, port and user, valid for 15 minutes. */
  getAuthToken(): Promise<string>;
}

/** What a signer is created for. */
export interface AuthTokenTarget {
  hostname: string;
  port: number;
  username: string;
}

/** Dependencies of {@link databaseConnection}. */
export interface DatabaseConnectionDeps {
  /** Reads a secret as JSON (the runtime's cached Secrets Manager loader). */
  getSecretJson: (arn: string) => Promise<unknown>;
  /**
   * Creates the token signer. Default `@aws-sdk/rds-signer` with the default credential chain and
   * `AWS_REGION`; tests inject a fake.
   */
  createSigner?: (target: AuthTokenTarget) => AuthTokenSigner;
  /** Told when a token cannot be signed (the connection attempt then fails authentication). */
  onTokenError?: (error: unknown) => void;
}

/** The connection part of {@link DatabaseOptions}. */
export type DatabaseConnection = Pick<DatabaseOptions, 'url' | 'password' | 'ssl'>;

type ConnectionSettings = Pick<
  Settings,
  'DATABASE_URL' | 'DB_SECRET_ARN' | 'DB_HOST' | 'DB_PORT' | 'DB_NAME' | 'DB_IAM_AUTH' | 'DB_USER'
>;

/** RDS Proxy's port, which IAM tokens are signed for when DB_PORT is unset. */
const DEFAULT_PORT = 5432;

/**
 * Resolves how to connect from the settings: `DATABASE_URL` wins; otherwise `DB_IAM_AUTH` selects
 * IAM tokens, and without it the RDS secret's credentials are used.
 *
 * @throws Error when the settings name no way to connect.
 * @throws DependencyUnavailableError('secrets-manager') when a needed secret cannot be read or used.
 */
export async function databaseConnection(
  settings: ConnectionSettings,
  deps: DatabaseConnectionDeps,
): Promise<DatabaseConnection> {
  if (settings.DATABASE_URL) return { url: settings.DATABASE_URL };
  if (settings.DB_IAM_AUTH) return iamConnection(settings, deps);
  if (!settings.DB_SECRET_ARN) throw new Error('Set DATABASE_URL, or DB_SECRET_ARN (and DB_HOST)');
  const secret = await deps.getSecretJson(settings.DB_SECRET_ARN);
  return {
    url: databaseUrlFromSecret(secret, {
      host: settings.DB_HOST,
      port: settings.DB_PORT,
      dbname: settings.DB_NAME,
    }),
  };
}

async function iamConnection(
  settings: ConnectionSettings,
  deps: DatabaseConnectionDeps,
): Promise<DatabaseConnection> {
  const hostname = settings.DB_HOST;
  if (!hostname) throw new Error('DB_IAM_AUTH needs DB_HOST (the RDS Proxy endpoint)');
  const username = settings.DB_USER ?? (await secretUsername(settings.DB_SECRET_ARN, deps));
  const port = settings.DB_PORT ?? DEFAULT_PORT;
  const dbname = settings.DB_NAME ?? 'postgres';
  const createSigner = deps.createSigner ?? ((target: AuthTokenTarget) => new Signer(target));
  const signer = createSigner({ hostname, port, username });
  return {
    url: `postgres://${encodeURIComponent(username)}@${hostname}:${port}/${encodeURIComponent(dbname)}`,
    // postgres.js calls this for every new connection, so no token outlives its 15 minutes.
    password: async () => {
      try {
        return await signer.getAuthToken();
      } catch (error) {
        // postgres.js does not catch a rejected password function: the rejection would go
        // unhandled (ending a Lambda container) and the connect would hang until its timeout.
        // An empty password fails authentication at once, through the usual retry path instead.
        deps.onTokenError?.(error);
        return '';
      }
    },
    // The token is a bearer credential: verify the proxy's certificate (Amazon Trust Services,
    // in Node's CA bundle) and host name rather than only encrypting.
    ssl: true,
  };
}

async function secretUsername(
  arn: string | undefined,
  deps: DatabaseConnectionDeps,
): Promise<string> {
  if (!arn) throw new Error('DB_IAM_AUTH needs DB_USER, or DB_SECRET_ARN for the username');
  const secret = await deps.getSecretJson(arn);
  const username =
    typeof secret === 'object' && secret !== null
      ? (secret as Record<string, unknown>).username
      : undefined;
  if (typeof username !== 'string' || username === '') {
    throw new DependencyUnavailableError(SECRETS_DEPENDENCY, {
      cause: new Error('The database secret is unusable: missing username'),
    });
  }
  return username;
}
