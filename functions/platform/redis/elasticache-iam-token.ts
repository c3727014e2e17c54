/**
 * ElastiCache IAM authentication (docs/design.md section 6): the password of an IAM-enabled
 * ElastiCache user is a SigV4-presigned `GET http://<replication group id>/?Action=connect&User=
 * <user id>` for the `elasticache` service, valid 15 minutes, sent without its `http://`. Signed
 * as `@aws-sdk/rds-signer` signs RDS tokens, with the same libraries and credential chain.
 */
import { fromNodeProviderChain } from '@aws-sdk/credential-providers';
import { Sha256 } from '@smithy/core/checksum';
import { buildQueryString, HttpRequest } from '@smithy/core/protocols';
import { SignatureV4 } from '@smithy/signature-v4';
import { cachedCredentials, type RedisCredentialsProvider } from './credentials.ts';

/** How long a token is valid (s): ElastiCache refuses longer ones. */
export const IAM_TOKEN_EXPIRES_S = 900;

/** How long a signed token is used for new logins (ms), well inside its 15 minutes. */
export const IAM_TOKEN_REUSE_MS = 10 * 60_000;

/**
 * How often live connections log in again (ms). ElastiCache closes an IAM-authenticated connection
 * 12 hours after its last AUTH; logging in again whenever the token is renewed keeps it open, and
 * checking this often bounds a token's age at its use to 14 minutes.
 */
export const IAM_REAUTH_EVERY_MS = 4 * 60_000;

/** AWS credentials as the SDK's credential providers return them. */
export interface AwsCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
  readonly expiration?: Date;
}

/** A source of AWS credentials (the SDK's default chain is one). */
export type AwsCredentialsProvider = (options?: {
  forceRefresh?: boolean;
}) => Promise<AwsCredentials>;

/** What a token is signed for. */
export interface IamTokenRequest {
  /** The ElastiCache user ID, which an IAM-enabled user's name equals (`REDIS_USER`). */
  userId: string;
  /** The replication group ID (`REDIS_CACHE_NAME`); signed in lower case, as ElastiCache expects. */
  cacheName: string;
  /** The cache's region (`AWS_REGION`). */
  region: string;
}

/** Signs one token with `credentials` at `signingDate`. */
export async function signIamToken(
  request: IamTokenRequest,
  credentials: AwsCredentials,
  signingDate: Date,
): Promise<string> {
  const host = request.cacheName.toLowerCase();
  const signer = new SignatureV4({
    service: 'elasticache',
    region: request.region,
    credentials,
    sha256: Sha256,
  });
  const presigned = await signer.presign(
    new HttpRequest({
      method: 'GET',
      protocol: 'http:',
      hostname: host,
      path: '/',
      query: { Action: 'connect', User: request.userId },
      headers: { host },
    }),
    { expiresIn: IAM_TOKEN_EXPIRES_S, signingDate },
  );
  return `${host}/?${buildQueryString(presigned.query ?? {})}`;
}

/** Options of {@link iamCredentials}. */
export interface IamCredentialsOptions extends IamTokenRequest {
  /** Default: the SDK's default chain (the Lambda's or the task's role). */
  credentials?: AwsCredentialsProvider;
  now?: () => number;
}

/**
 * The user ID and a token for it, re-signed once {@link IAM_TOKEN_REUSE_MS} old or when Redis
 * refused it; live connections log in again every {@link IAM_REAUTH_EVERY_MS}.
 */
export function iamCredentials(options: IamCredentialsOptions): RedisCredentialsProvider {
  const now = options.now ?? Date.now;
  const source = options.credentials ?? fromNodeProviderChain();
  const request: IamTokenRequest = {
    userId: options.userId,
    cacheName: options.cacheName,
    region: options.region,
  };
  return cachedCredentials({
    maxAgeMs: IAM_TOKEN_REUSE_MS,
    renewEveryMs: IAM_REAUTH_EVERY_MS,
    now,
    load: async () => {
      const signedAt = now();
      const credentials = await lastingCredentials(source, signedAt);
      return {
        username: options.userId,
        password: await signIamToken(request, credentials, new Date(signedAt)),
      };
    },
  });
}

/**
 * Credentials that outlive the token signed with them: a token is refused once they expire, so
 * credentials about to expire are renewed first (as `@aws-sdk/rds-signer` does); if that fails,
 * the ones at hand still serve until they expire.
 */
async function lastingCredentials(
  source: AwsCredentialsProvider,
  now: number,
): Promise<AwsCredentials> {
  const credentials = await source();
  const lifetimeMs = IAM_TOKEN_EXPIRES_S * 1000;
  if (!credentials.expiration || credentials.expiration.getTime() - now >= lifetimeMs) {
    return credentials;
  }
  try {
    return await source({ forceRefresh: true });
  } catch {
    return credentials;
  }
}
