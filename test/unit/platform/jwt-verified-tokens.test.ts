import { afterEach, describe, expect, it, vi } from 'vitest';
import { UnauthorizedError } from '../../../functions/core/errors.ts';
import {
  type JwtSettings,
  signToken,
  VERIFIED_TOKEN_MAX_AGE_MS,
  verifyToken,
} from '../../../functions/platform/jwt.ts';

const settings = (): JwtSettings => ({
  secret: 'a-test-secret-of-at-least-thirty-two-bytes',
  issuer: 'auralink-aic-local',
  tenantClaim: 'sub',
  audience: 'auralink-aic',
});

afterEach(() => {
  vi.useRealTimers();
});

describe('verifyToken remembers verified tokens', () => {
  it('accepts a token again with the same claims', async () => {
    const jwt = settings();
    const token = await signToken('alice', jwt, 3600);
    const first = await verifyToken(token, jwt);
    expect(await verifyToken(token, jwt)).toEqual(first);
    expect(first).toMatchObject({ sub: 'alice' });
  });

  it('refuses a remembered token once it has expired', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const jwt = settings();
    const token = await signToken('bob', jwt, 60);
    await verifyToken(token, jwt);
    vi.setSystemTime(Date.now() + 61_000);
    await expect(verifyToken(token, jwt)).rejects.toBeInstanceOf(UnauthorizedError);
  });

  it('checks the signature again after the maximum age', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const jwt = settings();
    const token = await signToken('carol', jwt, 3 * 3600);
    await verifyToken(token, jwt);
    // The same token under a rotated secret: remembered until the maximum age, refused after.
    jwt.secret = 'another-test-secret-of-thirty-two-bytes!';
    await expect(verifyToken(token, jwt)).resolves.toMatchObject({ sub: 'carol' });
    vi.setSystemTime(Date.now() + VERIFIED_TOKEN_MAX_AGE_MS + 1);
    await expect(verifyToken(token, jwt)).rejects.toBeInstanceOf(UnauthorizedError);
  });

  it('does not accept a token that differs from a remembered one', async () => {
    const jwt = settings();
    const token = await signToken('dave', jwt, 3600);
    await verifyToken(token, jwt);
    const [header, payload, signature] = token.split('.') as [string, string, string];
    const forged = `${header}.${Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(payload, 'base64url').toString()), sub: 'mallory' })).toString('base64url')}.${signature}`;
    await expect(verifyToken(forged, jwt)).rejects.toBeInstanceOf(UnauthorizedError);
  });

  it('keeps settings objects apart', async () => {
    const token = await signToken('erin', settings(), 3600);
    const strict = { ...settings(), audience: 'someone-else' };
    await verifyToken(token, settings());
    await expect(verifyToken(token, strict)).rejects.toBeInstanceOf(UnauthorizedError);
  });
});

describe('verifyToken and the tenant claim', () => {
  const byClient = (): JwtSettings => ({ ...settings(), tenantClaim: 'client_id' });

  it('accepts a token that names its tenant in the configured claim, whatever its sub', async () => {
    const jwt = byClient();
    const token = await signToken('end-user-1', jwt, 3600, { client_id: 'media-server-app' });
    await expect(verifyToken(token, jwt)).resolves.toMatchObject({
      sub: 'end-user-1',
      client_id: 'media-server-app',
    });
  });

  it('refuses a token without the configured claim, or with one that cannot be an id', async () => {
    const jwt = byClient();
    const cases: Record<string, string>[] = [
      {},
      { client_id: '' },
      { client_id: 'a\u0000b' },
      { clientid: 'x' },
    ];
    for (const claims of cases) {
      const token = await signToken('end-user-2', jwt, 3600, claims);
      await expect(verifyToken(token, jwt), JSON.stringify(claims)).rejects.toBeInstanceOf(
        UnauthorizedError,
      );
    }
  });

  it('names the tenant by sub when the claim is sub, ignoring a client_id', async () => {
    const jwt = settings();
    const token = await signToken('frank', jwt, 3600, { client_id: 'some-app' });
    await expect(verifyToken(token, jwt)).resolves.toMatchObject({ sub: 'frank' });
  });
});
