/**
 * Who a call is from: the edge interceptor verifies the bearer token of a call's metadata before
 * any of its messages is read and records the caller here, against that metadata object (the one
 * grpc-js hands the method's handler); the handler reads it back.
 */
import type * as grpc from '@grpc/grpc-js';
import { UnauthorizedError } from '../core/errors.ts';
import { tenantFromClaims } from '../core/subject.ts';
import { bearerToken, type JwtSettings, verifyToken } from '../platform/jwt.ts';

/** The verified caller of a call. */
export interface CallIdentity {
  /** The tenant the token names (`AIC_TENANT_CLAIM`, docs/design.md section 2.5). */
  userId: string;
  /** When the token expires (its `exp`), epoch ms: a stream ends then. */
  expiresAtMs: number;
}

const identities = new WeakMap<grpc.Metadata, CallIdentity>();

/** Verifies the bearer token of `metadata`'s `authorization` and records its caller. */
export async function verifyCaller(
  metadata: grpc.Metadata,
  jwt: JwtSettings,
): Promise<CallIdentity> {
  const value = metadata.get('authorization')[0];
  const claims = await verifyToken(bearerToken(typeof value === 'string' ? value : undefined), jwt);
  const tenant = tenantFromClaims(claims, jwt.tenantClaim);
  if (tenant === undefined) throw new UnauthorizedError();
  const identity = { userId: tenant, expiresAtMs: Number(claims.exp) * 1000 };
  identities.set(metadata, identity);
  return identity;
}

/**
 * The caller {@link verifyCaller} recorded for `metadata`.
 *
 * @throws UnauthorizedError when none was: the call did not pass the edge interceptor.
 */
export function callerOf(metadata: grpc.Metadata): CallIdentity {
  const identity = identities.get(metadata);
  if (!identity) throw new UnauthorizedError();
  return identity;
}
