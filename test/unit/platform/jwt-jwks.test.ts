// The issuer's JWKS endpoint is a local HTTP server serving keys generated here, so the remote
// key set, its cache and every refusal run for real without network access.
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DependencyUnavailableError, UnauthorizedError } from '../../../functions/core/errors.ts';
import { issuerJwksUrl } from '../../../functions/core/token-issuer.ts';
import {
  DEV_JWT_SECRET,
  type JwtSettings,
  jwtSettingsFromEnv,
  verifyToken,
} from '../../../functions/platform/jwt.ts';

type KeyPair = Awaited<ReturnType<typeof generateKeyPair>>;

const ISSUER = 'https://issuer.example/pool-1';
const AUDIENCES = ['aic-web', 'aic-cli'];

let server: Server;
let jwksUrl: string;
let rsa: KeyPair;
let ec: KeyPair;
let stranger: KeyPair;

beforeAll(async () => {
  [rsa, ec, stranger] = await Promise.all([
    generateKeyPair('RS256'),
    generateKeyPair('ES256'),
    generateKeyPair('RS256'),
  ]);
  const keys: JWK[] = [
    { ...(await exportJWK(rsa.publicKey)), kid: 'rsa-1', alg: 'RS256', use: 'sig' },
    { ...(await exportJWK(ec.publicKey)), kid: 'ec-1', alg: 'ES256', use: 'sig' },
  ];
  server = createServer((request, response) => {
    if (request.url !== '/.well-known/jwks.json') {
      response.writeHead(404).end();
      return;
    }
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ keys }));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  jwksUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/jwks.json`;
});

afterAll(() => server.close());

const settings = (): JwtSettings => ({
  secret: DEV_JWT_SECRET,
  issuer: ISSUER,
  audience: AUDIENCES,
  tenantClaim: 'sub',
  jwksUrl,
});

interface SignOptions {
  alg?: string;
  kid?: string;
  key?: KeyPair['privateKey'];
  /** Claims that replace the valid defaults (`undefined` removes one). */
  claims?: Record<string, unknown>;
}

function sign(options: SignOptions = {}): Promise<string> {
  const alg = options.alg ?? 'RS256';
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({
    sub: 'alice',
    iss: ISSUER,
    aud: 'aic-cli',
    iat: now,
    exp: now + 300,
    ...options.claims,
  })
    .setProtectedHeader({ alg, kid: options.kid ?? (alg === 'ES256' ? 'ec-1' : 'rsa-1') })
    .sign(options.key ?? (alg === 'ES256' ? ec.privateKey : rsa.privateKey));
}

const refused = (token: string, jwt = settings()) =>
  expect(verifyToken(token, jwt)).rejects.toBeInstanceOf(UnauthorizedError);

describe('verifyToken against a JWKS', () => {
  it('accepts RS256 and ES256 tokens of the key set for any configured audience', async () => {
    await expect(verifyToken(await sign(), settings())).resolves.toMatchObject({ sub: 'alice' });
    const es = await sign({ alg: 'ES256', claims: { aud: 'aic-web' } });
    await expect(verifyToken(es, settings())).resolves.toMatchObject({ aud: 'aic-web' });
  });

  it("accepts an access token whose client_id is an audience (Cognito's access tokens)", async () => {
    const token = await sign({ claims: { aud: undefined, client_id: 'aic-web' } });
    await expect(verifyToken(token, settings())).resolves.toMatchObject({ client_id: 'aic-web' });
  });

  it('refuses an unknown kid, a key outside the set, and a forged key under a known kid', async () => {
    await refused(await sign({ kid: 'rsa-2' }));
    await refused(await sign({ kid: 'rsa-2', key: stranger.privateKey }));
    await refused(await sign({ key: stranger.privateKey }));
  });

  it('refuses alg none and HS256 (even with the shared secret)', async () => {
    const payload = { sub: 'alice', iss: ISSUER, aud: 'aic-cli', exp: Date.now() / 1000 + 300 };
    const none = `${Buffer.from('{"alg":"none","kid":"rsa-1"}').toString('base64url')}.${Buffer.from(
      JSON.stringify(payload),
    ).toString('base64url')}.`;
    await refused(none);
    const hs256 = await new SignJWT(payload)
      .setProtectedHeader({ alg: 'HS256', kid: 'rsa-1' })
      .sign(new TextEncoder().encode(DEV_JWT_SECRET));
    await refused(hs256);
  });

  it('refuses expired tokens, other issuers and other audiences', async () => {
    await refused(await sign({ claims: { exp: Math.floor(Date.now() / 1000) - 60 } }));
    await refused(await sign({ claims: { iss: 'https://evil.example' } }));
    await refused(await sign({ claims: { aud: 'someone-else' } }));
    await refused(await sign({ claims: { aud: undefined, client_id: 'someone-else' } }));
  });

  it('answers an unreachable key set as a dependency failure, not a refusal', async () => {
    const unreachable = { ...settings(), jwksUrl: 'http://127.0.0.1:1/.well-known/jwks.json' };
    await expect(verifyToken(await sign(), unreachable)).rejects.toBeInstanceOf(
      DependencyUnavailableError,
    );
  });
});

describe('jwtSettingsFromEnv', () => {
  it('keeps HS256 with the shared secret when no JWKS is configured', () => {
    const jwt = jwtSettingsFromEnv({ AIC_JWT_SECRET: 'k'.repeat(32), AIC_JWT_AUDIENCE: 'a' });
    expect(jwt).toEqual({
      secret: 'k'.repeat(32),
      issuer: 'auralink-aic-local',
      audience: 'a',
      tenantClaim: 'sub',
    });
  });

  it('names the tenant by AIC_TENANT_CLAIM, sub unless set, and refuses a name that is no claim', () => {
    expect(jwtSettingsFromEnv({}).tenantClaim).toBe('sub');
    expect(jwtSettingsFromEnv({ AIC_TENANT_CLAIM: 'client_id' }).tenantClaim).toBe('client_id');
    expect(() => jwtSettingsFromEnv({ AIC_TENANT_CLAIM: 'client id' })).toThrow(/AIC_TENANT_CLAIM/);
    expect(() => jwtSettingsFromEnv({ AIC_TENANT_CLAIM: '1st' })).toThrow(/AIC_TENANT_CLAIM/);
    // An empty value is an unset one (the schema's rule for every variable).
    expect(jwtSettingsFromEnv({ AIC_TENANT_CLAIM: '' }).tenantClaim).toBe('sub');
  });

  it('uses AIC_JWT_JWKS_URL, or derives it from the issuer with AIC_JWT_VERIFY=jwks', () => {
    const explicit = jwtSettingsFromEnv({
      AIC_JWT_ISSUER: ISSUER,
      AIC_JWT_AUDIENCE: 'aic-web, aic-cli',
      AIC_JWT_JWKS_URL: 'https://keys.example/jwks.json',
    });
    expect(explicit).toMatchObject({
      audience: AUDIENCES,
      jwksUrl: 'https://keys.example/jwks.json',
    });
    const derived = jwtSettingsFromEnv({ AIC_JWT_ISSUER: `${ISSUER}/`, AIC_JWT_VERIFY: 'jwks' });
    expect(derived.jwksUrl).toBe(`${ISSUER}/.well-known/jwks.json`);
    expect(issuerJwksUrl(ISSUER)).toBe(derived.jwksUrl);
  });

  it('refuses jwks without an issuer URL, and unknown modes', () => {
    expect(() => jwtSettingsFromEnv({ AIC_JWT_VERIFY: 'jwks' })).toThrow(/AIC_JWT_JWKS_URL/);
    expect(() => jwtSettingsFromEnv({ AIC_JWT_VERIFY: 'rs256' })).toThrow(/AIC_JWT_VERIFY/);
  });
});
