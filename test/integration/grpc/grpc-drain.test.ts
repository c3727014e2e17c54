import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CompressFrameResponseMessage } from '../../../functions/grpc/proto.ts';
import { encodeFrame } from '../../support/frames.ts';
import { type AicClient, aicClient, callMetadata, unaryCall } from '../../support/grpc.ts';
import { deleteKeysWithPrefix } from '../../support/redis-keys.ts';
import { createTestDatabase, type TestDatabase } from '../../support/test-database.ts';

// The Fargate entry point as the container runs it: a child process, stopped with SIGTERM.
const ROOT = join(import.meta.dirname, '..', '..', '..');
const PREFIX = `aic-test:grpc-drain:${randomUUID()}:`;

let db: TestDatabase;
let child: ChildProcess;
let exited: Promise<number | null>;
let grpcPort: number;
let metricsPort: number;
let stderr = '';

beforeAll(async () => {
  db = await createTestDatabase({ migrate: true });
  child = spawn(join(ROOT, 'node_modules', '.bin', 'tsx'), ['functions/grpc/main.ts'], {
    cwd: ROOT,
    env: {
      ...process.env,
      DATABASE_URL: db.url,
      REDIS_URL: 'redis://127.0.0.1:6379',
      REDIS_KEY_PREFIX: PREFIX,
      GRPC_HOST: '127.0.0.1',
      GRPC_PORT: '0',
      METRICS_PORT: '0',
      GRPC_HEALTH_INTERVAL_MS: '200',
      GRPC_DRAIN_TIMEOUT_MS: '20000',
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  [grpcPort, metricsPort] = await new Promise<[number, number]>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no start:\n${stderr}`)), 30_000);
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      const found = /listening on [\d.]+:(\d+), metrics on (\d+)/.exec(stderr);
      if (found) {
        clearTimeout(timer);
        resolve([Number(found[1]), Number(found[2])]);
      }
    });
  });
}, 60_000);

afterAll(async () => {
  if (child?.exitCode === null) child.kill('SIGKILL');
  await db?.drop();
  await deleteKeysWithPrefix(PREFIX);
});

async function waitForServing(): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const response = await fetch(`http://127.0.0.1:${metricsPort}/readiness`);
    if (response.status === 200) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error('never SERVING');
}

describe('the gRPC task process', () => {
  it('serves /health, /readiness and Prometheus text on /metrics', async () => {
    await waitForServing();
    const health = await fetch(`http://127.0.0.1:${metricsPort}/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: 'ok', grpc: 'SERVING' });
    const client = aicClient(`127.0.0.1:${grpcPort}`);
    await unaryCall(
      client,
      'GetCompressionHints',
      { session_id: randomUUID() },
      await callMetadata('alice'),
    );
    client.close();
    const metrics = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
    expect(metrics.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await metrics.text();
    expect(text).toContain('# TYPE aic_grpc_server_handled_total counter');
    expect(text).toMatch(
      /aic_grpc_server_handled_total\{method="GetCompressionHints",code="OK"\} 1/,
    );
    expect(text).toMatch(/aic_grpc_serving 1/);
  });

  it('on SIGTERM finishes the call in flight, refuses new calls and exits 0', async () => {
    const client: AicClient = aicClient(`127.0.0.1:${grpcPort}`);
    const frame = await encodeFrame('noise', { width: 3840, height: 2160 });
    const metadata = await callMetadata('alice');
    // The call is in flight once the server has sent its headers.
    let arrived: () => void = () => undefined;
    const started = new Promise<void>((resolve) => {
      arrived = resolve;
    });
    const inFlight = new Promise<{
      error?: grpc.ServiceError;
      response?: CompressFrameResponseMessage;
    }>((resolve) => {
      const call = (client.CompressFrame as (...args: unknown[]) => grpc.ClientUnaryCall)(
        {
          session_id: randomUUID(),
          frame_data: frame,
          mode: 'COMPRESSION_MODE_AGGRESSIVE',
          max_latency_ms: 100,
        },
        metadata,
        (error: grpc.ServiceError | null, response: CompressFrameResponseMessage) =>
          resolve(error ? { error } : { response }),
      );
      call.on('metadata', () => arrived());
    });
    await started;
    child.kill('SIGTERM');
    await new Promise((resolve) => setTimeout(resolve, 100));

    const refused = await unaryCall(
      client,
      'GetCompressionHints',
      { session_id: randomUUID() },
      metadata,
      {
        deadline: Date.now() + 3000,
      },
    );
    expect(refused.error?.code).toBe(grpc.status.UNAVAILABLE);

    const finished = await inFlight;
    expect(finished.error).toBeUndefined();
    expect(finished.response?.original_size_bytes).toBe(frame.length);
    expect(await exited).toBe(0);
    client.close();
  }, 60_000);
});
