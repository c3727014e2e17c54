import { createHash, timingSafeEqual } from 'node:crypto';
import { ORIGIN_VERIFY_HEADER } from '../core/contracts/origin.ts';

/** How long the origin authorizer keeps the secret before reading it again. */
export const ORIGIN_SECRET_MAX_AGE_MS = 5 * 60 * 1000;

const digest = (value: string) => createHash('sha256').update(value, 'utf8').digest();

/**
 * A check of the origin header against the secret CloudFront sends (docs/design.md section 6).
 * The comparison takes the same time whatever the presented value (digests of equal length,
 * compared in constant time); an absent or empty value is refused without reading the secret.
 *
 * @param readSecret reads the expected value; a failure propagates, so the request is refused.
 */
export function createOriginVerifier(
  readSecret: () => Promise<string>,
): (presented: string | undefined) => Promise<boolean> {
  return async (presented) => {
    if (!presented) return false;
    const expected = await readSecret();
    if (!expected) return false;
    return timingSafeEqual(digest(presented), digest(expected));
  };
}

/** The request fields of API Gateway's HTTP API authorizer event (payload 2.0) the check reads. */
export interface OriginAuthorizerEvent {
  readonly headers?: Readonly<Record<string, string | undefined>>;
}

/** API Gateway's "simple" authorizer response. */
export interface OriginAuthorizerResult {
  readonly isAuthorized: boolean;
}

/**
 * The HTTP API Lambda authorizer of the routes without a token: authorized exactly when the
 * request carries CloudFront's origin header with the secret value. API Gateway lowercases header
 * names in payload 2.0.
 */
export function createOriginAuthorizer(
  verify: (presented: string | undefined) => Promise<boolean>,
): (event: OriginAuthorizerEvent) => Promise<OriginAuthorizerResult> {
  return async (event) => ({
    isAuthorized: await verify(event.headers?.[ORIGIN_VERIFY_HEADER]),
  });
}
