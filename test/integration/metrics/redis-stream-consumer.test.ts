import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  type ConsumedBatch,
  consumeFrameRecords,
} from '../../../functions/app/frame-event-consumer.ts';
import type { FrameEvent } from '../../../functions/core/contracts/frame-event.ts';
import { claimSession } from '../../../functions/platform/db/session-repository.ts';
import type { FrameEventLog } from '../../../functions/platform/metrics/frame-event-log.ts';
import {
  type RedisStreamConsumer,
  startRedisStreamConsumer,
} from '../../../functions/platform/metrics/redis-stream-consumer.ts';
import {
  createRedisStreamFrameLog,
  EVENT_FIELD,
} from '../../../functions/platform/metrics/redis-stream-frame-log.ts';
import { createRedisClient } from '../../../functions/platform/redis/client.ts';
import {
  createGuardedRedis,
  type GuardedRedis,
} from '../../../functions/platform/redis/guarded-redis.ts';
import { sampleFrameEvent } from '../../support/frame-events.ts';
import { deleteKeysWithPrefix, SHARED_REDIS_URL } from '../../support/redis-keys.ts';
import { createTestDatabase, type TestDatabase } from '../../support/test-database.ts';

const STREAM = 'metrics:frames';
const GROUP = 'metrics-consumer';
const BATCH_SIZE = 50;
const BLOCK_MS = 50;
const SESSIONS = 5;
/** Per session: 60 distinct frames, and 4 of them sent a second time (a producer's retry). */
const DISTINCT_PER_SESSION = 60;
const REPEATS_PER_SESSION = 4;
const DISTINCT = SESSIONS * DISTINCT_PER_SESSION;
const ENTRIES = SESSIONS * (DISTINCT_PER_SESSION + REPEATS_PER_SESSION);

let db: TestDatabase;
// Per test: its own key prefix, producer and consumer connections.
let prefix: string;
let guarded: GuardedRedis;
let log: FrameEventLog;
let running: { consumer: RedisStreamConsumer; redis: Redis }[];
let admin: Redis;

beforeAll(async () => {
  db = await createTestDatabase({ migrate: true });
});

afterAll(async () => {
  await db?.drop();
});

beforeEach(async () => {
  prefix = `aic-test:redis-stream-consumer:${randomUUID()}:`;
  guarded = createGuardedRedis({
    url: SHARED_REDIS_URL,
    keyPrefix: prefix,
    commandTimeoutMs: 2_000,
  });
  log = createRedisStreamFrameLog({ redis: guarded, stream: STREAM });
  admin = createRedisClient({ url: SHARED_REDIS_URL, commandTimeoutMs: 2_000 });
  await admin.connect();
  running = [];
});

afterEach(async () => {
  for (const { consumer, redis } of running) {
    await consumer.stop();
    redis.disconnect();
  }
  await log.close();
  await guarded.close();
  admin.disconnect();
  await deleteKeysWithPrefix(prefix);
});

/** The stream's full key: the consumer's connection adds no prefix. */
const streamKey = () => `${prefix}${STREAM}`;

function frameEvent(userId: string, sessionId: string, frameNumber: number): FrameEvent {
  return sampleFrameEvent(frameNumber, {
    user_id: userId,
    session_id: sessionId,
    recorded_at: new Date(Date.UTC(2026, 0, 1, 9, frameNumber)).toISOString(),
    frame_type: 'screen',
    mode: 'conservative',
    format: 'png',
    quality: null,
    width: 1920,
    height: 1080,
    original_bytes: 6_220_800,
    compressed_bytes: 300_000,
    compression_ratio: 20.7,
    ssim: 0.99,
    psnr_db: 45,
    budget_bytes: 400_000,
    decode_ms: 2,
    encode_ms: 20,
    metrics_ms: 4,
    total_ms: 26,
  });
}

/**
 * Claims fresh sessions and appends their frames (every 15th frame twice); returns the sessions
 * and the records as the stream holds them.
 */
async function produce(): Promise<{ sessionIds: string[]; records: string[] }> {
  const userId = `user-${randomUUID()}`;
  const sessionIds = Array.from({ length: SESSIONS }, () => randomUUID());
  const events: FrameEvent[] = [];
  for (const sessionId of sessionIds) {
    await claimSession(db.sql, { sessionId, userId, sessionsPerDay: 100 });
    for (let n = 0; n < DISTINCT_PER_SESSION; n++) {
      events.push(frameEvent(userId, sessionId, n));
      if (n % 15 === 14) events.push(frameEvent(userId, sessionId, n - 7));
    }
  }
  expect(events).toHaveLength(ENTRIES);
  const [claimed] = await db.sql<{ n: number }[]>`
    select count(*)::int as n from sessions where user_id = ${userId}`;
  expect(claimed?.n).toBe(SESSIONS);
  // Several appends, as several answered frames make them.
  for (let i = 0; i < events.length; i += 40) await log.append(events.slice(i, i + 40));
  return { sessionIds, records: events.map((event) => JSON.stringify(event)) };
}

/** Every count a frame adds to, over `sessionIds`. */
async function counts(sessionIds: readonly string[]) {
  const [row] = await db.sql<{ totals: number; rows: number; hourly: number }[]>`
    select
      (select coalesce(sum(frames_total), 0)::int from sessions
        where session_id = any(${sessionIds}::uuid[])) as totals,
      (select count(*)::int from frame_metrics where session_id = any(${sessionIds}::uuid[])) as rows,
      (select coalesce(sum(frames), 0)::int from frame_metrics_hourly
        where session_id = any(${sessionIds}::uuid[])) as hourly
  `;
  return row;
}

type Handle = (records: readonly string[]) => Promise<void>;

/** Starts a consumer of the test's stream on a connection of its own. */
async function startConsumer(name: string, handle: Handle, claimIdleMs: number) {
  const redis = createRedisClient({
    url: SHARED_REDIS_URL,
    // A blocking read holds the connection for up to BLOCK_MS.
    commandTimeoutMs: BLOCK_MS + 5_000,
    connectionName: `aic-test-${name}`,
  });
  await redis.connect();
  const errors: unknown[] = [];
  const consumer = await startRedisStreamConsumer({
    redis,
    stream: streamKey(),
    group: GROUP,
    consumer: name,
    batchSize: BATCH_SIZE,
    blockMs: BLOCK_MS,
    claimIdleMs,
    handle,
    onError: (error) => errors.push(error),
  });
  return { consumer, redis, errors };
}

/** A handle that applies every batch and records what it handled and what that came to. */
function applying() {
  const seen: string[][] = [];
  const results: ConsumedBatch[] = [];
  const handle: Handle = async (records) => {
    seen.push([...records]);
    results.push(await consumeFrameRecords(db.sql, records));
  };
  return { seen, results, handle };
}

/**
 * A consumer killed between its statement and its acknowledgement: it applies its first batch,
 * then never returns. `kill()` cuts its connection and ends it without an acknowledgement.
 */
async function startDoomedConsumer(name: string, claimIdleMs: number) {
  const { seen, results, handle } = applying();
  let applied!: () => void;
  const firstApplied = new Promise<void>((resolve) => {
    applied = resolve;
  });
  let cut!: (error: Error) => void;
  const hung = new Promise<never>((_, reject) => {
    cut = reject;
  });
  const { consumer, redis } = await startConsumer(
    name,
    async (records) => {
      await handle(records);
      applied();
      await hung;
    },
    claimIdleMs,
  );
  const kill = async () => {
    const stopped = consumer.stop();
    redis.disconnect();
    cut(new Error('killed'));
    await stopped;
  };
  return { seen, results, firstApplied, kill };
}

/** The group's pending entries per consumer. */
async function pendingByConsumer(): Promise<Record<string, number>> {
  const [, , , consumers] = (await admin.xpending(streamKey(), GROUP)) as [
    number,
    string | null,
    string | null,
    [string, string][] | null,
  ];
  return Object.fromEntries((consumers ?? []).map(([name, n]) => [name, Number(n)]));
}

describe('the Redis stream consumer', () => {
  it('lets another consumer take over the batch of one killed before its acknowledgement, counting it once', async () => {
    const { sessionIds, records } = await produce();
    const doomed = await startDoomedConsumer('consumer-a', 60_000);
    await doomed.firstApplied;
    await doomed.kill();
    expect(doomed.seen).toHaveLength(1);
    expect(doomed.seen[0]).toHaveLength(BATCH_SIZE);
    // Applied and committed, but never acknowledged: still pending on the dead consumer.
    expect(await pendingByConsumer()).toEqual({ 'consumer-a': BATCH_SIZE });
    expect(await counts(sessionIds)).toEqual({
      totals: doomed.results[0]?.stored,
      rows: doomed.results[0]?.stored,
      hourly: doomed.results[0]?.stored,
    });

    const taker = applying();
    const b = await startConsumer('consumer-b', taker.handle, 200);
    running.push(b);
    await b.consumer.settled(10_000);

    expect(await counts(sessionIds)).toEqual({
      totals: DISTINCT,
      rows: DISTINCT,
      hourly: DISTINCT,
    });
    // B handled every entry, the dead consumer's batch included, and that batch stored nothing.
    const handled = taker.seen.flat();
    expect(handled).toHaveLength(ENTRIES);
    expect(new Set(handled)).toEqual(new Set(records));
    const retaken = taker.seen.findIndex((batch) => batch.includes(doomed.seen[0]?.[0] as string));
    expect(taker.seen[retaken]).toEqual(doomed.seen[0]);
    expect(taker.results[retaken]).toMatchObject({ received: BATCH_SIZE, stored: 0, rejected: 0 });
    const stored = [...doomed.results, ...taker.results].reduce((sum, r) => sum + r.stored, 0);
    expect(stored).toBe(DISTINCT);
    expect(await pendingByConsumer()).toEqual({});
    expect(await admin.xlen(streamKey())).toBe(0);
    expect(b.errors).toEqual([]);
  });

  it('reads its own pending entries first when restarted under the same name, and counts them once', async () => {
    const { sessionIds } = await produce();
    const doomed = await startDoomedConsumer('consumer-1', 60_000);
    await doomed.firstApplied;
    await doomed.kill();
    expect(await pendingByConsumer()).toEqual({ 'consumer-1': BATCH_SIZE });

    // Claims are out of reach (60 s): only reading its own pending entries can recover the batch.
    const restarted = applying();
    const again = await startConsumer('consumer-1', restarted.handle, 60_000);
    running.push(again);
    await again.consumer.settled(10_000);

    expect(restarted.seen[0]).toEqual(doomed.seen[0]);
    expect(restarted.results[0]).toMatchObject({ received: BATCH_SIZE, stored: 0 });
    expect(restarted.seen.flat()).toHaveLength(ENTRIES);
    expect(await counts(sessionIds)).toEqual({
      totals: DISTINCT,
      rows: DISTINCT,
      hourly: DISTINCT,
    });
    expect(await admin.xlen(streamKey())).toBe(0);
    expect(again.errors).toEqual([]);
  });

  it('deletes entries from the stream once acknowledged, records that are not frame events included', async () => {
    const { sessionIds } = await produce();
    await admin.xadd(streamKey(), '*', EVENT_FIELD, 'not json');
    await admin.xadd(streamKey(), '*', 'other', 'no event field');
    expect(await admin.xlen(streamKey())).toBe(ENTRIES + 2);
    const consumer = applying();
    const started = await startConsumer('consumer-only', consumer.handle, 60_000);
    running.push(started);

    await started.consumer.settled(10_000);

    expect(await admin.xlen(streamKey())).toBe(0);
    expect(await pendingByConsumer()).toEqual({});
    const total = consumer.results.reduce(
      (sum, r) => ({ stored: sum.stored + r.stored, rejected: sum.rejected + r.rejected }),
      { stored: 0, rejected: 0 },
    );
    expect(total).toEqual({ stored: DISTINCT, rejected: 2 });
    expect(await counts(sessionIds)).toEqual({
      totals: DISTINCT,
      rows: DISTINCT,
      hourly: DISTINCT,
    });
    expect(started.errors).toEqual([]);
  });

  it('keeps consuming when one of its pending entries was deleted from the stream', async () => {
    // A batch read, then its entries removed by hand (as XTRIM or an operator's XDEL would).
    await admin.xgroup('CREATE', streamKey(), GROUP, '0', 'MKSTREAM');
    const lost = await admin.xadd(streamKey(), '*', EVENT_FIELD, 'lost');
    await admin.xreadgroup('GROUP', GROUP, 'consumer-t', 'COUNT', 10, 'STREAMS', streamKey(), '>');
    await admin.xdel(streamKey(), lost as string);
    const { sessionIds } = await produce();
    const consumer = applying();
    const started = await startConsumer('consumer-t', consumer.handle, 60_000);
    running.push(started);

    const outcome = await started.consumer.settled(5_000).then(
      () => 'settled',
      (error: unknown) => error,
    );

    // The consumer's own errors first: they say why it did not settle.
    expect(started.errors.map(String)).toEqual([]);
    expect(outcome).toBe('settled');
    expect(await counts(sessionIds)).toEqual({
      totals: DISTINCT,
      rows: DISTINCT,
      hourly: DISTINCT,
    });
    expect(await admin.xlen(streamKey())).toBe(0);
    // The lost entry reads as a record that is not a frame event: set aside and acknowledged.
    expect(consumer.results.reduce((sum, r) => sum + r.rejected, 0)).toBe(1);
  });
});
