import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG } from '../../../functions/core/contracts/config.ts';
import { errorEnvelopeSchema } from '../../../functions/core/contracts/errors.ts';
import { startTestApi, type TestApi } from '../../support/local-api.ts';
import { createTestDatabase, type TestDatabase } from '../../support/test-database.ts';

const CONFIG_PATH = '/api/v1/aic/config';
const ALLOWED_ORIGIN = 'https://dashboard.auralink.example';

let db: TestDatabase;
let api: TestApi;

beforeAll(async () => {
  db = await createTestDatabase({ migrate: true });
  api = await startTestApi({
    DATABASE_URL: db.url,
    REDIS_URL: undefined,
    CORS_ALLOWED_ORIGINS: `${ALLOWED_ORIGIN},https://ops.auralink.example`,
  });
});

afterAll(async () => {
  await api?.close();
  await db?.drop();
});

async function expectEnvelope(response: Response, status: number, code: string) {
  expect(response.status).toBe(status);
  expect(response.headers.get('content-type')).toBe('application/json');
  const body = errorEnvelopeSchema.parse(await response.json());
  expect(body.error.code).toBe(code);
  expect(body.error.request_id).toBe(response.headers.get('x-request-id'));
  expect(body.error.request_id.length).toBeGreaterThan(0);
  return body;
}

const putConfig = (body: string, init: RequestInit & { user?: string } = {}) =>
  api.request(CONFIG_PATH, {
    method: 'PUT',
    user: 'alice',
    body,
    ...init,
    headers: { 'content-type': 'application/json', ...init.headers },
  });

describe('request IDs', () => {
  it('echoes a sane client request ID on the response', async () => {
    const response = await api.request('/health', { headers: { 'x-request-id': 'client-req.42' } });
    expect(response.headers.get('x-request-id')).toBe('client-req.42');
  });

  it('replaces an over-long or unsafe request ID with a UUID', async () => {
    for (const bad of ['x'.repeat(129), 'has space', '<script>']) {
      const response = await api.request('/health', { headers: { 'x-request-id': bad } });
      expect(response.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    }
  });

  it('puts the request ID in error bodies', async () => {
    const response = await api.request('/nowhere', { headers: { 'x-request-id': 'trace-me' } });
    const body = await expectEnvelope(response, 404, 'NOT_FOUND');
    expect(body.error.request_id).toBe('trace-me');
  });
});

describe('body parsing and validation', () => {
  it('answers malformed JSON with 400 MALFORMED_JSON', async () => {
    await expectEnvelope(await putConfig('{"mode": '), 400, 'MALFORMED_JSON');
  });

  it('answers a wrong content type with 415', async () => {
    const response = await putConfig('mode=adaptive', {
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    await expectEnvelope(response, 415, 'UNSUPPORTED_MEDIA_TYPE');
  });

  it('answers a body over the route cap with 413 before parsing it', async () => {
    const response = await putConfig(`{"pad":"${'x'.repeat(70 * 1024)}"`);
    await expectEnvelope(response, 413, 'PAYLOAD_TOO_LARGE');
  });

  it('answers a body over the API cap with 413 without reading it all', async () => {
    const response = await putConfig('x'.repeat(7 * 1024 * 1024));
    await expectEnvelope(response, 413, 'PAYLOAD_TOO_LARGE');
  });

  it('answers a missing body with 400', async () => {
    const response = await api.request(CONFIG_PATH, {
      method: 'PUT',
      user: 'alice',
      headers: { 'content-type': 'application/json' },
    });
    await expectEnvelope(response, 400, 'VALIDATION_FAILED');
  });

  it('lists one detail per failing field', async () => {
    const response = await putConfig(
      JSON.stringify({
        ...DEFAULT_CONFIG,
        mode: 'turbo',
        max_latency_ms: 1000,
        allowed_formats: [],
      }),
    );
    const body = await expectEnvelope(response, 400, 'VALIDATION_FAILED');
    const fields = body.error.details?.map((detail) => detail.field).sort();
    expect(fields).toEqual(['body.allowed_formats', 'body.max_latency_ms', 'body.mode']);
  });

  it('rejects unknown fields instead of ignoring them', async () => {
    const response = await putConfig(JSON.stringify({ ...DEFAULT_CONFIG, admin: true }));
    const body = await expectEnvelope(response, 400, 'VALIDATION_FAILED');
    expect(body.error.details?.[0]?.field).toBe('body');
  });
});

describe('authentication', () => {
  const sign = (claims: Record<string, unknown>, key = api.jwt.secret, alg = 'HS256') =>
    new SignJWT(claims).setProtectedHeader({ alg }).sign(new TextEncoder().encode(key));
  const now = () => Math.floor(Date.now() / 1000);
  const valid = () => ({
    sub: 'alice',
    iss: api.jwt.issuer,
    aud: api.jwt.audience,
    exp: now() + 60,
  });
  const withToken = (token: string) =>
    api.request(CONFIG_PATH, { headers: { authorization: `Bearer ${token}` } });

  it('accepts a valid token and makes sub the user', async () => {
    const response = await withToken(await sign(valid()));
    expect(response.status).toBe(200);
  });

  it('answers a missing token with 401', async () => {
    const response = await api.request(CONFIG_PATH);
    await expectEnvelope(response, 401, 'UNAUTHORIZED');
    expect(response.headers.get('www-authenticate')).toBe('Bearer');
  });

  it('answers expired, not-yet-valid, foreign and forged tokens with 401', async () => {
    const unsigned = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(
      JSON.stringify(valid()),
    ).toString('base64url')}.`;
    const tokens = [
      await sign({ ...valid(), exp: now() - 60 }),
      await sign({ ...valid(), nbf: now() + 600 }),
      await sign({ ...valid(), iss: 'https://evil.example' }),
      await sign({ ...valid(), aud: 'someone-else' }),
      await sign(valid(), 'another-signing-key-of-32-bytes-or-more'),
      await sign({ ...valid(), sub: '' }),
      unsigned,
      'not-a-jwt',
    ];
    for (const token of tokens) await expectEnvelope(await withToken(token), 401, 'UNAUTHORIZED');
  });
});

describe('routing', () => {
  it('answers an unknown path with 404', async () => {
    await expectEnvelope(await api.request('/api/v1/aic/nope'), 404, 'NOT_FOUND');
  });

  it('answers a known path with the wrong method with 405 and Allow', async () => {
    const response = await api.request('/health', { method: 'DELETE' });
    await expectEnvelope(response, 405, 'METHOD_NOT_ALLOWED');
    expect(response.headers.get('allow')).toBe('GET, OPTIONS');
  });
});

describe('CORS and security headers', () => {
  it('allows a listed origin and varies on Origin', async () => {
    const response = await api.request('/health', { headers: { origin: ALLOWED_ORIGIN } });
    expect(response.headers.get('access-control-allow-origin')).toBe(ALLOWED_ORIGIN);
    expect(response.headers.get('vary')).toContain('Origin');
  });

  it('never allows an unlisted origin, not even with a wildcard', async () => {
    const response = await api.request('/health', { headers: { origin: 'https://evil.example' } });
    expect(response.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('answers a preflight on a known path with 204 and the allowed methods', async () => {
    const response = await api.request(CONFIG_PATH, {
      method: 'OPTIONS',
      headers: { origin: ALLOWED_ORIGIN, 'access-control-request-method': 'PUT' },
    });
    expect(response.status).toBe(204);
    expect(response.headers.get('access-control-allow-origin')).toBe(ALLOWED_ORIGIN);
    expect(response.headers.get('access-control-allow-methods')).toContain('PUT');
  });

  it('sends the security headers on successes and errors alike', async () => {
    for (const response of [await api.request('/health'), await api.request('/nope')]) {
      expect(response.headers.get('x-content-type-options')).toBe('nosniff');
      expect(response.headers.get('strict-transport-security')).toContain('max-age=');
      expect(response.headers.get('cache-control')).toBe('no-store');
    }
  });
});

describe('the configuration routes', () => {
  it('returns the default policy when none is stored', async () => {
    const response = await api.request(CONFIG_PATH, { user: 'nobody-yet' });
    expect(await response.json()).toEqual({ ...DEFAULT_CONFIG, updated_at: null });
  });

  it("stores a caller's policy and shows it to that caller only", async () => {
    const policy = { ...DEFAULT_CONFIG, mode: 'aggressive', target_compression_ratio: 0.9 };
    const saved = await putConfig(JSON.stringify(policy), { user: 'carol' });
    expect(saved.status).toBe(200);
    const mine = (await (await api.request(CONFIG_PATH, { user: 'carol' })).json()) as Record<
      string,
      unknown
    >;
    expect(mine).toMatchObject(policy);
    expect(mine.updated_at).toEqual(expect.any(String));
    const theirs = await (await api.request(CONFIG_PATH, { user: 'dave' })).json();
    expect(theirs).toEqual({ ...DEFAULT_CONFIG, updated_at: null });
  });

  it('accepts POST as an alias of PUT', async () => {
    const response = await api.request(CONFIG_PATH, {
      method: 'POST',
      user: 'erin',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(DEFAULT_CONFIG),
    });
    expect(response.status).toBe(200);
  });
});
