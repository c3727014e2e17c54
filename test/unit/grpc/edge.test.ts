/**
 * The edge of the gRPC server against hostile clients (docs/design.md section 3, Limits), on a real
 * server whose runtime never starts: every call that passes the edge then waits, so what is refused
 * is refused by the edge alone, and no Postgres or Redis is needed.
 */
import http2 from 'node:http2';
import { setTimeout as sleep } from 'node:timers/promises';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ReadinessResponse } from '../../../functions/core/contracts/health.ts';
import { type GrpcServer, startGrpcServer } from '../../../functions/grpc/server.ts';
import {
  type AicClient,
  aicClient,
  callMetadata,
  healthClient,
  reflectionClient,
} from '../../support/grpc.ts';

const READY: ReadinessResponse = {
  status: 'ready',
  checks: {
    initialisation: { status: 'pass', latency_ms: 0 },
    postgres: { status: 'pass', latency_ms: 0 },
    redis: { status: 'pass', latency_ms: 0 },
  },
};

const COMPRESS_FRAME = '/auralink.aic.v1.AICCompressionService/CompressFrame';

let server: GrpcServer;
let address: string;
let client: AicClient;

beforeAll(async () => {
  server = await startGrpcServer({
    port: 0,
    runtime: () => new Promise(() => undefined),
    readiness: async () => READY,
    limits: { maxCallsPerUser: 2, maxHealthWatchesPerConnection: 1 },
  });
  address = `127.0.0.1:${server.port}`;
  client = aicClient(address);
});

afterAll(async () => {
  client?.close();
  await server?.shutdown(500);
});

/** A client of its own connection (grpc-js otherwise shares one per target). */
function ownConnection<T extends grpc.Client>(shared: T): T {
  const Client = shared.constructor as new (
    address: string,
    credentials: grpc.ChannelCredentials,
    options: grpc.ClientOptions,
  ) => T;
  shared.close();
  return new Client(address, grpc.credentials.createInsecure(), {
    'grpc.use_local_subchannel_pool': 1,
  });
}

/** Resolves `admitted` once the call's handler answered with its initial metadata, else its status. */
function outcome(
  call: grpc.ClientDuplexStream<unknown, unknown> | grpc.ClientReadableStream<unknown>,
) {
  return new Promise<'admitted' | grpc.StatusObject>((resolve) => {
    call.on('metadata', () => resolve('admitted'));
    call.on('status', resolve);
    call.on('error', () => undefined);
  });
}

async function openStream(user: string) {
  const call = (
    client.CompressStream as (m: grpc.Metadata) => grpc.ClientDuplexStream<unknown, unknown>
  )(await callMetadata(user));
  return { call, outcome: await outcome(call) };
}

function watch(health: grpc.Client) {
  const call = (
    health as unknown as Record<string, (r: object) => grpc.ClientReadableStream<unknown>>
  ).Watch?.({ service: '' }) as grpc.ClientReadableStream<unknown>;
  const first = new Promise<'admitted' | grpc.StatusObject>((resolve) => {
    call.on('data', () => resolve('admitted'));
    call.on('status', resolve);
    call.on('error', () => undefined);
  });
  return { call, first };
}

function unary<T>(
  target: grpc.Client,
  method: string,
  request: object,
  metadata = new grpc.Metadata(),
): Promise<{ error?: grpc.ServiceError; response?: T }> {
  return new Promise((resolve) =>
    (target as unknown as Record<string, (...args: unknown[]) => unknown>)[method]?.(
      request,
      metadata,
      (error: grpc.ServiceError | null, response: T) => resolve(error ? { error } : { response }),
    ),
  );
}

describe('the edge of the gRPC server', () => {
  it('refuses a call without a token UNAUTHENTICATED at once, without reading the message it is sending', async () => {
    // A raw HTTP/2 client: the length prefix claims 9 MiB + 1000 bytes, 1 MiB follows, then nothing.
    // Were the token checked after the message, this call would never be answered.
    const session = http2.connect(`http://${address}`);
    const request = session.request({
      ':method': 'POST',
      ':path': COMPRESS_FRAME,
      'content-type': 'application/grpc',
      te: 'trailers',
      'x-request-id': 'stalled-1',
    });
    const prefix = Buffer.alloc(5);
    prefix.writeUInt32BE(9 * 1024 * 1024 + 1000, 1);
    request.write(prefix);
    request.write(Buffer.alloc(1024 * 1024, 7));
    const started = performance.now();
    const headers = await new Promise<http2.IncomingHttpHeaders>((resolve) =>
      request.on('response', resolve),
    );
    expect(performance.now() - started).toBeLessThan(1000);
    expect(headers['grpc-status']).toBe(String(grpc.status.UNAUTHENTICATED));
    expect(headers['www-authenticate']).toBe('Bearer');
    expect(headers['x-request-id']).toBe('stalled-1');
    expect(headers['aic-error-code']).toBe('UNAUTHORIZED');
    session.destroy();
    expect(server.metrics.calls.get({ method: 'CompressFrame', code: 'UNAUTHENTICATED' })).toBe(1);
  });

  it('lets a call with a valid token through to its handler', async () => {
    const { call, outcome: first } = await openStream('alice');
    expect(first).toBe('admitted');
    call.cancel();
  });

  it('refuses a third call of one user in flight with RESOURCE_EXHAUSTED and retry-after, not another user, and takes it again once one ends', async () => {
    const one = await openStream('carol');
    const two = await openStream('carol');
    expect([one.outcome, two.outcome]).toEqual(['admitted', 'admitted']);
    const three = await openStream('carol');
    const status = three.outcome as grpc.StatusObject;
    expect(status.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(status.metadata.get('aic-error-code')).toEqual(['CONCURRENCY_LIMIT_EXCEEDED']);
    expect(status.metadata.get('retry-after')).toEqual(['1']);
    const dave = await openStream('dave');
    expect(dave.outcome).toBe('admitted');
    one.call.cancel();
    await sleep(100);
    const again = await openStream('carol');
    expect(again.outcome).toBe('admitted');
    for (const { call } of [two, dave, again]) call.cancel();
  });

  it('gives the AIC methods without frames, health and reflection a 64 KiB receive limit', async () => {
    const big = 'x'.repeat(100 * 1024);
    const hints = await unary(
      client,
      'GetCompressionHints',
      { session_id: big },
      await callMetadata('erin'),
    );
    expect(hints.error?.code).toBe(grpc.status.RESOURCE_EXHAUSTED);

    const health = healthClient(address);
    const small = await unary<{ status: string }>(health, 'Check', { service: '' });
    expect(small.response?.status).toBe('SERVING');
    const large = await unary(health, 'Check', { service: big });
    expect(large.error?.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    health.close();

    const reflection = reflectionClient(address, 'v1');
    const info = (
      reflection as unknown as Record<string, () => grpc.ClientDuplexStream<object, unknown>>
    ).ServerReflectionInfo?.() as grpc.ClientDuplexStream<object, unknown>;
    const ended = outcome(info);
    info.write({ file_containing_symbol: big });
    expect(((await ended) as grpc.StatusObject).code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    reflection.close();
  });

  it('allows one health Watch per connection (the setting of this server), a second connection its own', async () => {
    const health = ownConnection(healthClient(address));
    const first = watch(health);
    expect(await first.first).toBe('admitted');
    const second = watch(health);
    const refused = (await second.first) as grpc.StatusObject;
    expect(refused.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    const other = ownConnection(healthClient(address));
    const elsewhere = watch(other);
    expect(await elsewhere.first).toBe('admitted');
    first.call.cancel();
    await sleep(100);
    const again = watch(health);
    expect(await again.first).toBe('admitted');
    again.call.cancel();
    elsewhere.call.cancel();
    health.close();
    other.close();
  });
});

describe('the connections of the gRPC server', () => {
  let small: GrpcServer;

  beforeAll(async () => {
    small = await startGrpcServer({
      port: 0,
      runtime: () => new Promise(() => undefined),
      readiness: async () => READY,
      limits: { maxConcurrentStreams: 4, maxConnectionAgeMs: 600, maxConnectionAgeGraceMs: 200 },
    });
  });

  afterAll(async () => {
    await small?.shutdown(500);
  });

  it('refuses a stream beyond the concurrent streams of a connection', async () => {
    const session = http2.connect(`http://127.0.0.1:${small.port}`);
    await new Promise((resolve) => session.once('remoteSettings', resolve));
    expect(session.remoteSettings.maxConcurrentStreams).toBe(4);
    const closed = Array.from({ length: 5 }, () => {
      const request = session.request({
        ':method': 'POST',
        ':path': '/grpc.health.v1.Health/Check',
        'content-type': 'application/grpc',
        te: 'trailers',
      });
      request.on('error', () => undefined);
      return new Promise<number>((resolve) =>
        request.on('close', () => resolve(request.rstCode ?? 0)),
      );
    });
    // Four streams stay open (never ended by the client); the fifth is refused.
    expect(await closed[4]).toBe(http2.constants.NGHTTP2_REFUSED_STREAM);
    session.destroy();
  });

  it('tells a connection to go away once it reached its age, and closes it after the grace period', async () => {
    const session = http2.connect(`http://127.0.0.1:${small.port}`);
    session.on('error', () => undefined);
    const started = performance.now();
    const goaway = new Promise((resolve) => session.once('goaway', resolve));
    const close = new Promise((resolve) => session.once('close', resolve));
    await goaway;
    expect(performance.now() - started).toBeLessThan(1500);
    await close;
  });
});
