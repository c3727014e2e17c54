import { randomUUID } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type {
  CompressFrameResponseMessage,
  NetworkEstimateMessage,
} from '../../../functions/grpc/proto.ts';
import { type GrpcServer, startGrpcServer } from '../../../functions/grpc/server.ts';
import { startLocalMetricsConsumer } from '../../../functions/local/metrics-consumer.ts';
import { closeRuntime } from '../../../functions/platform/runtime.ts';
import { loadSettings } from '../../../functions/platform/settings.ts';
import { encodeFrame, panningSequence } from '../../support/frames.ts';
import {
  type AicClient,
  aicClient,
  callMetadata,
  grpcCompressStream,
  unaryCall,
} from '../../support/grpc.ts';
import { deleteKeysWithPrefix, SHARED_REDIS_URL } from '../../support/redis-keys.ts';
import { createTestDatabase, type TestDatabase } from '../../support/test-database.ts';

const PREFIX = `aic-test:grpc-once:${randomUUID()}:`;

let db: TestDatabase;
let server: GrpcServer;
let client: AicClient;
let consumer: Awaited<ReturnType<typeof startLocalMetricsConsumer>>;

beforeAll(async () => {
  db = await createTestDatabase({ migrate: true });
  process.env.DATABASE_URL = db.url;
  process.env.REDIS_URL = SHARED_REDIS_URL;
  process.env.REDIS_KEY_PREFIX = PREFIX;
  // Eight copies of one frame in flight at once: more calls than one user may hold by default.
  process.env.GRPC_MAX_CALLS_PER_USER = '16';
  // Eight frames in their engines at once on a small machine may hold a Redis reply past the
  // 50 ms default; a claim without a reply would be worked twice (counted once all the same).
  process.env.REDIS_COMMAND_TIMEOUT_MS = '1000';
  // The frames go through the Redis stream, batched, and this process consumes it as `npm start` does.
  process.env.METRICS_BATCH_LINGER_MS = '5';
  server = await startGrpcServer({ port: 0, healthIntervalMs: 200 });
  client = aicClient(`127.0.0.1:${server.port}`);
  consumer = await startLocalMetricsConsumer(loadSettings(), (error) =>
    console.error('metrics consumer:', error),
  );
}, 60_000);

afterAll(async () => {
  client?.close();
  await server?.shutdown(1000);
  await consumer?.close();
  await closeRuntime();
  await db?.drop();
  await deleteKeysWithPrefix(PREFIX);
  delete process.env.GRPC_MAX_CALLS_PER_USER;
  delete process.env.REDIS_COMMAND_TIMEOUT_MS;
  delete process.env.METRICS_BATCH_LINGER_MS;
});

async function compressFrame(request: object, user: string, extra: Record<string, string> = {}) {
  return unaryCall<CompressFrameResponseMessage>(
    client,
    'CompressFrame',
    request,
    await callMetadata(user, extra),
  );
}

/** Sends `requests` on one CompressStream as `user`: every response and the status. */
async function stream(requests: object[], user: string) {
  return grpcCompressStream(client, requests, await callMetadata(user));
}

async function counts(session: string) {
  expect(consumer, 'the frame log is the Redis stream').toBeDefined();
  await consumer?.settled();
  const [row] = await db.sql<{ rows: number; totals: number; hourly: number }[]>`
    select
      (select count(*)::int from frame_metrics where session_id = ${session}) as rows,
      (select frames_total from sessions where session_id = ${session}) as totals,
      (select coalesce(sum(frames), 0)::int from frame_metrics_hourly
        where session_id = ${session}) as hourly
  `;
  return row;
}

const replayed = (trailers: grpc.Metadata) => trailers.get('aic-replay')[0] === 'true';

describe('a frame sent again over gRPC', () => {
  it('is stored once when eight CompressFrame copies arrive at once', async () => {
    const frame = await encodeFrame('scene');
    const session = randomUUID();
    const request = { session_id: session, frame_data: frame, metadata: { frame_number: 3 } };
    const outcomes = await Promise.all(
      Array.from({ length: 8 }, () => compressFrame(request, 'grpc-burst')),
    );
    const ok = outcomes.filter((o) => o.response !== undefined);
    expect(ok.filter((o) => !replayed(o.trailers))).toHaveLength(1);
    for (const refused of outcomes.filter((o) => o.error !== undefined)) {
      expect(refused.error?.code).toBe(grpc.status.ABORTED);
      expect(refused.error?.metadata.get('aic-error-code')[0]).toBe('IDEMPOTENCY_IN_PROGRESS');
      expect(refused.error?.metadata.get('retry-after')[0]).toBe('1');
    }
    const data = new Set(
      ok.map((o) => Buffer.from(o.response?.compressed_data ?? []).toString('hex')),
    );
    expect(data.size).toBe(1);
    expect(await counts(session)).toEqual({ rows: 1, totals: 1, hourly: 1 });

    const late = await compressFrame(request, 'grpc-burst');
    expect(late.error).toBeUndefined();
    expect(replayed(late.trailers)).toBe(true);
    expect(late.response).toEqual(ok.find((o) => !replayed(o.trailers))?.response);
    expect(await counts(session)).toEqual({ rows: 1, totals: 1, hourly: 1 });
  });

  it('answers a frame sent by CompressFrame and again on a CompressStream with the first answer', async () => {
    const frame = await encodeFrame('gradient', { width: 320, height: 180 });
    const session = randomUUID();
    const unary = await compressFrame(
      { session_id: session, frame_data: frame, metadata: { frame_number: 0 } },
      'cross',
    );
    expect(unary.error).toBeUndefined();
    const { responses, status } = await stream(
      [{ frame: { session_id: session, frame_data: frame, metadata: { frame_number: 0 } } }],
      'cross',
    );
    expect(status.code).toBe(grpc.status.OK);
    expect(status.metadata.get('aic-replayed-frames')[0]).toBe('1');
    expect(responses[0]?.result).toEqual(unary.response);
    expect(await counts(session)).toMatchObject({ rows: 1, totals: 1 });
  });

  it('answers the frames a new stream resends with their first answers, and counts them once', async () => {
    const frames = await panningSequence(5, { width: 320, height: 180, step: 4 });
    const session = randomUUID();
    const request = (i: number) => ({
      frame: { session_id: session, frame_data: frames[i], metadata: { frame_number: i } },
    });
    const first = await stream([0, 1, 2].map(request), 'resender');
    expect(first.status.code).toBe(grpc.status.OK);
    expect(first.status.metadata.get('aic-replayed-frames')).toEqual([]);
    // The client lost the answers of frames 1 and 2 (a drain, a reconnect) and sends them again.
    const second = await stream([1, 2, 3, 4].map(request), 'resender');
    expect(second.status.code).toBe(grpc.status.OK);
    expect(second.status.metadata.get('aic-replayed-frames')[0]).toBe('2');
    expect(second.responses.map((r) => r.result?.frame_number)).toEqual([1, 2, 3, 4]);
    expect(second.responses[0]?.result).toEqual(first.responses[1]?.result);
    expect(second.responses[1]?.result).toEqual(first.responses[2]?.result);
    expect(await counts(session)).toEqual({ rows: 5, totals: 5, hourly: 5 });
  });

  it('names a frame without a number by its idempotency-key metadata', async () => {
    const frame = await encodeFrame('scene', { width: 320, height: 180 });
    const session = randomUUID();
    const key = { 'idempotency-key': `grpc-${randomUUID()}` };
    const first = await compressFrame({ session_id: session, frame_data: frame }, 'keyed', key);
    const repeat = await compressFrame({ session_id: session, frame_data: frame }, 'keyed', key);
    expect([replayed(first.trailers), replayed(repeat.trailers)]).toEqual([false, true]);
    expect(repeat.response).toEqual(first.response);
    expect(await counts(session)).toMatchObject({ rows: 1, totals: 1 });
  });
});

describe('a network update sent again over gRPC with idempotency-key', () => {
  it('is stored once and answered the same, marked as a replay', async () => {
    const session = randomUUID();
    const request = {
      session_id: session,
      network: {
        available_bandwidth_kbps: 4000,
        rtt_ms: 40,
        packet_loss_percent: 0.5,
        jitter_ms: 5,
        fps: 30,
      },
    };
    const update = async () =>
      unaryCall<NetworkEstimateMessage>(
        client,
        'UpdateNetworkConditions',
        request,
        await callMetadata('grpc-networker', { 'idempotency-key': 'sample-1' }),
      );
    const first = await update();
    const repeat = await update();
    expect(first.error).toBeUndefined();
    expect([replayed(first.trailers), replayed(repeat.trailers)]).toEqual([false, true]);
    expect(repeat.response).toEqual(first.response);
    const [row] = await db.sql<{ n: number }[]>`
      select count(*)::int as n from network_samples where session_id = ${session}`;
    expect(row?.n).toBe(1);
  });
});
