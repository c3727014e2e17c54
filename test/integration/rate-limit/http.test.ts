import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG } from '../../../functions/core/contracts/config.ts';
import { errorEnvelopeSchema } from '../../../functions/core/contracts/errors.ts';
import { startTestApi, type TestApi } from '../../support/local-api.ts';
import { createTestDatabase, type TestDatabase } from '../../support/test-database.ts';

const CONFIG_PATH = '/api/v1/aic/config';
// The shared server: only keys under this prefix are ever written or deleted.
const PREFIX = `aic-test-rlhttp-${process.pid}-${randomBytes(3).toString('hex')}:`;
const REDIS_URL = 'redis://127.0.0.1:6379';
const RATE_HEADERS = [
  'x-ratelimit-limit',
  'x-ratelimit-remaining',
  'x-ratelimit-reset',
  'ratelimit',
  'ratelimit-policy',
];

let db: TestDatabase;
let api: TestApi;
let admin: Redis;

beforeAll(async () => {
  db = await createTestDatabase({ migrate: true });
  admin = new Redis(REDIS_URL);
  api = await startTestApi({
    DATABASE_URL: db.url,
    REDIS_URL,
    REDIS_KEY_PREFIX: PREFIX,
    RATE_LIMIT_ROUTE_OVERRIDES: JSON.stringify({
      postConfig: { user: { minute: 5 } },
      health: { ip: { minute: 3 } },
    }),
  });
});

afterAll(async () => {
  await api?.close();
  await db?.drop();
  let cursor = '0';
  do {
    const [next, keys] = await admin.scan(cursor, 'MATCH', `${PREFIX}*`, 'COUNT', 500);
    if (keys.length > 0) await admin.del(...keys);
    cursor = next;
  } while (cursor !== '0');
  await admin.quit();
});

/** Parses `"name";a=1;b=2, ...` into name -> parameters. */
function parseList(value: string | null): Record<string, Record<string, number>> {
  expect(value).toBeTruthy();
  const items: Record<string, Record<string, number>> = {};
  for (const item of (value as string).split(', ')) {
    const match = /^"([a-z][a-z0-9_-]*)"((?:;[a-z]+=\d+)+)$/.exec(item);
    expect(match, item).not.toBeNull();
    const [, name, params] = match as RegExpExecArray;
    items[name as string] = Object.fromEntries(
      (params as string)
        .slice(1)
        .split(';')
        .map((p) => p.split('='))
        .map(([k, v]) => [k, Number(v)]),
    );
  }
  return items;
}

function expectRateHeaders(response: Response) {
  for (const name of RATE_HEADERS) expect(response.headers.get(name), name).toBeTruthy();
  for (const name of RATE_HEADERS.slice(0, 3)) {
    expect(response.headers.get(name)).toMatch(/^\d+$/);
  }
  return {
    limit: Number(response.headers.get('x-ratelimit-limit')),
    remaining: Number(response.headers.get('x-ratelimit-remaining')),
    reset: Number(response.headers.get('x-ratelimit-reset')),
    policy: parseList(response.headers.get('ratelimit-policy')),
    current: parseList(response.headers.get('ratelimit')),
  };
}

const postConfig = (user: string) =>
  api.request(CONFIG_PATH, {
    method: 'POST',
    user,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(DEFAULT_CONFIG),
  });

describe('rate limiting through the HTTP API', () => {
  it('answers the 61st request of a default user within a minute with 429 and all headers', async () => {
    for (let i = 1; i <= 60; i++) {
      const response = await api.request(CONFIG_PATH, { user: 'sixty-one' });
      expect(response.status).toBe(200);
      const headers = expectRateHeaders(response);
      expect(headers.limit).toBe(60);
      expect(headers.remaining).toBe(60 - i);
      expect(headers.current.minute?.r).toBe(60 - i);
      expect(response.headers.get('x-aic-degraded')).toBeNull();
    }
    const response = await api.request(CONFIG_PATH, {
      user: 'sixty-one',
      headers: { 'x-request-id': 'over-the-limit' },
    });
    expect(response.status).toBe(429);
    const body = errorEnvelopeSchema.parse(await response.json());
    expect(body.error.code).toBe('RATE_LIMIT_EXCEEDED');
    expect(body.error.request_id).toBe('over-the-limit');
    const retryAfter = Number(response.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(63);
    const headers = expectRateHeaders(response);
    expect(headers).toMatchObject({ limit: 60, remaining: 0 });
    expect(headers.reset).toBeLessThanOrEqual(retryAfter);
    expect(headers.policy).toEqual({
      minute: { q: 60, w: 60 },
      hour: { q: 3600, w: 3600 },
      day: { q: 86_400, w: 86_400 },
    });
    expect(headers.current).toMatchObject({
      minute: { r: 0 },
      hour: { r: 3540 },
      day: { r: 86_340 },
    });
    // The quota is the user's, not the address's: another user from the same IP is served.
    expect((await api.request(CONFIG_PATH, { user: 'someone-else' })).status).toBe(200);
  });

  it('admits exactly N of M concurrent requests', async () => {
    const responses = await Promise.all(Array.from({ length: 30 }, () => postConfig('burst')));
    const statuses = responses.map((r) => r.status).sort();
    expect(statuses.filter((s) => s === 200)).toHaveLength(5);
    expect(statuses.filter((s) => s === 429)).toHaveLength(25);
  });

  it('gives an overridden route its own quota and leaves the others on the default', async () => {
    for (let i = 0; i < 5; i++) expect((await postConfig('override')).status).toBe(200);
    const rejected = await postConfig('override');
    expect(rejected.status).toBe(429);
    expect(expectRateHeaders(rejected).policy.minute).toEqual({ q: 5, w: 60 });
    const shared = await api.request(CONFIG_PATH, { user: 'override' });
    expect(shared.status).toBe(200);
    expect(expectRateHeaders(shared).remaining).toBe(59);
  });

  it('applies the video quota of compress, and sends the headers on later errors too', async () => {
    const response = await api.request('/api/v1/aic/compress', {
      method: 'POST',
      user: 'video',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    expect(response.status).toBe(400);
    const headers = expectRateHeaders(response);
    expect(headers.policy.minute?.q).toBeGreaterThanOrEqual(1800);
    expect(headers.current.minute?.r).toBe((headers.policy.minute?.q ?? 0) - 1);
  });

  it('keys unauthenticated routes by source IP and ignores X-Forwarded-For', async () => {
    for (let i = 0; i < 3; i++) {
      const response = await api.request('/health', {
        headers: { 'x-forwarded-for': `198.51.100.${i}`, 'x-real-ip': `198.51.100.${i}` },
      });
      expect(response.status).toBe(200);
      expect(expectRateHeaders(response).policy.minute).toEqual({ q: 3, w: 60 });
    }
    const spoofed = await api.request('/health', {
      headers: { 'x-forwarded-for': '203.0.113.77', forwarded: 'for=203.0.113.77' },
    });
    expect(spoofed.status).toBe(429);
    expect(Number(spoofed.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
  });

  it('never limits the liveness and readiness probes', async () => {
    for (let i = 0; i < 40; i++) {
      const response = await api.request('/liveness');
      expect(response.status).toBe(200);
      expect(response.headers.get('ratelimit')).toBeNull();
    }
  });
});
