import {
  createRemoteJWKSet,
  type JWTPayload,
  type JWTVerifyGetKey,
  errors as joseErrors,
  jwtVerify,
  SignJWT,
} from 'jose';
import { DependencyUnavailableError, UnauthorizedError } from '../core/errors.ts';
import { tenantFromClaims } from '../core/subject.ts';
import { issuerJwksUrl } from '../core/token-issuer.ts';
import { loadSettings, type Settings } from './settings.ts';
import { assertNoSharedKey } from './shared-key.ts';

/** Signing key used when AIC_JWT_SECRET is unset: for the local runtime only, never on AWS. */
export const DEV_JWT_SECRET = 'auralink-aic-local-development-signing-key';

/** The dependency name used in {@link DependencyUnavailableError} when the JWKS is unreachable. */
export const JWKS_DEPENDENCY = 'jwks';

/** Algorithms accepted from a JWKS: those of Cognito, Auth0, Okta, Entra ID and Keycloak keys. */
export const JWKS_ALGORITHMS = ['RS256', 'ES256'];

/** How bearer tokens are checked where no API Gateway authorizer does it (local runtime, gRPC). */
export interface JwtSettings {
  /** HS256 shared secret, at least 32 bytes; verifies tokens when {@link jwksUrl} is unset. */
  secret: string;
  issuer: string;
  /** Accepted audiences: a token's `aud` or `client_id` must be one of them (as API Gateway checks). */
  audience: string | string[];
  /** The issuer's public keys: when set, RS256/ES256 tokens are verified against it, not HS256. */
  jwksUrl?: string;
  /** The claim that names the tenant (`AIC_TENANT_CLAIM`); a token without a usable one is refused. */
  tenantClaim: string;
  /** The `token_use` a token must carry (`AIC_JWT_TOKEN_USE`), when set. */
  tokenUse?: string;
  /** Scopes of which a token must hold one (`AIC_JWT_SCOPES`), when set. */
  scopes?: readonly string[];
}

/** The claims handlers read, as API Gateway's JWT authorizer passes them on. */
export type JwtClaims = Record<string, string | number | boolean | string[]>;

/**
 * The token check of the settings (`AIC_JWT_*`, docs/design.md section 7): the issuer, every
 * accepted audience, and either the issuer's JWKS (`AIC_JWT_JWKS_URL`, or `AIC_JWT_VERIFY=jwks`,
 * which derives it from the issuer) or the HS256 `AIC_JWT_SECRET` (the development key when unset).
 *
 * @throws Error when `jwks` is asked for without an http(s) URL to fetch.
 */
export function jwtSettings(settings: Settings): JwtSettings {
  const audiences = settings.AIC_JWT_AUDIENCE;
  const base: JwtSettings = {
    secret: settings.AIC_JWT_SECRET ?? DEV_JWT_SECRET,
    issuer: settings.AIC_JWT_ISSUER,
    audience: audiences.length === 1 ? (audiences[0] as string) : audiences,
    tenantClaim: settings.AIC_TENANT_CLAIM,
    ...(settings.AIC_JWT_TOKEN_USE ? { tokenUse: settings.AIC_JWT_TOKEN_USE } : {}),
    ...(settings.AIC_JWT_SCOPES ? { scopes: settings.AIC_JWT_SCOPES } : {}),
  };
  assertNoSharedKey(settings);
  const verify = settings.AIC_JWT_VERIFY ?? (settings.AIC_JWT_JWKS_URL ? 'jwks' : 'hs256');
  if (verify === 'hs256' && settings.AIC_DEPLOYMENT === 'aws') {
    throw new Error(
      'AIC_JWT_JWKS_URL: the development key is refused where AIC_DEPLOYMENT=aws; verify against ' +
        'the issuer keys (AIC_JWT_JWKS_URL or AIC_JWT_VERIFY=jwks)',
    );
  }
  if (verify === 'hs256') return base;
  const jwksUrl = settings.AIC_JWT_JWKS_URL ?? issuerJwksUrl(base.issuer);
  if (!secureJwksUrl(jwksUrl, settings.AIC_DEPLOYMENT)) {
    throw new Error(
      'AIC_JWT_JWKS_URL: the issuer keys must be fetched over https (http only from loopback, ' +
        'and never where AIC_DEPLOYMENT=aws); set it, or an https AIC_JWT_ISSUER',
    );
  }
  return { ...base, jwksUrl };
}

/** Whether the keys at `url` may be trusted: https, or http from loopback outside AWS. */
function secureJwksUrl(url: string, deployment: Settings['AIC_DEPLOYMENT']): boolean {
  if (url.startsWith('https://')) return true;
  if (deployment === 'aws' || !url.startsWith('http://')) return false;
  return ['127.0.0.1', 'localhost', '[::1]'].includes(new URL(url).hostname);
}

/**
 * {@link jwtSettings} of the environment.
 *
 * @throws Error naming the variable when an `AIC_JWT_*` value (or any other setting) is invalid.
 */
export function jwtSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): JwtSettings {
  return jwtSettings(loadSettings(env));
}

// One key set per URL for the life of the process: jose caches the keys and refetches on an
// unknown `kid` (at most every 30 s), so a key rotation at the issuer needs no restart.
const keySets = new Map<string, JWTVerifyGetKey>();

function keySetOf(jwksUrl: string): JWTVerifyGetKey {
  let keySet = keySets.get(jwksUrl);
  if (!keySet) {
    keySet = createRemoteJWKSet(new URL(jwksUrl));
    keySets.set(jwksUrl, keySet);
  }
  return keySet;
}

const keyOf = (settings: JwtSettings) => new TextEncoder().encode(settings.secret);

/** API Gateway's audience rule: `aud` (Cognito ID tokens) or `client_id` (access tokens). */
function hasAcceptedAudience(payload: JWTPayload, settings: JwtSettings): boolean {
  const accepted = [settings.audience].flat();
  const presented = [payload.aud ?? [], payload.client_id ?? []].flat();
  return presented.some((audience) => typeof audience === 'string' && accepted.includes(audience));
}

/** The token's `token_use` and one of its scopes, where the settings ask for them. */
function hasAcceptedUseAndScope(payload: JWTPayload, settings: JwtSettings): boolean {
  if (settings.tokenUse !== undefined && payload.token_use !== settings.tokenUse) return false;
  if (settings.scopes === undefined) return true;
  const granted = [payload.scope, payload.scp]
    .flatMap((value) =>
      typeof value === 'string' ? value.split(' ') : Array.isArray(value) ? value : [],
    )
    .filter((scope): scope is string => typeof scope === 'string');
  return settings.scopes.some((scope) => granted.includes(scope));
}

async function verifySignature(token: string, settings: JwtSettings): Promise<JWTPayload> {
  const options = { issuer: settings.issuer, requiredClaims: ['sub', 'exp'] };
  if (!settings.jwksUrl) {
    return (await jwtVerify(token, keyOf(settings), { ...options, algorithms: ['HS256'] })).payload;
  }
  try {
    return (
      await jwtVerify(token, keySetOf(settings.jwksUrl), {
        ...options,
        algorithms: JWKS_ALGORITHMS,
      })
    ).payload;
  } catch (error) {
    // An unreachable key set says nothing about the token: retry later, do not reject the caller.
    if (error instanceof joseErrors.JWKSTimeout || !(error instanceof joseErrors.JOSEError)) {
      throw new DependencyUnavailableError(JWKS_DEPENDENCY, { cause: error });
    }
    throw error;
  }
}

/** Extracts the token of an `Authorization: Bearer <token>` header value, or undefined. */
export function bearerToken(header: string | undefined): string | undefined {
  const match = /^Bearer\s+([A-Za-z0-9._~+/=-]+)\s*$/i.exec(header ?? '');
  return match?.[1];
}

/** Tokens remembered as verified, per settings object. */
export const VERIFIED_TOKENS_MAX = 1000;
/** The longest a token is trusted without checking its signature again (a JWKS key may go away). */
export const VERIFIED_TOKEN_MAX_AGE_MS = 10 * 60_000;

interface VerifiedToken {
  claims: JwtClaims;
  /** Until when the token is accepted without a new check: its `exp`, at most the max age. */
  untilMs: number;
}

// A client sends the same token with every request; the signature check (a WebCrypto job) was the
// costliest step of a small request. Keyed by the whole token, signature included, so a changed
// token is a miss; least recently used first.
const verifiedTokens = new WeakMap<JwtSettings, Map<string, VerifiedToken>>();

function rememberedClaims(token: string, settings: JwtSettings): JwtClaims | undefined {
  const cache = verifiedTokens.get(settings);
  const entry = cache?.get(token);
  if (!cache || !entry) return undefined;
  cache.delete(token);
  if (Date.now() >= entry.untilMs) return undefined;
  cache.set(token, entry);
  return { ...entry.claims };
}

function remember(token: string, settings: JwtSettings, claims: JwtClaims): void {
  let cache = verifiedTokens.get(settings);
  if (!cache) {
    cache = new Map();
    verifiedTokens.set(settings, cache);
  }
  // jose accepts a token while its `exp` is after the current second.
  const untilMs = Math.min(Number(claims.exp) * 1000, Date.now() + VERIFIED_TOKEN_MAX_AGE_MS);
  cache.set(token, { claims: { ...claims }, untilMs });
  if (cache.size > VERIFIED_TOKENS_MAX) cache.delete(cache.keys().next().value as string);
}

/**
 * Verifies a bearer token (signature, `alg`, issuer, audience, `exp`, `nbf`) and returns its claims:
 * RS256/ES256 against the issuer's JWKS when {@link JwtSettings.jwksUrl} is set, else HS256.
 * Every failure is the same {@link UnauthorizedError}: the reason is logged, never told to callers.
 * A token that passed is remembered (the last {@link VERIFIED_TOKENS_MAX} per settings object) and
 * accepted again without a signature check until its `exp`, for at most
 * {@link VERIFIED_TOKEN_MAX_AGE_MS}.
 *
 * @throws DependencyUnavailableError('jwks') when the issuer's keys cannot be fetched.
 */
export async function verifyToken(
  token: string | undefined,
  settings: JwtSettings,
): Promise<JwtClaims> {
  if (!token) throw new UnauthorizedError();
  const remembered = rememberedClaims(token, settings);
  if (remembered) return remembered;
  try {
    const payload = await verifySignature(token, settings);
    if (
      !hasAcceptedAudience(payload, settings) ||
      !hasAcceptedUseAndScope(payload, settings) ||
      tenantFromClaims(payload, settings.tenantClaim) === undefined
    ) {
      throw new UnauthorizedError();
    }
    remember(token, settings, payload as JwtClaims);
    return payload as JwtClaims;
  } catch (error) {
    if (error instanceof UnauthorizedError) throw error;
    if (error instanceof joseErrors.JOSEError)
      throw new UnauthorizedError(undefined, { cause: error });
    throw error;
  }
}

/**
 * Signs a development token for `sub`, valid for `ttlSeconds`, with `claims` added (for example a
 * `client_id` naming a media server's tenant).
 */
export async function signToken(
  sub: string,
  settings: JwtSettings,
  ttlSeconds = 12 * 3600,
  claims: Record<string, string> = {},
): Promise<string> {
  return new SignJWT({ scope: 'aic', ...claims })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(sub)
    .setIssuer(settings.issuer)
    .setAudience(settings.audience)
    .setIssuedAt()
    .setExpirationTime(`${ttlSeconds}s`)
    .sign(keyOf(settings));
}
