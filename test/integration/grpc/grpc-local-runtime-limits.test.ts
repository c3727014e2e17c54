/**
 * `npm start` serves gRPC with the limits of the Fargate task: the local runtime (in its own
 * process, as `npm start` runs it) takes them from the same settings.
 */
import { randomUUID } from 'node:crypto';
import http2 from 'node:http2';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { healthClient } from '../../support/grpc.ts';
import {
  type LocalRuntimeProcess,
  spawnLocalRuntime,
} from '../../support/local-runtime-process.ts';
import { deleteKeysWithPrefix } from '../../support/redis-keys.ts';
import { createTestDatabase, type TestDatabase } from '../../support/test-database.ts';

const PREFIX = `aic-test:grpc-local:${randomUUID()}:`;

let db: TestDatabase;
let runtime: LocalRuntimeProcess;

beforeAll(async () => {
  db = await createTestDatabase({ migrate: true });
  runtime = await spawnLocalRuntime({
    DATABASE_URL: db.url,
    REDIS_URL: 'redis://127.0.0.1:6379',
    REDIS_KEY_PREFIX: PREFIX,
    GRPC_MAX_HEALTH_WATCHES_PER_CONNECTION: '1',
  });
}, 90_000);

afterAll(async () => {
  await runtime?.stop();
  await db?.drop();
  await deleteKeysWithPrefix(PREFIX);
});

function watch(health: grpc.Client) {
  const call = (
    health as unknown as Record<string, (r: object) => grpc.ClientReadableStream<unknown>>
  ).Watch?.({ service: '' }) as grpc.ClientReadableStream<unknown>;
  call.on('error', () => undefined);
  const first = new Promise<'served' | number>((resolve) => {
    call.on('data', () => resolve('served'));
    call.on('status', (status: grpc.StatusObject) => resolve(status.code));
  });
  return { call, first };
}

describe('the local runtime', () => {
  it('refuses a call without a token at once, without reading its message', async () => {
    const session = http2.connect(`http://${runtime.grpcAddress}`);
    const request = session.request({
      ':method': 'POST',
      ':path': '/auralink.aic.v1.AICCompressionService/CompressFrame',
      'content-type': 'application/grpc',
      te: 'trailers',
    });
    const prefix = Buffer.alloc(5);
    prefix.writeUInt32BE(9 * 1024 * 1024 + 1000, 1);
    request.write(prefix);
    request.write(Buffer.alloc(1024 * 1024));
    const headers = await new Promise<http2.IncomingHttpHeaders>((resolve) =>
      request.on('response', resolve),
    );
    expect(headers['grpc-status']).toBe(String(grpc.status.UNAUTHENTICATED));
    session.destroy();
  });

  it('applies the health Watch limit of its settings (GRPC_MAX_HEALTH_WATCHES_PER_CONNECTION)', async () => {
    const health = healthClient(runtime.grpcAddress);
    const first = watch(health);
    expect(await first.first).toBe('served');
    const second = watch(health);
    expect(await second.first).toBe(grpc.status.RESOURCE_EXHAUSTED);
    first.call.cancel();
    health.close();
  });
});
