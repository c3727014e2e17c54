import { randomUUID } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CompressFrameResponseMessage } from '../../../functions/grpc/proto.ts';
import { type GrpcServer, startGrpcServer } from '../../../functions/grpc/server.ts';
import { closeRuntime } from '../../../functions/platform/runtime.ts';
import { encodeFrame } from '../../support/frames.ts';
import {
  type AicClient,
  aicClient,
  callMetadata,
  grpcCompressStream,
  unaryCall,
} from '../../support/grpc.ts';
import { animatedWebp, apng } from '../../support/input-images.ts';
import { deleteKeysWithPrefix } from '../../support/redis-keys.ts';
import { createTestDatabase, type TestDatabase } from '../../support/test-database.ts';

/** Animated frames over gRPC: refused on their own, in a call and in a stream alike. */

const PREFIX = `aic-test:grpc-inputs:${randomUUID()}:`;
const REFUSAL = 'Animated images are not accepted: send one frame per request';

let db: TestDatabase;
let server: GrpcServer;
let client: AicClient;

beforeAll(async () => {
  db = await createTestDatabase({ migrate: true });
  process.env.DATABASE_URL = db.url;
  process.env.REDIS_URL = 'redis://127.0.0.1:6379';
  process.env.REDIS_KEY_PREFIX = PREFIX;
  // Postgres is the frame log: the frames answered need no stream consumer to be stored.
  process.env.METRICS_LOG = 'postgres';
  server = await startGrpcServer({ port: 0, healthIntervalMs: 200 });
  client = aicClient(`127.0.0.1:${server.port}`);
}, 60_000);

afterAll(async () => {
  client?.close();
  await server?.shutdown(1000);
  await closeRuntime();
  delete process.env.METRICS_LOG;
  await db?.drop();
  await deleteKeysWithPrefix(PREFIX);
});

describe('animated frames over gRPC', () => {
  it('answers an animated frame in CompressFrame with INVALID_ARGUMENT naming the animation', async () => {
    for (const frame of [await animatedWebp(), await apng(2)]) {
      const { error } = await unaryCall<CompressFrameResponseMessage>(
        client,
        'CompressFrame',
        { session_id: randomUUID(), frame_data: frame },
        await callMetadata('alice'),
      );
      expect(error?.code).toBe(grpc.status.INVALID_ARGUMENT);
      expect(error?.details).toBe(REFUSAL);
      expect(error?.metadata.get('aic-error-code')).toEqual(['UNPROCESSABLE_FRAME']);
      const details = JSON.parse(String(error?.metadata.get('aic-error-details')[0]));
      expect(details).toMatchObject([{ field: 'frame_data', code: 'animated_image' }]);
    }
  });

  it('answers an animated frame in CompressStream as its own error and goes on', async () => {
    const session = randomUUID();
    const still = await encodeFrame('scene', { width: 320, height: 180 });
    const frame = (frame_data: Buffer, frame_number: number) => ({
      frame: { session_id: session, frame_data, metadata: { frame_number } },
    });
    const { responses, status } = await grpcCompressStream(
      client,
      [frame(still, 0), frame(await animatedWebp(), 1), frame(await apng(2), 2), frame(still, 3)],
      await callMetadata('alice'),
    );
    expect(status.code).toBe(grpc.status.OK);
    expect(responses.map((r) => (r.result ? r.result.frame_number : r.error?.code))).toEqual([
      0,
      'UNPROCESSABLE_FRAME',
      'UNPROCESSABLE_FRAME',
      3,
    ]);
    const refused = responses[1] as {
      error: { message: string; grpc_status_code: number; details: { code: string }[] };
    };
    expect(refused.error.message).toBe(REFUSAL);
    expect(refused.error.grpc_status_code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(refused.error.details.map((d) => d.code)).toEqual(['animated_image']);
  });
});
