import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import http2 from 'node:http2';
import { setTimeout as sleep } from 'node:timers/promises';
import * as grpc from '@grpc/grpc-js';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RateLimitError } from '../../../functions/core/errors.ts';
import {
  aicServiceDefinition,
  type CompressFrameResponseMessage,
  type CompressionHintsMessage,
  type CompressStreamResponseMessage,
  type NetworkEstimateMessage,
} from '../../../functions/grpc/proto.ts';
import { type GrpcServer, startGrpcServer } from '../../../functions/grpc/server.ts';
import { jwtSettingsFromEnv, signToken } from '../../../functions/platform/jwt.ts';
import { modelKey } from '../../../functions/platform/redis/session-model.ts';
import { closeRuntime } from '../../../functions/platform/runtime.ts';
import { encodeFrame, panningSequence } from '../../support/frames.ts';
import {
  type AicClient,
  aicClient,
  callMetadata,
  healthClient,
  listServices,
  reflectionClient,
  unaryCall,
} from '../../support/grpc.ts';
import { deleteKeysWithPrefix } from '../../support/redis-keys.ts';
import { createTestDatabase, type TestDatabase } from '../../support/test-database.ts';

const PREFIX = `aic-test:grpc:${randomUUID()}:`;
// GetCompressionHints and AnalyzeNetworkConditions share the quota of GET .../network.
const RATE_LIMITS = JSON.stringify({ getSessionNetwork: { user: { minute: 5 } } });

let db: TestDatabase;
let server: GrpcServer;
let client: AicClient;
let address: string;

beforeAll(async () => {
  db = await createTestDatabase({ migrate: true });
  process.env.DATABASE_URL = db.url;
  process.env.REDIS_URL = 'redis://127.0.0.1:6379';
  process.env.REDIS_KEY_PREFIX = PREFIX;
  process.env.RATE_LIMIT_ROUTE_OVERRIDES = RATE_LIMITS;
  // Postgres is the frame log here, so that what a frame's answer waits for can be held up by a
  // lock; test/integration/grpc/grpc-once.test.ts runs the Redis stream and its consumer.
  process.env.METRICS_LOG = 'postgres';
  server = await startGrpcServer({ port: 0, healthIntervalMs: 200 });
  address = `127.0.0.1:${server.port}`;
  client = aicClient(address);
}, 60_000);

afterAll(async () => {
  client?.close();
  await server?.shutdown(1000);
  await closeRuntime();
  delete process.env.METRICS_LOG;
  await db?.drop();
  await deleteKeysWithPrefix(PREFIX);
});

const network = {
  available_bandwidth_kbps: 4000,
  rtt_ms: 40,
  packet_loss_percent: 0.5,
  jitter_ms: 5,
  fps: 30,
  connection_type: 'CONNECTION_TYPE_WIFI',
};

async function compressFrame(request: object, user: string | null = 'alice', extra = {}) {
  return unaryCall<CompressFrameResponseMessage>(
    client,
    'CompressFrame',
    request,
    await callMetadata(user ?? undefined, extra),
  );
}

/**
 * Sends `requests` on one CompressStream (of `via`, the suite's server by default) and collects
 * every response and the final status.
 */
async function stream(requests: object[], user: string | null = 'alice', via = client) {
  const call = (
    via.CompressStream as (
      m: grpc.Metadata,
    ) => grpc.ClientDuplexStream<object, CompressStreamResponseMessage>
  )(await callMetadata(user ?? undefined));
  const responses: CompressStreamResponseMessage[] = [];
  const status = new Promise<grpc.StatusObject>((resolve) => call.on('status', resolve));
  call.on('data', (response: CompressStreamResponseMessage) => responses.push(response));
  call.on('error', () => undefined);
  for (const request of requests) call.write(request);
  call.end();
  return { responses, status: await status };
}

/** A promise with its resolve at hand. */
function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((res) => {
    resolve = res;
  });
  return { promise, resolve };
}

function details(error: grpc.ServiceError | undefined) {
  const text = error?.metadata.get('aic-error-details')[0];
  return typeof text === 'string' ? (JSON.parse(text) as { field: string; code: string }[]) : [];
}

describe('CompressFrame', () => {
  it('compresses a frame and echoes the request id in the headers and the trailers', async () => {
    const frame = await encodeFrame('scene');
    const sessionId = randomUUID();
    const { response, error, metadata, trailers } = await compressFrame(
      {
        session_id: sessionId,
        frame_data: frame,
        metadata: { frame_number: 7, frame_type: 'FRAME_TYPE_VIDEO' },
        mode: 'COMPRESSION_MODE_AGGRESSIVE',
        max_latency_ms: 100,
      },
      'alice',
      { 'x-request-id': 'req-grpc-1' },
    );
    expect(error).toBeUndefined();
    expect(metadata.get('x-request-id')).toEqual(['req-grpc-1']);
    expect(trailers.get('x-request-id')).toEqual(['req-grpc-1']);
    expect(trailers.get('x-ratelimit-limit')[0]).toMatch(/^\d+$/);
    const result = response as CompressFrameResponseMessage;
    expect(result.session_id).toBe(sessionId);
    expect(result.frame_number).toBe(7);
    expect(result.original_size_bytes).toBe(frame.length);
    expect(result.compressed_size_bytes).toBe(result.compressed_data.length);
    expect(result.compression_ratio).toBeCloseTo(
      1 - result.compressed_data.length / frame.length,
      4,
    );
    expect(['COMPRESSION_STATUS_SUCCESS', 'COMPRESSION_STATUS_FALLBACK']).toContain(result.status);
    expect(result.latency_ms.total).toBeGreaterThan(0);
    const meta = await sharp(result.compressed_data).metadata();
    expect(`IMAGE_FORMAT_${meta.format?.toUpperCase()}`).toBe(result.format);
    const [row] = await db.sql<{ n: number }[]>`
      select count(*)::int as n from frame_metrics where session_id = ${sessionId}`;
    expect(row?.n).toBe(1);
  });

  it('drops a frame nothing fits on a congested network, or sends what on_budget_miss asks for', async () => {
    const frame = await encodeFrame('noise', { width: 640, height: 360, quality: 90 });
    const congested = (onBudgetMiss: string) =>
      compressFrame(
        {
          session_id: randomUUID(),
          frame_data: frame,
          metadata: { frame_number: 1, frame_type: 'FRAME_TYPE_VIDEO' },
          max_latency_ms: 100,
          min_quality_score: 0.5,
          on_budget_miss: onBudgetMiss,
          network: {
            available_bandwidth_kbps: 100,
            rtt_ms: 80,
            packet_loss_percent: 0,
            jitter_ms: 5,
            fps: 30,
          },
        },
        'alice',
      );
    const dropped = (await congested('ON_BUDGET_MISS_UNSPECIFIED'))
      .response as CompressFrameResponseMessage;
    expect(dropped).toMatchObject({
      status: 'COMPRESSION_STATUS_DROPPED',
      drop_reason: 'no_candidate_fits',
      compressed_size_bytes: 0,
      fallback_used: false,
    });
    expect(dropped.compressed_data.length).toBe(0);
    const original = (await congested('ON_BUDGET_MISS_ORIGINAL'))
      .response as CompressFrameResponseMessage;
    expect(original).toMatchObject({
      status: 'COMPRESSION_STATUS_FALLBACK',
      fallback_reason: 'no_candidate_fits',
    });
    expect(original.compressed_data.equals(frame)).toBe(true);
    expect(server.metrics.expose()).toMatch(
      /aic_frame_drops_total\{reason="no_candidate_fits"\} [1-9]/,
    );
  });

  it('rejects invalid fields with INVALID_ARGUMENT and lists each one by its proto path', async () => {
    const { error } = await compressFrame({
      session_id: 'not-a-uuid',
      frame_data: await encodeFrame('gradient'),
      metadata: { frame_type: 'FRAME_TYPE_SCREEN' },
      target_compression_ratio: 2,
      network: { ...network, rtt_ms: 9000, fps: 0 },
    });
    expect(error?.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(error?.metadata.get('aic-error-code')).toEqual(['VALIDATION_FAILED']);
    expect(
      details(error)
        .map((d) => d.field)
        .sort(),
    ).toEqual(['network.fps', 'network.rtt_ms', 'session_id', 'target_compression_ratio']);
  });

  it('rejects an empty frame and an undecodable one with INVALID_ARGUMENT', async () => {
    const empty = await compressFrame({ session_id: randomUUID(), frame_data: Buffer.alloc(0) });
    expect(empty.error?.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(details(empty.error).map((d) => d.field)).toEqual(['frame_data']);
    const garbage = await compressFrame({
      session_id: randomUUID(),
      frame_data: Buffer.from('not an image at all'),
    });
    expect(garbage.error?.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(garbage.error?.metadata.get('aic-error-code')).toEqual(['UNSUPPORTED_MEDIA_TYPE']);
  });

  it('answers UNAUTHENTICATED without a token or with a forged one', async () => {
    const request = { session_id: randomUUID(), frame_data: await encodeFrame('gradient') };
    const none = await compressFrame(request, null, { 'x-request-id': 'req-anon' });
    expect(none.error?.code).toBe(grpc.status.UNAUTHENTICATED);
    expect(none.error?.metadata.get('x-request-id')).toEqual(['req-anon']);
    const forged = await compressFrame(request, null, {
      authorization: 'Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJtYWxsb3J5In0.c2lnbmF0dXJl',
    });
    expect(forged.error?.code).toBe(grpc.status.UNAUTHENTICATED);
  });

  it('gives another tenant that sends a frame with the same session id a session of its own, and leaves the first tenant’s session and model as they were', async () => {
    const { Redis } = await import('ioredis');
    const redis = new Redis('redis://127.0.0.1:6379');
    try {
      const sessionId = randomUUID();
      const [owner, other] = [`owner-${randomUUID()}`, `other-${randomUUID()}`];
      const frame = await encodeFrame('gradient');
      const request = { session_id: sessionId, frame_data: frame, metadata: { frame_number: 3 } };
      expect((await compressFrame(request, owner)).error).toBe(undefined);
      const ownerModel = await redis.get(`${PREFIX}${modelKey(owner, sessionId)}`);
      expect(ownerModel).not.toBeNull();

      // The same frame number of the same session id: the other tenant's own frame, not a repeat.
      const theirs = await compressFrame(request, other);
      expect(theirs.error).toBe(undefined);
      expect(theirs.response?.session_id).toBe(sessionId);

      const rows = await db.sql<{ user_id: string; frames_total: number; frames: number }[]>`
        select s.user_id, s.frames_total::int, (select count(*)::int from frame_metrics f
          where f.user_id = s.user_id and f.session_id = s.session_id) as frames
        from sessions s where s.session_id = ${sessionId} order by s.started_at`;
      expect(rows).toEqual([
        { user_id: owner, frames_total: 1, frames: 1 },
        { user_id: other, frames_total: 1, frames: 1 },
      ]);
      expect(await redis.get(`${PREFIX}${modelKey(owner, sessionId)}`)).toBe(ownerModel);
      expect(await redis.exists(`${PREFIX}${modelKey(other, sessionId)}`)).toBe(1);
    } finally {
      redis.disconnect();
    }
  });

  it('ends with DEADLINE_EXCEEDED when the deadline is shorter than the work, and abandons it', async () => {
    const frame = await encodeFrame('noise', { width: 3840, height: 2160 });
    const sessionId = randomUUID();
    const { error } = await unaryCall(
      client,
      'CompressFrame',
      { session_id: sessionId, frame_data: frame, mode: 'COMPRESSION_MODE_AGGRESSIVE' },
      await callMetadata('alice'),
      { deadline: Date.now() + 15 },
    );
    expect(error?.code).toBe(grpc.status.DEADLINE_EXCEEDED);
    // The abandoned frame never reaches the database.
    await sleep(1500);
    const [row] = await db.sql<{ n: number }[]>`
      select count(*)::int as n from frame_metrics where session_id = ${sessionId}`;
    expect(row?.n).toBe(0);
    expect(server.metrics.inFlight.get()).toBe(0);
  });

  it('refuses a message over the receive limit with RESOURCE_EXHAUSTED', async () => {
    const { error } = await compressFrame({
      session_id: randomUUID(),
      frame_data: Buffer.alloc(11 * 1024 * 1024, 1),
    });
    expect(error?.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
  });
});

describe('CompressStream', () => {
  it('sends a still shared screen once, then answers it unchanged with nothing to send', async () => {
    const screen = await readFile('docs/samples/screen-1280x720.png');
    const sessionId = randomUUID();
    const requests = Array.from({ length: 4 }, (_, i) => ({
      frame: {
        session_id: sessionId,
        frame_data: screen,
        metadata: { frame_number: i, timestamp_us: i * 100_000, frame_type: 'FRAME_TYPE_SCREEN' },
        max_latency_ms: 100,
        network: {
          available_bandwidth_kbps: 2500,
          rtt_ms: 40,
          packet_loss_percent: 0,
          jitter_ms: 5,
          fps: 10,
        },
      },
    }));
    const { responses, status } = await stream(requests);
    expect(status.code).toBe(grpc.status.OK);
    const results = responses.map((r) => r.result);
    expect(results[0]?.status).toBe('COMPRESSION_STATUS_SUCCESS');
    for (const result of results.slice(1)) {
      expect(result).toMatchObject({
        status: 'COMPRESSION_STATUS_UNCHANGED',
        compressed_size_bytes: 0,
        ssim: 1,
      });
      expect(result?.compressed_data.length).toBe(0);
    }
  });

  it('answers a stream of 100 frames one for one, in order', async () => {
    const frames = await panningSequence(100, { width: 320, height: 180, step: 4 });
    const sessionId = randomUUID();
    const { responses, status } = await stream(
      frames.map((frame, i) => ({
        frame: { session_id: sessionId, frame_data: frame, metadata: { frame_number: i } },
      })),
    );
    expect(status.code).toBe(grpc.status.OK);
    expect(responses).toHaveLength(100);
    expect(responses.map((r) => r.result?.frame_number)).toEqual(frames.map((_, i) => i));
    const [row] = await db.sql<{ n: number }[]>`
      select frames_total::int as n from sessions where session_id = ${sessionId}`;
    expect(row?.n).toBe(100);
  });

  it('answers a bad frame and an undecodable one as that frame’s error, takes a frame under another tenant’s session id as the caller’s own, and goes on', async () => {
    const frame = await encodeFrame('gradient', { width: 320, height: 180 });
    const theirs = randomUUID();
    const owner = `owner-${randomUUID()}`;
    await compressFrame({ session_id: theirs, frame_data: frame }, owner);
    const mine = randomUUID();
    const { responses, status } = await stream([
      { frame: { session_id: mine, frame_data: frame, metadata: { frame_number: 0 } } },
      { frame: { session_id: mine, frame_data: frame, max_latency_ms: 1000 } },
      { frame: { session_id: mine, frame_data: Buffer.from('garbage') } },
      { frame: { session_id: theirs, frame_data: frame } },
      {},
      { frame: { session_id: mine, frame_data: frame, metadata: { frame_number: 5 } } },
    ]);
    expect(status.code).toBe(grpc.status.OK);
    const kinds = responses.map((r) => (r.result ? 'result' : r.error?.code));
    expect(kinds).toEqual([
      'result',
      'VALIDATION_FAILED',
      'UNSUPPORTED_MEDIA_TYPE',
      'result',
      'VALIDATION_FAILED',
      'result',
    ]);
    const invalid = responses[1] as {
      error: { details: { field: string }[]; grpc_status_code: number };
    };
    expect(invalid.error.details.map((d) => d.field)).toEqual(['max_latency_ms']);
    expect(invalid.error.grpc_status_code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(responses[3]?.result?.session_id).toBe(theirs);
    const owners = await db.sql<{ user_id: string; frames_total: number }[]>`
      select user_id, frames_total::int from sessions where session_id = ${theirs}
      order by started_at`;
    expect(owners).toEqual([
      { user_id: owner, frames_total: 1 },
      { user_id: 'alice', frames_total: 1 },
    ]);
  });

  it('keeps the order and carries each session its model when frames of two sessions are in flight together', async () => {
    // A large frame of one session, then a small one of the other: the small one can leave its
    // engine first, yet must be answered second.
    const large = await panningSequence(6, { width: 1280, height: 720, step: 8 });
    const small = await panningSequence(6, { width: 320, height: 180, step: 4 });
    const [a, b] = [randomUUID(), randomUUID()];
    const requests = large.flatMap((frame, i) => [
      { frame: { session_id: a, frame_data: frame, metadata: { frame_number: 2 * i } } },
      {
        frame: {
          session_id: b,
          frame_data: small[i] as Buffer,
          metadata: { frame_number: 2 * i + 1 },
        },
      },
    ]);
    const { responses, status } = await stream(requests);
    expect(status.code).toBe(grpc.status.OK);
    expect(responses.map((r) => r.result?.frame_number)).toEqual(requests.map((_, i) => i));
    // Each frame learned from the one before it in its session: the cached model counts all six,
    // and it is in Redis by the time the stream has ended.
    const { Redis } = await import('ioredis');
    const redis = new Redis('redis://127.0.0.1:6379');
    try {
      for (const session of [a, b]) {
        const model = JSON.parse(
          (await redis.get(`${PREFIX}${modelKey('alice', session)}`)) ?? '{}',
        );
        expect(model.frames).toBe(6);
      }
    } finally {
      redis.disconnect();
    }
  });

  it('answers no frame before its metrics are appended to the frame log', async () => {
    const frames = await panningSequence(3, { width: 320, height: 180, step: 4 });
    const sessionId = randomUUID();
    // Inserts into frame_metrics wait while the test holds this lock; reads do not.
    const locked = deferred();
    const release = deferred();
    const holder = db.sql.begin(async (tx) => {
      await tx`lock table frame_metrics in share mode`;
      locked.resolve();
      await release.promise;
    });
    await locked.promise;
    const call = (
      client.CompressStream as (
        m: grpc.Metadata,
      ) => grpc.ClientDuplexStream<object, CompressStreamResponseMessage>
    )(await callMetadata('alice'));
    const received: number[] = [];
    const status = new Promise<grpc.StatusObject>((resolve) => call.on('status', resolve));
    call.on('data', (response: CompressStreamResponseMessage) =>
      received.push(response.result?.frame_number ?? -1),
    );
    for (const [i, frame] of frames.entries()) {
      call.write({
        frame: { session_id: sessionId, frame_data: frame, metadata: { frame_number: i } },
      });
    }
    call.end();
    await sleep(1500);
    expect(received).toEqual([]);
    release.resolve();
    await holder;
    expect((await status).code).toBe(grpc.status.OK);
    expect(received).toEqual([0, 1, 2]);
    const [row] = await db.sql<{ n: number }[]>`
      select count(*)::int as n from frame_metrics where session_id = ${sessionId}`;
    expect(row?.n).toBe(3);
  });

  it('ends a stream with DEADLINE_EXCEEDED when its deadline passes and stores none of the frames in flight', async () => {
    const frame = await encodeFrame('noise', { width: 3840, height: 2160 });
    const sessionId = randomUUID();
    const call = (
      client.CompressStream as (
        m: grpc.Metadata,
        o: grpc.CallOptions,
      ) => grpc.ClientDuplexStream<object, CompressStreamResponseMessage>
    )(await callMetadata('alice'), { deadline: Date.now() + 15 });
    const responses: CompressStreamResponseMessage[] = [];
    const status = new Promise<grpc.StatusObject>((resolve) => call.on('status', resolve));
    call.on('data', (response: CompressStreamResponseMessage) => responses.push(response));
    call.on('error', () => undefined);
    for (let i = 0; i < 3; i++) {
      call.write({
        frame: {
          session_id: sessionId,
          frame_data: frame,
          mode: 'COMPRESSION_MODE_AGGRESSIVE',
          metadata: { frame_number: i },
        },
      });
    }
    call.end();
    expect((await status).code).toBe(grpc.status.DEADLINE_EXCEEDED);
    expect(responses).toEqual([]);
    await sleep(1500);
    const [row] = await db.sql<{ n: number }[]>`
      select count(*)::int as n from frame_metrics where session_id = ${sessionId}`;
    expect(row?.n).toBe(0);
    expect(server.metrics.inFlight.get()).toBe(0);
  });

  it("holds a refused frame's answer for its retry-after, at most a second, so a stream that ignores it is read no faster than it is admitted", async () => {
    let checks = 0;
    const limited = await startGrpcServer({
      port: 0,
      rateLimiter: async () => {
        checks += 1;
        if (checks > 1) throw new RateLimitError(30, { headers: { 'x-ratelimit-remaining': '0' } });
        return { 'x-ratelimit-remaining': '9' };
      },
    });
    const limitedClient = aicClient(`127.0.0.1:${limited.port}`);
    try {
      const frames = await panningSequence(4, { width: 320, height: 180, step: 4 });
      const sessionId = randomUUID();
      const started = performance.now();
      const { responses } = await stream(
        frames.map((frame, i) => ({
          frame: { session_id: sessionId, frame_data: frame, metadata: { frame_number: i } },
        })),
        'alice',
        limitedClient,
      );
      const elapsed = performance.now() - started;
      expect(responses.map((r) => r.result?.frame_number ?? r.error?.code)).toEqual([
        0,
        'RATE_LIMIT_EXCEEDED',
        'RATE_LIMIT_EXCEEDED',
        'RATE_LIMIT_EXCEEDED',
      ]);
      // Two frames are in the work at once, so three refusals are held in at least two rounds of
      // a second each (capped from the 30 s the limiter asked for).
      expect(elapsed).toBeGreaterThanOrEqual(1900);
      expect(elapsed).toBeLessThan(15_000);
    } finally {
      limitedClient.close();
      await limited.shutdown(1000);
    }
  });

  it('answers the frames over the quota with RESOURCE_EXHAUSTED and retry-after as their own error, stores nothing from them and goes on', async () => {
    // A limiter that refuses the third and fourth frames (the fourth is already in flight when the
    // third is refused) and admits the others.
    let checks = 0;
    const limited = await startGrpcServer({
      port: 0,
      rateLimiter: async () => {
        checks += 1;
        if (checks === 3 || checks === 4) {
          throw new RateLimitError(30, { headers: { 'x-ratelimit-remaining': '0' } });
        }
        return { 'x-ratelimit-remaining': '9' };
      },
    });
    const limitedClient = aicClient(`127.0.0.1:${limited.port}`);
    try {
      const frames = await panningSequence(5, { width: 320, height: 180, step: 4 });
      const sessionId = randomUUID();
      const { responses, status } = await stream(
        frames.map((frame, i) => ({
          frame: { session_id: sessionId, frame_data: frame, metadata: { frame_number: i } },
        })),
        'alice',
        limitedClient,
      );
      expect(status.code).toBe(grpc.status.OK);
      expect(status.metadata.get('x-ratelimit-remaining')).toEqual(['9']);
      expect(responses.map((r) => r.result?.frame_number ?? r.error?.code)).toEqual([
        0,
        1,
        'RATE_LIMIT_EXCEEDED',
        'RATE_LIMIT_EXCEEDED',
        4,
      ]);
      for (const refused of [responses[2], responses[3]]) {
        expect(refused?.error?.grpc_status_code).toBe(grpc.status.RESOURCE_EXHAUSTED);
        expect(refused?.error?.retry_after_seconds).toBe(30);
      }
      expect(checks).toBe(5);
      await sleep(500);
      const rows = await db.sql<{ frame_number: number }[]>`
        select frame_number from frame_metrics where session_id = ${sessionId} order by frame_number`;
      expect(rows.map((r) => r.frame_number)).toEqual([0, 1, 4]);
    } finally {
      limitedClient.close();
      await limited.shutdown(1000);
    }
  });

  it('checks every frame of a stream against the rate limiter once, the frames it refuses too', async () => {
    const checks: string[] = [];
    const counted = await startGrpcServer({
      port: 0,
      rateLimiter: async (routeId) => {
        checks.push(routeId);
        return {};
      },
    });
    const countedClient = aicClient(`127.0.0.1:${counted.port}`);
    try {
      const [frame] = await panningSequence(1, { width: 320, height: 180, step: 4 });
      const sessionId = randomUUID();
      // A valid frame, one that fails validation, one that does not decode, a valid one.
      const { responses, status } = await stream(
        [
          { frame: { session_id: sessionId, frame_data: frame } },
          { frame: { session_id: 'not-a-uuid', frame_data: frame } },
          { frame: { session_id: sessionId, frame_data: Buffer.from('not an image') } },
          { frame: { session_id: sessionId, frame_data: frame } },
        ],
        'alice',
        countedClient,
      );
      expect(status.code).toBe(grpc.status.OK);
      expect(responses.map((r) => (r.result ? 'result' : r.error?.code))).toEqual([
        'result',
        'VALIDATION_FAILED',
        'UNSUPPORTED_MEDIA_TYPE',
        'result',
      ]);
      expect(checks).toEqual(['compress', 'compress', 'compress', 'compress']);
    } finally {
      countedClient.close();
      await counted.shutdown(1000);
    }
  });

  it('ends the stream with UNAUTHENTICATED before reading a frame when the token is missing', async () => {
    const frame = await encodeFrame('gradient', { width: 320, height: 180 });
    const { responses, status } = await stream(
      [{ frame: { session_id: randomUUID(), frame_data: frame } }],
      null,
    );
    expect(status.code).toBe(grpc.status.UNAUTHENTICATED);
    expect(responses).toEqual([]);
  });

  it('ends a stream with UNAUTHENTICATED when its token expires, after answering the frames sent before', async () => {
    const [frame] = await panningSequence(1, { width: 320, height: 180, step: 4 });
    const metadata = new grpc.Metadata();
    metadata.set('authorization', `Bearer ${await signToken('alice', jwtSettingsFromEnv(), 2)}`);
    const call = (
      client.CompressStream as (
        m: grpc.Metadata,
      ) => grpc.ClientDuplexStream<object, CompressStreamResponseMessage>
    )(metadata);
    const responses: CompressStreamResponseMessage[] = [];
    const status = new Promise<grpc.StatusObject>((resolve) => call.on('status', resolve));
    call.on('data', (response: CompressStreamResponseMessage) => responses.push(response));
    call.on('error', () => undefined);
    const started = performance.now();
    call.write({ frame: { session_id: randomUUID(), frame_data: frame } });
    // The client keeps the stream open: only the token's expiry ends it.
    const ended = await status;
    expect(ended.code).toBe(grpc.status.UNAUTHENTICATED);
    expect(ended.metadata.get('www-authenticate')).toEqual(['Bearer']);
    expect(performance.now() - started).toBeLessThan(3500);
    expect(responses.map((r) => (r.result ? 'result' : r.error?.code))).toEqual(['result']);
  });

  it('answers a frame beyond the frames one user may have in the work with RESOURCE_EXHAUSTED as its own error, and goes on', async () => {
    const capped = await startGrpcServer({ port: 0, limits: { maxFramesPerUser: 1 } });
    const cappedClient = aicClient(`127.0.0.1:${capped.port}`);
    const locked = deferred();
    const release = deferred();
    // Frame 0 waits in its store while the test holds this lock, keeping its place in the work.
    const holder = db.sql.begin(async (tx) => {
      await tx`lock table frame_metrics in share mode`;
      locked.resolve();
      await release.promise;
    });
    try {
      await locked.promise;
      const frames = await panningSequence(3, { width: 320, height: 180, step: 4 });
      const sessionId = randomUUID();
      const running = stream(
        frames.map((frame, i) => ({
          frame: { session_id: sessionId, frame_data: frame, metadata: { frame_number: i } },
        })),
        'alice',
        cappedClient,
      );
      await sleep(1500);
      release.resolve();
      await holder;
      const { responses, status } = await running;
      expect(status.code).toBe(grpc.status.OK);
      expect(responses.map((r) => r.result?.frame_number ?? r.error?.code)).toEqual([
        0,
        'CONCURRENCY_LIMIT_EXCEEDED',
        2,
      ]);
      expect(responses[1]?.error?.grpc_status_code).toBe(grpc.status.RESOURCE_EXHAUSTED);
      expect(responses[1]?.error?.retry_after_seconds).toBe(1);
      const rows = await db.sql<{ frame_number: number }[]>`
        select frame_number from frame_metrics where session_id = ${sessionId} order by frame_number`;
      expect(rows.map((r) => r.frame_number)).toEqual([0, 2]);
    } finally {
      release.resolve();
      await holder;
      cappedClient.close();
      await capped.shutdown(1000);
    }
  });

  it("refuses another user's frame with RESOURCE_EXHAUSTED and retry-after while the process's pixels are in the work, and takes it after", async () => {
    // Room for the pixels of one 640x360 frame.
    const gated = await startGrpcServer({ port: 0, limits: { maxPixelsInFlight: 640 * 360 } });
    const gatedClient = aicClient(`127.0.0.1:${gated.port}`);
    const locked = deferred();
    const release = deferred();
    const holder = db.sql.begin(async (tx) => {
      await tx`lock table frame_metrics in share mode`;
      locked.resolve();
      await release.promise;
    });
    try {
      await locked.promise;
      const large = await encodeFrame('scene', { width: 640, height: 360 });
      const small = await encodeFrame('gradient', { width: 320, height: 180 });
      const running = stream(
        [{ frame: { session_id: randomUUID(), frame_data: large } }],
        'alice',
        gatedClient,
      );
      await sleep(1500);
      const request = { session_id: randomUUID(), frame_data: small };
      const refused = await unaryCall(
        gatedClient,
        'CompressFrame',
        request,
        await callMetadata('bob'),
      );
      expect(refused.error?.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
      expect(refused.error?.metadata.get('aic-error-code')).toEqual(['CONCURRENCY_LIMIT_EXCEEDED']);
      expect(refused.error?.metadata.get('retry-after')).toEqual(['1']);
      release.resolve();
      await holder;
      expect((await running).status.code).toBe(grpc.status.OK);
      const retried = await unaryCall(
        gatedClient,
        'CompressFrame',
        request,
        await callMetadata('bob'),
      );
      expect(retried.error).toBeUndefined();
    } finally {
      release.resolve();
      await holder;
      gatedClient.close();
      await gated.shutdown(1000);
    }
  });

  it('reads no further than the client reads: a client that does not read holds the server at two frames', async () => {
    // A raw HTTP/2 client that stops reading: its flow-control window is all the server may send.
    // (grpc-js clients buffer responses themselves, which would hide the server's behaviour.)
    const method = aicServiceDefinition().CompressStream as grpc.MethodDefinition<object, object>;
    const frame = await encodeFrame('noise', { width: 640, height: 360, quality: 95 });
    const sessionId = randomUUID();
    const session = http2.connect(`http://${address}`, { maxSessionMemory: 1000 });
    const authorization = (await callMetadata('alice')).get('authorization')[0] as string;
    const call = session.request({
      ':method': 'POST',
      ':path': method.path,
      'content-type': 'application/grpc',
      te: 'trailers',
      authorization,
    });
    call.pause();
    const before = server.metrics.frames.get({ outcome: 'success' });
    // Fewer frames than a session may send in one second (90), so the limiter never answers.
    const count = 80;
    for (let i = 0; i < count; i++) {
      // Mode off answers each 230 kB frame with itself: every response overflows the window.
      const body = method.requestSerialize({
        frame: {
          session_id: sessionId,
          frame_data: frame,
          mode: 'COMPRESSION_MODE_OFF',
          metadata: { frame_number: i },
        },
      });
      const prefix = Buffer.alloc(5);
      prefix.writeUInt32BE(body.length, 1);
      call.write(Buffer.concat([prefix, body]));
    }
    call.end();
    await sleep(1000);
    expect(server.metrics.frames.get({ outcome: 'success' }) - before).toBeLessThanOrEqual(2);
    expect(call.writableLength).toBeGreaterThan((count - 10) * frame.length);

    // Once the client reads, every response arrives, in order.
    const chunks: Buffer[] = [];
    const trailers = new Promise<http2.IncomingHttpHeaders>((resolve) =>
      call.on('trailers', resolve),
    );
    const ended = new Promise((resolve) => call.on('end', resolve));
    call.on('data', (chunk: Buffer) => chunks.push(chunk));
    call.resume();
    const [headers] = await Promise.all([trailers, ended]);
    session.close();
    const bytes = Buffer.concat(chunks);
    const numbers: number[] = [];
    for (let at = 0; at < bytes.length; ) {
      const length = bytes.readUInt32BE(at + 1);
      const response = method.responseDeserialize(bytes.subarray(at + 5, at + 5 + length)) as {
        result?: { frame_number: number };
      };
      // A frame answered with an error instead of a result names its cause here.
      expect(response.result, JSON.stringify(response)).toBeDefined();
      numbers.push(response.result?.frame_number ?? -1);
      at += 5 + length;
    }
    expect(headers['grpc-status']).toBe('0');
    expect(numbers).toEqual(Array.from({ length: count }, (_, i) => i));
  });
});

describe('network RPCs', () => {
  it('records an update and analyses with and without a sample, without recording the analysis', async () => {
    const sessionId = randomUUID();
    const metadata = await callMetadata('nina');
    const update = await unaryCall(
      client,
      'UpdateNetworkConditions',
      { session_id: sessionId, network },
      metadata,
    );
    expect(update.error).toBeUndefined();
    expect(update.response).toMatchObject({
      session_id: sessionId,
      sample_count: 1,
      network_quality: 'NETWORK_QUALITY_FAIR',
      recommendation: { mode: 'COMPRESSION_MODE_ADAPTIVE' },
    });
    const current = await unaryCall(
      client,
      'AnalyzeNetworkConditions',
      { session_id: sessionId },
      metadata,
    );
    expect(current.response).toEqual(update.response);
    const whatIf = await unaryCall(
      client,
      'AnalyzeNetworkConditions',
      { session_id: sessionId, network: { ...network, available_bandwidth_kbps: 500 } },
      metadata,
    );
    expect(whatIf.response).toMatchObject({
      sample_count: 2,
      network_quality: 'NETWORK_QUALITY_POOR',
    });
    const [row] = await db.sql<{ n: number }[]>`
      select count(*)::int as n from network_samples where session_id = ${sessionId}`;
    expect(row?.n).toBe(1);
  });

  it('gives hints from the stored estimate and the requested mode', async () => {
    const sessionId = randomUUID();
    const metadata = await callMetadata('hilda');
    const fresh = await unaryCall(
      client,
      'GetCompressionHints',
      { session_id: sessionId },
      metadata,
    );
    expect(fresh.response).toMatchObject({
      sample_count: 0,
      network_quality: 'NETWORK_QUALITY_UNSPECIFIED',
      mode: 'COMPRESSION_MODE_ADAPTIVE',
      target_compression_ratio: 0.8,
    });
    const update = await unaryCall<{ budget_bytes_per_frame: number }>(
      client,
      'UpdateNetworkConditions',
      { session_id: sessionId, network },
      metadata,
    );
    const hints = await unaryCall(
      client,
      'GetCompressionHints',
      {
        session_id: sessionId,
        mode: 'COMPRESSION_MODE_CONSERVATIVE',
        frame_type: 'FRAME_TYPE_SCREEN',
      },
      metadata,
    );
    expect(hints.response).toMatchObject({
      session_id: sessionId,
      sample_count: 1,
      budget_bytes_per_frame: update.response?.budget_bytes_per_frame,
      mode: 'COMPRESSION_MODE_CONSERVATIVE',
      min_quality_score: 0.95,
      recommendation: { mode: 'COMPRESSION_MODE_CONSERVATIVE' },
    });
  });

  it('gives another tenant its own session under the same id on every network RPC, and leaves the first tenant’s estimate as it was', async () => {
    const sessionId = randomUUID();
    const owner = await callMetadata(`owner-${randomUUID()}`);
    const other = await callMetadata(`other-${randomUUID()}`);
    const call = <T = NetworkEstimateMessage>(method: string, request: object, as: grpc.Metadata) =>
      unaryCall<T>(client, method, request, as);
    const slow = { ...network, available_bandwidth_kbps: 300, rtt_ms: 250 };
    await call('UpdateNetworkConditions', { session_id: sessionId, network }, owner);
    const before = await call('AnalyzeNetworkConditions', { session_id: sessionId }, owner);
    expect(before.response?.sample_count).toBe(1);

    // The other tenant has no sample in its session of that id yet.
    const none = await call('AnalyzeNetworkConditions', { session_id: sessionId }, other);
    expect(none.error?.code).toBe(grpc.status.NOT_FOUND);
    const hints = await call<CompressionHintsMessage>(
      'GetCompressionHints',
      { session_id: sessionId },
      other,
    );
    expect(hints.response?.sample_count).toBe(0);
    const preview = await call(
      'AnalyzeNetworkConditions',
      { session_id: sessionId, network: slow },
      other,
    );
    expect(preview.response?.sample_count).toBe(1);
    const update = await call(
      'UpdateNetworkConditions',
      { session_id: sessionId, network: slow },
      other,
    );
    expect(update.response?.sample_count).toBe(1);
    expect(update.response?.smoothed_bandwidth_kbps).toBeLessThan(
      before.response?.smoothed_bandwidth_kbps ?? 0,
    );

    const after = await call('AnalyzeNetworkConditions', { session_id: sessionId }, owner);
    expect(after.response).toEqual(before.response);
    const rows = await db.sql<{ samples: number }[]>`
      select count(*)::int as samples from network_samples where session_id = ${sessionId}
      group by user_id`;
    expect(rows).toEqual([{ samples: 1 }, { samples: 1 }]);
  });

  it('requires the sample of an update', async () => {
    const { error } = await unaryCall(
      client,
      'UpdateNetworkConditions',
      { session_id: randomUUID() },
      await callMetadata('nina'),
    );
    expect(error?.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(details(error).map((d) => d.field)).toEqual(['network']);
  });

  it('answers RESOURCE_EXHAUSTED with retry information once the quota is used up', async () => {
    const metadata = await callMetadata('frugal');
    const codes: number[] = [];
    let last: grpc.ServiceError | undefined;
    for (let i = 0; i < 6; i++) {
      const { error } = await unaryCall(
        client,
        'GetCompressionHints',
        { session_id: randomUUID() },
        metadata,
      );
      codes.push(error?.code ?? grpc.status.OK);
      last = error;
    }
    expect(codes).toEqual([0, 0, 0, 0, 0, grpc.status.RESOURCE_EXHAUSTED]);
    expect(last?.metadata.get('aic-error-code')).toEqual(['RATE_LIMIT_EXCEEDED']);
    expect(Number(last?.metadata.get('retry-after')[0])).toBeGreaterThan(0);
    expect(last?.metadata.get('x-ratelimit-remaining')).toEqual(['0']);
  });
});

describe('health and reflection', () => {
  it('answers the standard health check with SERVING for the server and the service', async () => {
    const health = healthClient(address);
    const check = (service: string) =>
      new Promise<{ status: string }>((resolve, reject) =>
        (
          health as unknown as Record<
            string,
            (r: object, cb: (e: Error | null, r: { status: string }) => void) => void
          >
        ).Check?.({ service }, (error, response) => (error ? reject(error) : resolve(response))),
      );
    expect((await check('')).status).toBe('SERVING');
    expect((await check('auralink.aic.v1.AICCompressionService')).status).toBe('SERVING');
    await expect(check('no.such.Service')).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
    health.close();
  });

  it.each(['v1', 'v1alpha'] as const)(
    'lists the service through reflection %s',
    async (version) => {
      const reflection = reflectionClient(address, version);
      const services = await listServices(reflection);
      reflection.close();
      expect(services).toContain('auralink.aic.v1.AICCompressionService');
      expect(services).toContain('grpc.health.v1.Health');
    },
  );
});
