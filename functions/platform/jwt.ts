import { errors as joseErrors, jwtVerify, SignJWT } from 'jose';
import { UnauthorizedError } from '../core/errors.ts';
import { isUsableSubject } from '../core/subject.ts';

/** Signing key used when AIC_JWT_SECRET is unset: for the local runtime only, never on AWS. */
export const DEV_JWT_SECRET = 'auralink-aic-local-development-signing-key';

/** How bearer tokens are checked where no API Gateway authorizer does it (local runtime, gRPC). */
export interface JwtSettings {
  /** HS256 shared secret, at least 32 bytes. */
  secret: string;
  issuer: string;
  audience: string;
}

/** The claims handlers read, as API Gateway's JWT authorizer passes them on. */
export type JwtClaims = Record<string, string | number | boolean | string[]>;

/** Reads JWT settings from the environment, falling back to the local development defaults. */
export function jwtSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): JwtSettings {
  return {
    secret: env.AIC_JWT_SECRET ?? DEV_JWT_SECRET,
    issuer: env.AIC_JWT_ISSUER ?? 'auralink-aic-local',
    audience: env.AIC_JWT_AUDIENCE ?? 'auralink-aic',
  };
}

const keyOf = (settings: JwtSettings) => new TextEncoder().encode(settings.secret);

/** Extracts the token of an `Authorization: Bearer <token>` header value, or undefined. */
export function bearerToken(header: string | undefined): string | undefined {
  const match = /^Bearer\s+([A-Za-z0-9._~+/=-]+)\s*$/i.exec(header ?? '');
  return match?.[1];
}

/**
 * Verifies a bearer token (signature, `alg`, issuer, audience, `exp`, `nbf`) and returns its claims.
 * Every failure is the same {@link UnauthorizedError}: the reason is logged, never told to callers.
 */
export async function verifyToken(
  token: string | undefined,
  settings: JwtSettings,
): Promise<JwtClaims> {
  if (!token) throw new UnauthorizedError();
  try {
    const { payload } = await jwtVerify(token, keyOf(settings), {
      algorithms: ['HS256'],
      issuer: settings.issuer,
      audience: settings.audience,
      requiredClaims: ['sub', 'exp'],
    });
    if (!isUsableSubject(payload.sub)) throw new UnauthorizedError();
    return payload as JwtClaims;
  } catch (error) {
    if (error instanceof UnauthorizedError) throw error;
    if (error instanceof joseErrors.JOSEError)
      throw new UnauthorizedError(undefined, { cause: error });
    throw error;
  }
}

/** Signs a development token for `sub`, valid for `ttlSeconds`. */
export async function signToken(
  sub: string,
  settings: JwtSettings,
  ttlSeconds = 12 * 3600,
): Promise<string> {
  return new SignJWT({ scope: 'aic' })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(sub)
    .setIssuer(settings.issuer)
    .setAudience(settings.audience)
    .setIssuedAt()
    .setExpirationTime(`${ttlSeconds}s`)
    .sign(keyOf(settings));
}
