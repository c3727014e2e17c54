import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase, type Database } from '../../../functions/platform/db/database.ts';
import { migrate } from '../../../functions/platform/db/migrate.ts';
import { MIGRATIONS } from '../../../functions/platform/db/migrations/index.ts';
import { insertNetworkSample } from '../../../functions/platform/db/network-repository.ts';
import { sampleFrameRecord, storeFrameMetrics } from '../../support/frame-store.ts';
import { createTestDatabase, type TestDatabase } from '../../support/test-database.ts';

let db: TestDatabase;
// Eight connections, so that eight copies of a frame really run at once.
let wide: Database;

beforeAll(async () => {
  db = await createTestDatabase({ migrate: true });
  wide = createDatabase({ url: db.url, poolMax: 8 });
});

afterAll(async () => {
  await wide?.close();
  await db?.drop();
});

const frame = (
  userId: string,
  sessionId: string,
  frameNumber: number | null,
  idempotencyKey?: string,
) =>
  sampleFrameRecord(userId, sessionId, {
    frameNumber,
    idempotencyKey,
    format: 'webp',
    quality: 60,
    compressedBytes: 8_000,
    compressionRatio: 0.87,
    ssim: 0.96,
    psnrDb: 38,
    encodeAttempts: 2,
    metricsMs: 1,
    totalMs: 9,
  });

/** Every count a frame adds to, for one session and its owner. */
async function counts(userId: string, sessionId: string) {
  const [row] = await db.sql<
    {
      rows: number;
      totals: number;
      bytes_in: number;
      hourly: number;
      user: number;
      latency: number;
    }[]
  >`
    select
      (select count(*)::int from frame_metrics
        where user_id = ${userId} and session_id = ${sessionId}) as rows,
      (select frames_total from sessions
        where user_id = ${userId} and session_id = ${sessionId}) as totals,
      (select bytes_in_total from sessions
        where user_id = ${userId} and session_id = ${sessionId}) as bytes_in,
      (select coalesce(sum(frames), 0)::int from frame_metrics_hourly
        where user_id = ${userId} and session_id = ${sessionId}) as hourly,
      (select coalesce(sum(frames), 0)::int from frame_metrics_user_hourly
        where user_id = ${userId}) as user,
      (select coalesce(sum(frames), 0)::int from frame_latency_hourly
        where user_id = ${userId}) as latency
  `;
  return row;
}

describe('a frame sent more than once', () => {
  it('is stored and counted once when eight copies of a new session first frame race', async () => {
    for (let round = 0; round < 10; round++) {
      const user = `racer-${round}`;
      const session = randomUUID();
      const outcomes = await Promise.all(
        Array.from({ length: 8 }, () => storeFrameMetrics(wide.sql, frame(user, session, 0))),
      );
      expect(outcomes.filter((o) => o === 'stored')).toHaveLength(1);
      expect(outcomes.filter((o) => o === 'repeat')).toHaveLength(7);
      expect(await counts(user, session)).toEqual({
        rows: 1,
        totals: 1,
        bytes_in: 60_000,
        hourly: 1,
        user: 1,
        latency: 1,
      });
    }
  });

  it('is counted once when repeated later, and the frames around it are all counted', async () => {
    const session = randomUUID();
    expect(await storeFrameMetrics(db.sql, frame('later', session, 1))).toBe('stored');
    expect(await storeFrameMetrics(db.sql, frame('later', session, 2))).toBe('stored');
    expect(await storeFrameMetrics(db.sql, frame('later', session, 1))).toBe('repeat');
    const [last] = await db.sql<{ last_seen_at: Date }[]>`
      select last_seen_at from sessions where session_id = ${session}`;
    expect(await storeFrameMetrics(db.sql, frame('later', session, 2))).toBe('repeat');
    expect(await counts('later', session)).toMatchObject({ rows: 2, totals: 2, hourly: 2 });
    const [after] = await db.sql<{ last_seen_at: Date }[]>`
      select last_seen_at from sessions where session_id = ${session}`;
    expect(after?.last_seen_at).toEqual(last?.last_seen_at);
  });

  it('is counted once by its Idempotency-Key when it has no number, and every unnamed frame is new', async () => {
    const session = randomUUID();
    const keyed = await Promise.all(
      Array.from({ length: 4 }, () =>
        storeFrameMetrics(wide.sql, frame('keyed', session, null, 'retry-me')),
      ),
    );
    expect(keyed.sort()).toEqual(['repeat', 'repeat', 'repeat', 'stored']);
    await storeFrameMetrics(db.sql, frame('keyed', session, null));
    await storeFrameMetrics(db.sql, frame('keyed', session, null));
    expect(await counts('keyed', session)).toMatchObject({ rows: 3, totals: 3 });
  });

  it('is no repeat when another tenant sends the same frame of the same session id: each is counted in its own session', async () => {
    for (let round = 0; round < 10; round++) {
      const session = randomUUID();
      const [first, second] = [`first-${round}`, `second-${round}`];
      const outcomes = await Promise.all([
        storeFrameMetrics(wide.sql, frame(first, session, 5)),
        storeFrameMetrics(wide.sql, frame(second, session, 5)),
        storeFrameMetrics(wide.sql, frame(first, session, 5)),
        storeFrameMetrics(wide.sql, frame(second, session, 5)),
      ]);
      expect(outcomes.sort()).toEqual(['repeat', 'repeat', 'stored', 'stored']);
      const owners = await db.sql<{ user_id: string; frames_total: number }[]>`
        select user_id, frames_total::int from sessions where session_id = ${session}
        order by user_id`;
      expect(owners).toEqual([
        { user_id: first, frames_total: 1 },
        { user_id: second, frames_total: 1 },
      ]);
      const single = { rows: 1, totals: 1, bytes_in: 60_000, hourly: 1, user: 1, latency: 1 };
      expect(await counts(first, session)).toEqual(single);
      expect(await counts(second, session)).toEqual(single);
    }
  });
});

describe('a network update sent more than once with an Idempotency-Key', () => {
  it('is stored once, and updates without a key each add a sample', async () => {
    const session = randomUUID();
    const sample = (idempotencyKey?: string) =>
      insertNetworkSample(wide.sql, {
        sessionId: session,
        userId: 'networker',
        conditions: {
          available_bandwidth_kbps: 2000,
          rtt_ms: 20,
          packet_loss_percent: 0,
          jitter_ms: 2,
          fps: 30,
        },
        estimatedBandwidthKbps: 2000,
        networkCondition: 0.6,
        idempotencyKey,
      });
    const keyed = await Promise.all(Array.from({ length: 6 }, () => sample('update-1')));
    expect(keyed.filter((r) => r === 'repeat')).toHaveLength(5);
    expect(keyed.filter((r) => r !== 'repeat')).toHaveLength(1);
    await sample();
    await sample();
    const [row] = await db.sql<{ n: number }[]>`
      select count(*)::int as n from network_samples where session_id = ${session}`;
    expect(row?.n).toBe(3);
  });

  it('is stored for each tenant that sends the same key in the same session id', async () => {
    const session = randomUUID();
    const sample = (userId: string) =>
      insertNetworkSample(wide.sql, {
        sessionId: session,
        userId,
        conditions: {
          available_bandwidth_kbps: 1500,
          rtt_ms: 30,
          packet_loss_percent: 1,
          jitter_ms: 3,
          fps: 25,
        },
        estimatedBandwidthKbps: 1500,
        networkCondition: 0.5,
        idempotencyKey: 'shared-key',
      });
    const outcomes = await Promise.all(
      ['tenant-a', 'tenant-b', 'tenant-a', 'tenant-b'].map((userId) => sample(userId)),
    );
    expect(outcomes.filter((r) => r === 'repeat')).toHaveLength(2);
    const rows = await db.sql<{ user_id: string; n: number }[]>`
      select user_id, count(*)::int as n from network_samples where session_id = ${session}
      group by user_id order by user_id`;
    expect(rows).toEqual([
      { user_id: 'tenant-a', n: 1 },
      { user_id: 'tenant-b', n: 1 },
    ]);
  });
});

describe('migration 0004', () => {
  it('keeps the rows of repeats stored before it, numbering only the first of each', async () => {
    const old = await createTestDatabase();
    try {
      await migrate(old.sql, { migrations: MIGRATIONS.slice(0, 3) });
      const session = randomUUID();
      await old.sql`insert into sessions (session_id, user_id) values (${session}, 'legacy')`;
      for (const n of [1, 1, 2, 1]) {
        await old.sql`
          insert into frame_metrics (session_id, user_id, frame_number, mode, format, width,
            height, original_bytes, compressed_bytes, compression_ratio, budget_bytes,
            within_budget, decode_ms, encode_ms, metrics_ms, total_ms)
          values (${session}, 'legacy', ${n}, 'adaptive', 'jpeg', 640, 360, 100, 50, 0.5, 100,
            true, 1, 1, 1, 3)`;
      }
      await migrate(old.sql);
      const rows = await old.sql<{ frame_number: number | null }[]>`
        select frame_number from frame_metrics where session_id = ${session} order by id`;
      expect(rows.map((r) => r.frame_number)).toEqual([1, null, 2, null]);
    } finally {
      await old.drop();
    }
  });
});
