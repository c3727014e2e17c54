import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { beforeAll, describe, expect, it } from 'vitest';
import { toCompressCommand } from '../../../functions/app/compress-command.ts';
import { compressOnce } from '../../../functions/app/compress-service.ts';
import {
  compressJsonRequestSchema,
  compressResponseSchema,
} from '../../../functions/core/contracts/compress.ts';
import { errorEnvelopeSchema } from '../../../functions/core/contracts/errors.ts';
import { networkEstimateResponseSchema } from '../../../functions/core/contracts/network.ts';
import { createDatabase } from '../../../functions/platform/db/database.ts';
import { createFrameLog } from '../../../functions/platform/metrics/frame-log-factory.ts';
import { createGuardedRedis } from '../../../functions/platform/redis/guarded-redis.ts';
import type { Runtime } from '../../../functions/platform/runtime.ts';
import { loadSettings } from '../../../functions/platform/settings.ts';
import { useTestApi } from '../../support/api-fixture.ts';
import { encodeFrame } from '../../support/frames.ts';
import { deleteKeysWithPrefix, SHARED_REDIS_URL } from '../../support/redis-keys.ts';

const COMPRESS = '/api/v1/aic/compress';
// Eight frames in their engines at once on a small machine may hold a Redis reply past the 50 ms
// default; a claim without a reply would be worked twice (counted once all the same).
const fixture = useTestApi('idempotency', { REDIS_COMMAND_TIMEOUT_MS: '1000' });
const PREFIX = fixture.prefix;
let frameData: string;

beforeAll(async () => {
  frameData = (await encodeFrame('scene')).toString('base64');
});

type Body = Record<string, unknown>;

const post = (body: Body, headers: Record<string, string> = {}, user = 'retrier') =>
  fixture.api.request(COMPRESS, {
    method: 'POST',
    user,
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });

const frame = (session: string, extra: Body = {}): Body => ({
  session_id: session,
  frame_data: frameData,
  max_latency_ms: 100,
  ...extra,
});

/** The answers kept so far are gone, as they are once the idempotency window has passed. */
const forgetAnswers = () => deleteKeysWithPrefix(`${PREFIX}idem:`);

async function counts(session: string) {
  await fixture.api.metricsSettled();
  const [row] = await fixture.db.sql<
    { rows: number; totals: number | null; hourly: number; user: number; latency: number }[]
  >`
    select
      (select count(*)::int from frame_metrics where session_id = ${session}) as rows,
      (select frames_total from sessions where session_id = ${session}) as totals,
      (select coalesce(sum(frames), 0)::int from frame_metrics_hourly
        where session_id = ${session}) as hourly,
      (select coalesce(sum(frames), 0)::int from frame_metrics_user_hourly u
        where u.user_id = (select user_id from sessions where session_id = ${session})) as user,
      (select coalesce(sum(frames), 0)::int from frame_latency_hourly l
        where l.user_id = (select user_id from sessions where session_id = ${session})) as latency
  `;
  return row;
}

interface Answer {
  status: number;
  replay: boolean;
  text: string;
  headers: Headers;
}

async function answer(response: Response): Promise<Answer> {
  return {
    status: response.status,
    replay: response.headers.get('x-aic-replay') === 'true',
    text: await response.text(),
    headers: response.headers,
  };
}

describe('a frame sent again over HTTP', () => {
  it('is stored once when eight copies arrive at once, and every answer is the first one or a 409', async () => {
    // A fresh user each time: its counts hold this session's frames only.
    const user = `burst-${randomUUID()}`;
    const session = randomUUID();
    const answers = await Promise.all(
      Array.from({ length: 8 }, async () =>
        answer(await post(frame(session, { frame_number: 42 }), {}, user)),
      ),
    );
    const ok = answers.filter((a) => a.status === 200);
    const busy = answers.filter((a) => a.status !== 200);
    expect(ok.filter((a) => !a.replay)).toHaveLength(1);
    for (const refused of busy) {
      expect(refused.status, refused.text).toBe(409);
      expect(errorEnvelopeSchema.parse(JSON.parse(refused.text)).error.code).toBe(
        'IDEMPOTENCY_IN_PROGRESS',
      );
      expect(refused.headers.get('retry-after')).toBe('1');
    }
    const bodies = ok.map((a) => compressResponseSchema.parse(JSON.parse(a.text)));
    expect(new Set(bodies.map((b) => b.compressed_data)).size).toBe(1);
    expect(await counts(session)).toEqual({ rows: 1, totals: 1, hourly: 1, user: 1, latency: 1 });

    // Once the first is done, every retry is its replay.
    const late = await answer(await post(frame(session, { frame_number: 42 }), {}, user));
    expect(late.status, late.text).toBe(200);
    expect(late.replay).toBe(true);
    expect(late.headers.get('server-timing')).toBeNull();
    const first = ok.find((a) => !a.replay);
    expect(JSON.parse(late.text)).toEqual(JSON.parse(first?.text ?? '{}'));
    expect(await counts(session)).toMatchObject({ rows: 1, totals: 1 });
  });

  it('is worked again after the window, yet counted once', async () => {
    const session = randomUUID();
    const first = await answer(await post(frame(session, { frame_number: 1 })));
    expect(first.status, first.text).toBe(200);
    await forgetAnswers();
    const again = await answer(await post(frame(session, { frame_number: 1 })));
    expect(again.status, again.text).toBe(200);
    expect(again.replay).toBe(false);
    expect(again.headers.get('server-timing')).toMatch(/^decode;dur=/);
    expect(JSON.parse(again.text).frame_number).toBe(1);
    expect(await counts(session)).toMatchObject({ rows: 1, totals: 1, hourly: 1 });
  });

  it('keeps its answer for IDEMPOTENCY_WINDOW_S', async () => {
    const session = randomUUID();
    expect((await answer(await post(frame(session, { frame_number: 9 })))).status).toBe(200);
    const redis = new Redis(SHARED_REDIS_URL);
    try {
      const keys = await redis.keys(`${PREFIX}idem:compress:retrier:${session}:f:9`);
      expect(keys).toHaveLength(1);
      const ttl = await redis.ttl(keys[0] ?? '');
      expect(ttl).toBeGreaterThan(590);
      expect(ttl).toBeLessThanOrEqual(600);
    } finally {
      redis.disconnect();
    }
  });

  it('is named by its Idempotency-Key when it has no number; a frame without either is new each time', async () => {
    const session = randomUUID();
    const key = { 'Idempotency-Key': `frame-${randomUUID()}` };
    const first = await answer(await post(frame(session), key));
    const repeat = await answer(await post(frame(session), key));
    expect([first.status, repeat.status]).toEqual([200, 200]);
    expect([first.replay, repeat.replay]).toEqual([false, true]);
    expect(JSON.parse(repeat.text)).toEqual(JSON.parse(first.text));
    await forgetAnswers();
    expect((await answer(await post(frame(session), key))).replay).toBe(false);
    expect(await counts(session)).toMatchObject({ rows: 1, totals: 1 });

    await post(frame(session));
    await post(frame(session));
    expect(await counts(session)).toMatchObject({ rows: 3, totals: 3 });
  });

  it('refuses an Idempotency-Key that is not 1 to 255 visible ASCII characters', async () => {
    const refused = await answer(
      await post(frame(randomUUID()), { 'Idempotency-Key': 'k'.repeat(256) }),
    );
    expect(refused.status).toBe(400);
    const { error } = errorEnvelopeSchema.parse(JSON.parse(refused.text));
    expect(error.code).toBe('VALIDATION_FAILED');
    expect(error.details?.[0]?.field).toBe('header.idempotency-key');
  });
});

describe('a network update sent again with an Idempotency-Key', () => {
  const put = (session: string, key?: string) =>
    fixture.api.request(`/api/v1/aic/sessions/${session}/network`, {
      method: 'PUT',
      user: 'retrier',
      headers: { 'content-type': 'application/json', ...(key ? { 'Idempotency-Key': key } : {}) },
      body: JSON.stringify({
        available_bandwidth_kbps: 3000,
        rtt_ms: 40,
        packet_loss_percent: 0.5,
        jitter_ms: 5,
      }),
    });
  const samples = async (session: string) => {
    const [row] = await fixture.db.sql<{ n: number }[]>`
      select count(*)::int as n from network_samples where session_id = ${session}`;
    return row?.n;
  };

  it('is stored once and answered the same, marked as a replay', async () => {
    const session = randomUUID();
    const first = await answer(await put(session, 'update-1'));
    const repeat = await answer(await put(session, 'update-1'));
    expect([first.status, repeat.status]).toEqual([200, 200]);
    expect([first.replay, repeat.replay]).toEqual([false, true]);
    expect(JSON.parse(repeat.text)).toEqual(JSON.parse(first.text));
    expect(networkEstimateResponseSchema.parse(JSON.parse(repeat.text)).sample_count).toBe(1);
    expect(await samples(session)).toBe(1);

    // Without its answer in Redis, the repeat stores nothing and folds nothing in again.
    await forgetAnswers();
    const late = await answer(await put(session, 'update-1'));
    expect(late.status, late.text).toBe(200);
    expect(late.replay).toBe(false);
    expect(networkEstimateResponseSchema.parse(JSON.parse(late.text)).sample_count).toBe(1);
    expect(await samples(session)).toBe(1);

    await put(session, 'update-2');
    await put(session);
    expect(await samples(session)).toBe(3);
  });
});

describe('a frame sent again while Redis is down', () => {
  it('is worked for every copy, and Postgres counts it once', async () => {
    const settings = loadSettings({ DATABASE_URL: fixture.db.url });
    const database = createDatabase({ url: fixture.db.url, poolMax: 8 });
    // Nothing listens on port 1: every Redis call fails at once.
    const redis = createGuardedRedis({ url: 'redis://127.0.0.1:1', keyPrefix: PREFIX });
    // The frame log is the Redis stream, which refuses every append: the events go to Postgres.
    const frameLog = createFrameLog(settings, { sql: database.sql, redis: () => redis });
    const runtime: Runtime = { settings, db: database, redis, frameLog };
    try {
      const session = randomUUID();
      const request = compressJsonRequestSchema.parse(frame(session, { frame_number: 5 }));
      const command = () =>
        toCompressCommand(request, Buffer.from(frameData, 'base64'), 'redis-down');
      const answers = await Promise.all(
        Array.from({ length: 4 }, () => compressOnce(runtime, command())),
      );
      expect(answers.map((a) => a.replay)).toEqual([false, false, false, false]);
      expect(answers.every((a) => a.response.frame_number === 5)).toBe(true);
      const again = await compressOnce(runtime, command());
      expect(again.replay).toBe(false);
      expect(await counts(session)).toEqual({
        rows: 1,
        totals: 1,
        hourly: 1,
        user: 1,
        latency: 1,
      });
    } finally {
      await redis.close();
      await database.close();
    }
  });
});

describe('a frame whose answer is larger than IDEMPOTENCY_MAX_ANSWER_BYTES', () => {
  it('is not kept: a repeat is worked again at once, not refused, and Postgres counts it once', async () => {
    const settings = loadSettings({
      DATABASE_URL: fixture.db.url,
      IDEMPOTENCY_MAX_ANSWER_BYTES: '1000',
      METRICS_LOG: 'postgres',
    });
    const database = createDatabase({ url: fixture.db.url, poolMax: 2 });
    const redis = createGuardedRedis({
      url: SHARED_REDIS_URL,
      keyPrefix: PREFIX,
      commandTimeoutMs: 1000,
    });
    const frameLog = createFrameLog(settings, { sql: database.sql, redis: () => redis });
    const runtime: Runtime = { settings, db: database, redis, frameLog };
    try {
      const session = randomUUID();
      const request = compressJsonRequestSchema.parse(frame(session, { frame_number: 3 }));
      const command = () => toCompressCommand(request, Buffer.from(frameData, 'base64'), 'big');
      const first = await compressOnce(runtime, command());
      expect(first.replay).toBe(false);
      const reader = new Redis(SHARED_REDIS_URL);
      try {
        // Neither the answer nor the claim is left behind to hold the repeat off.
        expect(await reader.keys(`${PREFIX}idem:compress:big:${session}:*`)).toEqual([]);
      } finally {
        reader.disconnect();
      }
      const again = await compressOnce(runtime, command());
      expect(again.replay).toBe(false);
      expect(again.response.frame_number).toBe(3);
      expect(await counts(session)).toMatchObject({ rows: 1, totals: 1, hourly: 1 });
    } finally {
      await redis.close();
      await database.close();
    }
  });
});
