import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorEnvelopeSchema } from '../../../functions/core/contracts/errors.ts';
import {
  networkEstimateResponseSchema,
  sessionStatisticsSchema,
} from '../../../functions/core/contracts/network.ts';
import {
  NETWORK_STATE_TTL_SECONDS,
  networkStateKey,
} from '../../../functions/platform/network/live-state.ts';
import { encodeFrame } from '../../support/frames.ts';
import { startTestApi, type TestApi } from '../../support/local-api.ts';
import { createTestDatabase, type TestDatabase } from '../../support/test-database.ts';

const PREFIX = `aic-test:network:${randomUUID()}:`;

let db: TestDatabase;
let api: TestApi;
let redis: Redis;

beforeAll(async () => {
  db = await createTestDatabase({ migrate: true });
  api = await startTestApi({
    DATABASE_URL: db.url,
    REDIS_URL: 'redis://127.0.0.1:6379',
    REDIS_KEY_PREFIX: PREFIX,
  });
  redis = new Redis('redis://127.0.0.1:6379', { keyPrefix: PREFIX });
}, 60_000);

afterAll(async () => {
  await api?.close();
  await db?.drop();
  if (redis) {
    // KEYS returns full names; DEL through an unprefixed client deletes only this file's keys.
    const plain = new Redis('redis://127.0.0.1:6379');
    const keys = await plain.keys(`${PREFIX}*`);
    if (keys.length > 0) await plain.del(...keys);
    plain.disconnect();
    redis.disconnect();
  }
});

type Body = Record<string, unknown>;

const networkPath = (session: string) => `/api/v1/aic/sessions/${session}/network`;
const sessionPath = (session: string) => `/api/v1/aic/sessions/${session}`;

const conditions = (extra: Body = {}): Body => ({
  available_bandwidth_kbps: 3000,
  rtt_ms: 40,
  packet_loss_percent: 0.5,
  jitter_ms: 5,
  fps: 30,
  connection_type: 'wifi',
  ...extra,
});

// A fresh caller per test keeps every test under the per-user rate limit.
const newUser = () => `user-${randomUUID()}`;

const put = (session: string, body: Body, user: string) =>
  api.request(networkPath(session), {
    method: 'PUT',
    user,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });

const get = (path: string, user: string) => api.request(path, { user });

async function estimateOf(response: Response) {
  const text = await response.text();
  expect(response.status, text).toBe(200);
  return networkEstimateResponseSchema.parse(JSON.parse(text));
}

async function rejected(response: Response, status: number, code: string) {
  const text = await response.text();
  expect(response.status, text).toBe(status);
  const body = errorEnvelopeSchema.parse(JSON.parse(text));
  expect(body.error.code).toBe(code);
  return body;
}

const sampleRows = async (session: string) => {
  const [row] = await db.sql<{ n: number }[]>`
    select count(*)::int as n from network_samples where session_id = ${session}
  `;
  return row?.n ?? 0;
};

const sessionRow = async (session: string) => {
  const [row] = await db.sql<{ user_id: string }[]>`
    select user_id from sessions where session_id = ${session}
  `;
  return row;
};

describe('network updates', () => {
  it('stores an update, answers the estimate and serves it back with the session statistics', async () => {
    const alice = newUser();
    const session = randomUUID();
    const first = await estimateOf(await put(session, conditions(), alice));
    expect(first).toMatchObject({
      session_id: session,
      smoothed_bandwidth_kbps: 3000,
      network_quality: 'fair',
      sample_count: 1,
      budget_bytes_per_frame: Math.floor((375_000 * 0.995 * 0.85) / 30),
    });
    expect(first.recommendation.mode).toBe('adaptive');
    expect(first.recommendation.format).not.toBeNull();

    const second = await estimateOf(
      await put(session, conditions({ available_bandwidth_kbps: 20_000 }), alice),
    );
    expect(second.smoothed_bandwidth_kbps).toBe(3150);
    expect(second.sample_count).toBe(2);

    const current = await estimateOf(await get(networkPath(session), alice));
    expect(current).toEqual(second);

    const rows = await db.sql`
      select user_id, available_bandwidth_kbps, estimated_bandwidth_kbps, connection_type
      from network_samples where session_id = ${session} order by id
    `;
    expect(
      rows.map((r) => [r.user_id, r.available_bandwidth_kbps, r.estimated_bandwidth_kbps]),
    ).toEqual([
      [alice, 3000, 3000],
      [alice, 20_000, 3150],
    ]);
    expect(rows[0]?.connection_type).toBe('wifi');

    const stats = await get(sessionPath(session), alice);
    expect(stats.status).toBe(200);
    const body = sessionStatisticsSchema.parse(await stats.json());
    expect(body).toMatchObject({
      session_id: session,
      frames: 0,
      fallbacks: 0,
      fallback_rate: null,
      avg_compression_ratio: null,
      avg_ssim: null,
      bytes_in: 0,
      bytes_saved: 0,
    });
    expect(body.duration_s).toBeGreaterThanOrEqual(0);
  });

  it('caches the live state in Redis with a TTL', async () => {
    const alice = newUser();
    const session = randomUUID();
    await estimateOf(await put(session, conditions(), alice));
    const key = networkStateKey(alice, session);
    const ttl = await redis.ttl(key);
    expect(ttl).toBeGreaterThan(NETWORK_STATE_TTL_SECONDS - 60);
    expect(ttl).toBeLessThanOrEqual(NETWORK_STATE_TTL_SECONDS);
    const [state, seq] = await redis.hmget(key, 'state', 'seq');
    const [row] = await db.sql<{ id: number }[]>`
      select max(id) as id from network_samples where session_id = ${session}
    `;
    expect(seq).toBe(String(row?.id));
    expect(JSON.parse(state ?? '')).toMatchObject({
      version: 1,
      sampleCount: 1,
      estimateKbps: 3000,
    });
  });

  it('rebuilds a missing or corrupt cached state from Postgres', async () => {
    const alice = newUser();
    const session = randomUUID();
    await estimateOf(await put(session, conditions(), alice));
    const warm = await estimateOf(
      await put(session, conditions({ available_bandwidth_kbps: 9000 }), alice),
    );

    await redis.del(networkStateKey(alice, session));
    expect(await estimateOf(await get(networkPath(session), alice))).toEqual(warm);
    expect(await redis.exists(networkStateKey(alice, session))).toBe(1);

    await redis.hset(
      networkStateKey(alice, session),
      'state',
      '{"version":1,"estimateKbps":"lots"}',
    );
    const next = await estimateOf(
      await put(session, conditions({ available_bandwidth_kbps: 9000 }), alice),
    );
    expect(next.sample_count).toBe(3);
    expect(next.smoothed_bandwidth_kbps).toBeCloseTo(warm.smoothed_bandwidth_kbps * 1.05, 6);
  });

  it('drops a cached state that missed a stored sample instead of building on it', async () => {
    const alice = newUser();
    const session = randomUUID();
    await estimateOf(await put(session, conditions(), alice));
    // An update whose cache write was lost (Redis failed after the commit).
    await db.sql`
      insert into network_samples (
        session_id, user_id, available_bandwidth_kbps, rtt_ms, packet_loss_percent, jitter_ms, fps,
        estimated_bandwidth_kbps, network_condition
      ) values (${session}, ${alice}, 3000, 40, 0.5, 5, 30, 3000, 0.5)
    `;
    await estimateOf(await put(session, conditions(), alice));
    expect(await redis.exists(networkStateKey(alice, session))).toBe(0);
    expect((await estimateOf(await get(networkPath(session), alice))).sample_count).toBe(3);
  });

  it('records every one of many concurrent updates of one session', async () => {
    const alice = newUser();
    const session = randomUUID();
    await estimateOf(await put(session, conditions(), alice));
    const responses = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        put(session, conditions({ available_bandwidth_kbps: 2000 + i }), alice),
      ),
    );
    expect(responses.map((r) => r.status)).toEqual(Array(20).fill(200));
    expect(await sampleRows(session)).toBe(21);
    // Whatever the cache kept, the next reader sees a state that counts every stored sample.
    const current = await estimateOf(await get(networkPath(session), alice));
    expect(current.sample_count).toBe(21);
  });

  it('answers a session without network samples with 404 on its estimate', async () => {
    const alice = newUser();
    const session = randomUUID();
    const frame = await encodeFrame('scene');
    const compress = await api.request('/api/v1/aic/compress', {
      method: 'POST',
      user: alice,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        session_id: session,
        frame_data: frame.toString('base64'),
        max_latency_ms: 100,
      }),
    });
    expect(compress.status).toBe(200);
    await rejected(await get(networkPath(session), alice), 404, 'NOT_FOUND');
    // The frame is counted by the metrics consumer, from the Redis stream.
    await api.metricsSettled();
    const stats = sessionStatisticsSchema.parse(
      await (await get(sessionPath(session), alice)).json(),
    );
    expect(stats.frames).toBe(1);
    expect(stats.bytes_saved).toBe(stats.bytes_in - stats.bytes_out);
    expect(stats.avg_compression_ratio).toBeCloseTo(1 - stats.bytes_out / stats.bytes_in, 4);
    expect(stats.avg_ssim).toBeGreaterThan(0.5);
    expect(stats.avg_latency_ms).toBeGreaterThan(0);
  });
});

describe('network routes and ownership', () => {
  it('gives another tenant that uses the same session id a session of its own, and leaves the first one’s as it was', async () => {
    const grace = newUser();
    const mallory = newUser();
    const session = randomUUID();
    await estimateOf(await put(session, conditions(), grace));
    const before = await redis.hgetall(networkStateKey(grace, session));
    const estimateBefore = await estimateOf(await get(networkPath(session), grace));

    await rejected(await get(networkPath(session), mallory), 404, 'NOT_FOUND');
    await rejected(await get(sessionPath(session), mallory), 404, 'NOT_FOUND');
    const own = await estimateOf(
      await put(session, conditions({ available_bandwidth_kbps: 900 }), mallory),
    );
    expect(own.sample_count).toBe(1);

    const owners = await db.sql<{ user_id: string; samples: number }[]>`
      select s.user_id, (select count(*)::int from network_samples n
        where n.session_id = s.session_id and n.user_id = s.user_id) as samples
      from sessions s where s.session_id = ${session} order by s.started_at`;
    expect(owners).toEqual([
      { user_id: grace, samples: 1 },
      { user_id: mallory, samples: 1 },
    ]);
    expect(await redis.hgetall(networkStateKey(grace, session))).toEqual(before);
    expect(await estimateOf(await get(networkPath(session), grace))).toEqual(estimateBefore);
    expect((await estimateOf(await get(networkPath(session), mallory))).sample_count).toBe(1);
  });

  it('answers a session nobody used with 404 on reads and creates nothing', async () => {
    const alice = newUser();
    const session = randomUUID();
    await rejected(await get(networkPath(session), alice), 404, 'NOT_FOUND');
    await rejected(await get(sessionPath(session), alice), 404, 'NOT_FOUND');
    expect(await sessionRow(session)).toBeUndefined();
    expect(await redis.exists(networkStateKey(alice, session))).toBe(0);
  });

  it('requires a token on every session route', async () => {
    const session = randomUUID();
    for (const response of [
      await api.request(networkPath(session), {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(conditions()),
      }),
      await api.request(networkPath(session)),
      await api.request(sessionPath(session)),
    ]) {
      await rejected(response, 401, 'UNAUTHORIZED');
    }
  });
});

describe('network updates with bad input', () => {
  const cases: [string, Body][] = [
    ['available_bandwidth_kbps', { available_bandwidth_kbps: 63 }],
    ['available_bandwidth_kbps', { available_bandwidth_kbps: 100_001 }],
    ['available_bandwidth_kbps', { available_bandwidth_kbps: undefined }],
    ['rtt_ms', { rtt_ms: -1 }],
    ['rtt_ms', { rtt_ms: 5001 }],
    ['packet_loss_percent', { packet_loss_percent: -0.1 }],
    ['packet_loss_percent', { packet_loss_percent: 100.5 }],
    ['jitter_ms', { jitter_ms: 1001 }],
    ['jitter_ms', { jitter_ms: 'high' }],
    ['fps', { fps: 0 }],
    ['fps', { fps: 121 }],
    ['fps', { fps: 29.97 }],
    ['connection_type', { connection_type: 'pigeon' }],
    ['speed', { speed: 9000 }],
  ];

  it.each(cases)(
    'answers a bad %s with 400, leaving no row and no cache entry',
    async (field, change) => {
      const alice = newUser();
      const session = randomUUID();
      const error = await rejected(
        await put(session, conditions(change), alice),
        400,
        'VALIDATION_FAILED',
      );
      const fields = error.error.details?.map((d) => d.field) ?? [];
      expect(fields.some((f) => f === `body.${field}` || f === 'body')).toBe(true);
      expect(await sampleRows(session)).toBe(0);
      expect(await sessionRow(session)).toBeUndefined();
      expect(await redis.exists(networkStateKey(alice, session))).toBe(0);
    },
  );

  it('accepts the bounds themselves and defaults fps to 30', async () => {
    const alice = newUser();
    const low = await estimateOf(
      await put(
        randomUUID(),
        {
          available_bandwidth_kbps: 64,
          rtt_ms: 0,
          packet_loss_percent: 0,
          jitter_ms: 0,
        },
        alice,
      ),
    );
    expect(low.budget_bytes_per_frame).toBe(Math.floor((8000 * 0.85) / 30));
    const high = await estimateOf(
      await put(
        randomUUID(),
        conditions({
          available_bandwidth_kbps: 100_000,
          rtt_ms: 5000,
          packet_loss_percent: 100,
          jitter_ms: 1000,
          fps: 120,
        }),
        alice,
      ),
    );
    expect(high.budget_bytes_per_frame).toBe(0);
    expect(high.network_condition).toBe(0);
  });

  it.each([
    'not-a-uuid',
    '6ba7b810-9dad-11d1-80b4-00c04fd430c8',
    '00000000-0000-0000-0000-000000000000',
  ])('answers session id %s with 400 on every session route', async (session) => {
    const alice = newUser();
    for (const response of [
      await put(session, conditions(), alice),
      await get(networkPath(session), alice),
      await get(sessionPath(session), alice),
    ]) {
      const error = await rejected(response, 400, 'VALIDATION_FAILED');
      expect(error.error.details?.[0]?.field).toBe('path.session_id');
    }
    const [row] = await db.sql<{ n: number }[]>`select count(*)::int as n from network_samples`;
    expect(row?.n).toBeGreaterThanOrEqual(0);
  });

  it('answers a body that is not JSON with 400 and one that is not an object with 400', async () => {
    const alice = newUser();
    const session = randomUUID();
    const malformed = await api.request(networkPath(session), {
      method: 'PUT',
      user: alice,
      headers: { 'content-type': 'application/json' },
      body: '{"available_bandwidth_kbps":',
    });
    await rejected(malformed, 400, 'MALFORMED_JSON');
    await rejected(
      await api.request(networkPath(session), {
        method: 'PUT',
        user: alice,
        headers: { 'content-type': 'application/json' },
        body: '[1, 2]',
      }),
      400,
      'VALIDATION_FAILED',
    );
    expect(await sampleRows(session)).toBe(0);
  });
});
