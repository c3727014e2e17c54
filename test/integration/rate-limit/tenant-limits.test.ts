import { randomUUID } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CompressFrameResponseMessage } from '../../../functions/grpc/proto.ts';
import { type GrpcServer, startGrpcServer } from '../../../functions/grpc/server.ts';
import { encodeFrame } from '../../support/frames.ts';
import { type AicClient, aicClient, callMetadata, unaryCall } from '../../support/grpc.ts';
import { startTestApi, type TestApi } from '../../support/local-api.ts';
import { deleteKeysWithPrefix, SHARED_REDIS_URL } from '../../support/redis-keys.ts';
import { createTestDatabase, type TestDatabase } from '../../support/test-database.ts';

const PREFIX = `aic-test:tenant-limits:${randomUUID()}:`;
const COMPRESS = '/api/v1/aic/compress';

let db: TestDatabase;
let api: TestApi;
let grpcServer: GrpcServer;
let client: AicClient;
let frameData: string;

beforeAll(async () => {
  db = await createTestDatabase({ migrate: true });
  api = await startTestApi({
    DATABASE_URL: db.url,
    REDIS_URL: SHARED_REDIS_URL,
    REDIS_KEY_PREFIX: PREFIX,
    // Small limits, so that a test reaches them in a few frames: 3 frames a minute per session,
    // 5 per tenant, except for the tenant `media-server` (50).
    RATE_LIMIT_ROUTE_OVERRIDES: JSON.stringify({
      compress: { user: { minute: 5 }, session: { second: null, minute: 3 } },
    }),
    TENANT_RATE_LIMITS: JSON.stringify({ 'media-server': { compress: { user: { minute: 50 } } } }),
  });
  grpcServer = await startGrpcServer({ port: 0, healthIntervalMs: 200 });
  client = aicClient(`127.0.0.1:${grpcServer.port}`);
  frameData = (await encodeFrame('scene', { width: 320, height: 180 })).toString('base64');
}, 60_000);

afterAll(async () => {
  client?.close();
  await grpcServer?.shutdown(1000);
  await api?.close();
  await db?.drop();
  await deleteKeysWithPrefix(PREFIX);
  delete process.env.TENANT_RATE_LIMITS;
  delete process.env.RATE_LIMIT_ROUTE_OVERRIDES;
});

const post = (tenant: string, session: string) =>
  api.request(COMPRESS, {
    method: 'POST',
    user: tenant,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ session_id: session, frame_data: frameData, max_latency_ms: 100 }),
  });

async function statuses(tenant: string, sessions: readonly string[]): Promise<number[]> {
  const out: number[] = [];
  for (const session of sessions) out.push((await post(tenant, session)).status);
  return out;
}

describe('limits under a tenant', () => {
  it('refuse a session’s frames over its own windows while the tenant’s other sessions go on', async () => {
    const tenant = `tenant-${randomUUID()}`;
    const [a, b] = [randomUUID(), randomUUID()];
    expect(await statuses(tenant, [a, a, a])).toEqual([200, 200, 200]);
    const refused = await post(tenant, a);
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toMatch(/^\d+$/);
    const body = (await refused.json()) as { error: { code: string; request_id: string } };
    expect(body.error.code).toBe('RATE_LIMIT_EXCEEDED');
    expect(body.error.request_id).toBeTruthy();
    expect((await post(tenant, b)).status).toBe(200);
  });

  it('refuse a tenant over its quota in any session, and give a tenant of TENANT_RATE_LIMITS its own', async () => {
    const small = `tenant-${randomUUID()}`;
    const sessions = Array.from({ length: 6 }, () => randomUUID());
    expect(await statuses(small, sessions)).toEqual([200, 200, 200, 200, 200, 429]);
    expect(await statuses('media-server', sessions)).toEqual([200, 200, 200, 200, 200, 200]);
  });

  it('count a session’s frames over gRPC against the same windows as over HTTP', async () => {
    const tenant = `tenant-${randomUUID()}`;
    const session = randomUUID();
    expect(await statuses(tenant, [session, session])).toEqual([200, 200]);
    const request = {
      session_id: session,
      frame_data: Buffer.from(frameData, 'base64'),
      max_latency_ms: 100,
    };
    const first = await unaryCall<CompressFrameResponseMessage>(
      client,
      'CompressFrame',
      request,
      await callMetadata(tenant),
    );
    expect(first.error).toBeUndefined();
    const refused = await unaryCall<CompressFrameResponseMessage>(
      client,
      'CompressFrame',
      request,
      await callMetadata(tenant),
    );
    expect(refused.error?.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(refused.trailers.get('retry-after')[0]).toMatch(/^\d+$/);
  });
});
