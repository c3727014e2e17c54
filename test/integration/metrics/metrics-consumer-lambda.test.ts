import { randomUUID } from 'node:crypto';
import type { Context, KinesisStreamBatchResponse, KinesisStreamEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { FrameEvent } from '../../../functions/core/contracts/frame-event.ts';
import { handler } from '../../../functions/handlers/metrics-consumer.ts';
import { lambdaContext } from '../../../functions/local/api-gateway-event.ts';
import { claimSession } from '../../../functions/platform/db/session-repository.ts';
import { createKinesisFrameLog } from '../../../functions/platform/metrics/kinesis-frame-log.ts';
import { logger } from '../../../functions/platform/observability.ts';
import { closeRuntime } from '../../../functions/platform/runtime.ts';
import { sampleFrameEvent } from '../../support/frame-events.ts';
import { type Kinesalite, type StreamRecord, startKinesalite } from '../../support/kinesalite.ts';
import { freePort } from '../../support/own-redis.ts';
import { createTestDatabase, type TestDatabase } from '../../support/test-database.ts';

const STREAM_ARN = 'arn:aws:kinesis:eu-west-1:000000000000:stream/frame-events';
const USERS = ['user-lambda-a', 'user-lambda-b'];
/** Per session: 90 distinct frames and 10 of them sent a second time (a producer's retry). */
const DISTINCT_PER_SESSION = 90;
const REPEATS_PER_SESSION = 10;

let db: TestDatabase;
let kinesis: Kinesalite;
/** Every record of the stream, shard by shard, each shard in sequence order. */
let records: StreamRecord[];
/** The sessions of the main batch, with their owners. */
let sessions: { sessionId: string; userId: string }[];

beforeAll(async () => {
  db = await createTestDatabase({ migrate: true });
  kinesis = await startKinesalite({ shards: 4 });
  // The handler's runtime: this database, no Redis, frame events never re-appended anywhere.
  process.env.DATABASE_URL = db.url;
  delete process.env.REDIS_URL;
  delete process.env.METRICS_STREAM_NAME;
  delete process.env.METRICS_LOG;
  sessions = await claimSessions(10);
  const log = createKinesisFrameLog({ client: kinesis.client, streamName: kinesis.streamName });
  await log.append(interleaved(sessions.map((s) => sessionEvents(s.userId, s.sessionId))));
  await log.close();
  records = await kinesis.readAll();
}, 60_000);

afterAll(async () => {
  await closeRuntime();
  await kinesis?.stop();
  await db?.drop();
});

async function claimSessions(count: number) {
  const claimed = Array.from({ length: count }, (_, i) => ({
    sessionId: randomUUID(),
    userId: USERS[i % USERS.length] as string,
  }));
  for (const claim of claimed) {
    await claimSession(db.sql, { ...claim, sessionsPerDay: 1_000 });
  }
  await expectClaimed(claimed);
  return claimed;
}

/** Each of `claims` is a session of its user (the claim stored it). */
async function expectClaimed(claims: readonly { sessionId: string; userId: string }[]) {
  const rows = await db.sql<{ sessionId: string; userId: string }[]>`
    select session_id as "sessionId", user_id as "userId" from sessions
    where session_id = any(${claims.map((c) => c.sessionId)}::uuid[])
  `;
  const key = (c: { sessionId: string; userId: string }) => `${c.userId}/${c.sessionId}`;
  expect(new Set(rows.map(key))).toEqual(new Set(claims.map(key)));
}

function frameEvent(userId: string, sessionId: string, frameNumber: number): FrameEvent {
  return sampleFrameEvent(frameNumber, {
    user_id: userId,
    session_id: sessionId,
    // A frame a minute from 12:00: the session's frames span two hours of the rollups.
    recorded_at: new Date(Date.UTC(2026, 0, 1, 12, frameNumber)).toISOString(),
    original_bytes: 100_000 + frameNumber,
    compressed_bytes: 5_000,
    compression_ratio: 20,
    ssim: frameNumber % 3 === 0 ? 0.97 : 0.85,
    psnr_db: 38,
    budget_bytes: 6_000,
    decode_ms: 1,
    encode_ms: 5,
    metrics_ms: 1,
    total_ms: 7 + (frameNumber % 50),
    fallback: frameNumber % 17 === 0,
    fallback_reason: frameNumber % 17 === 0 ? 'encoder failed' : null,
  });
}

/** The frames of one session as the producer appended them: every 9th frame sent again later. */
function sessionEvents(userId: string, sessionId: string): FrameEvent[] {
  const events: FrameEvent[] = [];
  for (let n = 0; n < DISTINCT_PER_SESSION; n++) {
    events.push(frameEvent(userId, sessionId, n));
    // Half the repeats close behind their frame (same batch), half far behind (a later batch).
    if (n % 9 === 4) events.push(frameEvent(userId, sessionId, n < 45 ? n - 4 : n - 45));
  }
  expect(events).toHaveLength(DISTINCT_PER_SESSION + REPEATS_PER_SESSION);
  return events;
}

/** The sessions' frames as concurrent streams answer them: one of each session in turn. */
function interleaved(perSession: readonly FrameEvent[][]): FrameEvent[] {
  const longest = Math.max(...perSession.map((events) => events.length));
  return Array.from({ length: longest }, (_, i) =>
    perSession.flatMap((events) => (i < events.length ? [events[i] as FrameEvent] : [])),
  ).flat();
}

/** One Kinesis record as the event source mapping hands it to the function. */
function lambdaRecord(record: StreamRecord, data = record.data) {
  return {
    kinesis: {
      kinesisSchemaVersion: '1.0',
      partitionKey: record.partitionKey,
      sequenceNumber: record.sequenceNumber,
      data: Buffer.from(data, 'utf8').toString('base64'),
      approximateArrivalTimestamp: Date.now() / 1000,
    },
    eventSource: 'aws:kinesis',
    eventVersion: '1.0',
    eventID: `${record.shardId}:${record.sequenceNumber}`,
    eventName: 'aws:kinesis:record',
    invokeIdentityArn: 'arn:aws:iam::000000000000:role/metrics-consumer',
    awsRegion: 'eu-west-1',
    eventSourceARN: STREAM_ARN,
  };
}

/** The invocations of each shard: its records in sequence order, `size` at a time. */
function shardBatches(all: readonly StreamRecord[], size = 100): KinesisStreamEvent[][] {
  const byShard = new Map<string, StreamRecord[]>();
  for (const record of all)
    byShard.set(record.shardId, [...(byShard.get(record.shardId) ?? []), record]);
  return [...byShard.values()].map((own) => {
    const events: KinesisStreamEvent[] = [];
    for (let i = 0; i < own.length; i += size) {
      events.push({ Records: own.slice(i, i + size).map((record) => lambdaRecord(record)) });
    }
    return events;
  });
}

/** How many repeated frames have their two copies in one batch, and how many in two. */
function repeatPlacement(batches: readonly KinesisStreamEvent[]) {
  const seenIn = new Map<string, number[]>();
  batches.forEach((batch, index) => {
    for (const record of batch.Records) {
      const event = JSON.parse(Buffer.from(record.kinesis.data, 'base64').toString()) as FrameEvent;
      const key = `${event.session_id}/${event.event_id}`;
      seenIn.set(key, [...(seenIn.get(key) ?? []), index]);
    }
  });
  const repeated = [...seenIn.values()].filter((at) => at.length > 1);
  const sameBatch = repeated.filter(([a, b]) => a === b).length;
  return { sameBatch, laterBatch: repeated.length - sameBatch };
}

function invoke(event: KinesisStreamEvent): Promise<KinesisStreamBatchResponse> {
  return handler(
    event,
    lambdaContext('metrics-consumer', 30_000) as Context,
  ) as Promise<KinesisStreamBatchResponse>;
}

/** Delivers every shard's batches, the shards at once and each one's batches in order. */
async function deliverAll(): Promise<KinesisStreamBatchResponse[]> {
  const perShard = await Promise.all(
    shardBatches(records).map(async (batches) => {
      const responses: KinesisStreamBatchResponse[] = [];
      for (const batch of batches) responses.push(await invoke(batch));
      return responses;
    }),
  );
  return perShard.flat();
}

/** Every count a frame adds to, over `sessionIds`. */
async function counts(sessionIds: readonly string[]) {
  const [row] = await db.sql<
    {
      totals: number;
      rows: number;
      hourly: number;
      user_hourly: number;
      latency: number;
      hours: number;
    }[]
  >`
    select
      (select coalesce(sum(frames_total), 0)::int from sessions
        where session_id = any(${sessionIds}::uuid[])) as totals,
      (select count(*)::int from frame_metrics where session_id = any(${sessionIds}::uuid[])) as rows,
      (select coalesce(sum(frames), 0)::int from frame_metrics_hourly
        where session_id = any(${sessionIds}::uuid[])) as hourly,
      (select coalesce(sum(frames), 0)::int from frame_metrics_user_hourly) as user_hourly,
      (select coalesce(sum(frames), 0)::int from frame_latency_hourly) as latency,
      (select count(distinct hour)::int from frame_metrics_hourly
        where session_id = any(${sessionIds}::uuid[])) as hours
  `;
  return row;
}

async function sessionTotals() {
  return db.sql<{ session_id: string; frames_total: number; bytes_in_total: number }[]>`
    select session_id, frames_total, bytes_in_total::int as bytes_in_total from sessions
    where session_id = any(${sessions.map((s) => s.sessionId)}::uuid[])
    order by session_id
  `;
}

const ALL_DISTINCT = 10 * DISTINCT_PER_SESSION;
/** What one session's distinct frames add to bytes_in. */
const SESSION_BYTES_IN = Array.from({ length: DISTINCT_PER_SESSION }, (_, n) => 100_000 + n).reduce(
  (a, b) => a + b,
);

describe('the metrics consumer Lambda', () => {
  it('stores and counts every distinct frame of a thousand records once', async () => {
    expect(records).toHaveLength(10 * (DISTINCT_PER_SESSION + REPEATS_PER_SESSION));
    expect(new Set(records.map((r) => r.shardId)).size).toBeGreaterThan(1);

    // Repeats both within one batch and across two batches of their shard.
    const placement = repeatPlacement(shardBatches(records).flat());
    expect(placement.sameBatch).toBeGreaterThan(0);
    expect(placement.laterBatch).toBeGreaterThan(0);

    const responses = await deliverAll();

    expect(responses.length).toBeGreaterThanOrEqual(10);
    expect(responses.every((r) => r.batchItemFailures.length === 0)).toBe(true);
    const ids = sessions.map((s) => s.sessionId);
    expect(await counts(ids)).toEqual({
      totals: ALL_DISTINCT,
      rows: ALL_DISTINCT,
      hourly: ALL_DISTINCT,
      user_hourly: ALL_DISTINCT,
      latency: ALL_DISTINCT,
      hours: 2,
    });
    for (const row of await sessionTotals()) {
      expect(row).toMatchObject({
        frames_total: DISTINCT_PER_SESSION,
        bytes_in_total: SESSION_BYTES_IN,
      });
    }
  });

  it('changes nothing when every batch is delivered a second time', async () => {
    const before = {
      counts: await counts(sessions.map((s) => s.sessionId)),
      totals: await sessionTotals(),
    };

    const responses = await deliverAll();

    expect(responses.every((r) => r.batchItemFailures.length === 0)).toBe(true);
    expect(await counts(sessions.map((s) => s.sessionId))).toEqual(before.counts);
    expect(await sessionTotals()).toEqual(before.totals);
  });

  it('stores the rest of a batch that holds a record which is not a frame event, and skips that one', async () => {
    const [claim] = await claimSessions(1);
    const { sessionId, userId } = claim as { sessionId: string; userId: string };
    const good = Array.from({ length: 20 }, (_, n) => frameEvent(userId, sessionId, n));
    const asRecord = (data: string, n: number): StreamRecord => ({
      data,
      partitionKey: sessionId,
      sequenceNumber: `${900_000 + n}`,
      shardId: 'shardId-000000000000',
    });
    const batch = good.map((event, n) => lambdaRecord(asRecord(JSON.stringify(event), n)));
    batch.splice(7, 0, lambdaRecord(asRecord('{"v":1, not json', 50)));
    batch.splice(13, 0, lambdaRecord(asRecord(JSON.stringify({ ...good[0], v: 99 }), 51)));
    const info = vi.spyOn(logger, 'info');
    try {
      const response = await invoke({ Records: batch });

      expect(response).toEqual({ batchItemFailures: [] });
      expect(info).toHaveBeenCalledWith('Applied a batch of frame events', {
        received: 22,
        stored: 20,
        repeats: 0,
        rejected: 2,
      });
    } finally {
      info.mockRestore();
    }
    expect(await counts([sessionId])).toMatchObject({ totals: 20, rows: 20, hourly: 20 });
  });

  it('reports the first record of the batch as failed while Postgres is unreachable, and the retry counts once', async () => {
    const [claim] = await claimSessions(1);
    const { sessionId, userId } = claim as { sessionId: string; userId: string };
    const batch = Array.from({ length: 5 }, (_, n) =>
      lambdaRecord({
        data: JSON.stringify(frameEvent(userId, sessionId, n)),
        partitionKey: sessionId,
        sequenceNumber: `${800_000 + n}`,
        shardId: 'shardId-000000000001',
      }),
    );
    await closeRuntime();
    process.env.DATABASE_URL = `postgres://postgres@127.0.0.1:${await freePort()}/nowhere`;
    process.env.DB_CONNECT_TRIES = '1';
    try {
      expect(await invoke({ Records: batch })).toEqual({
        batchItemFailures: [{ itemIdentifier: '800000' }],
      });
    } finally {
      await closeRuntime();
      process.env.DATABASE_URL = db.url;
      delete process.env.DB_CONNECT_TRIES;
    }
    expect(await counts([sessionId])).toMatchObject({ totals: 0, rows: 0 });

    // The mapping retries the batch from its first record once Postgres is back.
    expect(await invoke({ Records: batch })).toEqual({ batchItemFailures: [] });
    expect(await invoke({ Records: batch })).toEqual({ batchItemFailures: [] });
    expect(await counts([sessionId])).toMatchObject({ totals: 5, rows: 5, hourly: 5 });
  });

  it('counts no frame of a session its user has not claimed, even when another user has a session of that id', async () => {
    const [claim] = await claimSessions(1);
    const { sessionId: owned, userId: owner } = claim as { sessionId: string; userId: string };
    const unclaimed = randomUUID();
    const events = [
      ...Array.from({ length: 3 }, (_, n) => frameEvent(owner, unclaimed, n)),
      ...Array.from({ length: 3 }, (_, n) => frameEvent('someone-else', owned, n)),
    ];
    const batch = events.map((event, n) =>
      lambdaRecord({
        data: JSON.stringify(event),
        partitionKey: event.session_id,
        sequenceNumber: `${700_000 + n}`,
        shardId: 'shardId-000000000002',
      }),
    );

    expect(await invoke({ Records: batch })).toEqual({ batchItemFailures: [] });

    expect(await counts([owned, unclaimed])).toMatchObject({ totals: 0, rows: 0, hourly: 0 });
    const [row] = await db.sql<{ n: number }[]>`
      select count(*)::int as n from sessions where session_id = ${unclaimed}`;
    expect(row?.n).toBe(0);
  });

  it('answers an empty batch with no failures', async () => {
    expect(await invoke({ Records: [] })).toEqual({ batchItemFailures: [] });
  });
});
