/**
 * `npm start` serves the Prometheus text of its in-process gRPC server at `GET /metrics` of its
 * HTTP port, with the same series as the Fargate task's METRICS_PORT.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { aicClient, callMetadata, unaryCall } from '../../support/grpc.ts';
import {
  type LocalRuntimeProcess,
  spawnLocalRuntime,
} from '../../support/local-runtime-process.ts';
import { type OwnRedis, startOwnRedis } from '../../support/own-redis.ts';
import { createTestDatabase, type TestDatabase } from '../../support/test-database.ts';

let db: TestDatabase;
let redis: OwnRedis;
let runtime: LocalRuntimeProcess;

beforeAll(async () => {
  [db, redis] = await Promise.all([createTestDatabase({ migrate: true }), startOwnRedis()]);
  runtime = await spawnLocalRuntime({ DATABASE_URL: db.url, REDIS_URL: redis.url });
}, 90_000);

afterAll(async () => {
  await runtime?.stop();
  await redis?.stop();
  await db?.drop();
});

const scrape = () => fetch(`${runtime.url}/metrics`);

describe('GET /metrics of the local runtime', () => {
  it('answers Prometheus text format 0.0.4 with the series of the gRPC task', async () => {
    const response = await scrape();
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    const text = await response.text();
    for (const family of [
      'aic_grpc_server_handled_total counter',
      'aic_grpc_server_handling_seconds histogram',
      'aic_frames_total counter',
      'aic_frame_ssim histogram',
      'aic_grpc_in_flight_calls gauge',
      'aic_readiness_status gauge',
    ]) {
      expect(text).toContain(`# TYPE ${family}`);
    }
    expect(text).toContain('aic_readiness_status{status="ready"} 1');
    expect(text).toContain('aic_redis_circuit_breaker_state{state="closed"} 1');
  });

  it('counts the calls of the in-process gRPC server', async () => {
    const client = aicClient(runtime.grpcAddress);
    try {
      const { error } = await unaryCall(
        client,
        'GetCompressionHints',
        { session_id: randomUUID() },
        await callMetadata('local-scraper'),
      );
      expect(error).toBeUndefined();
    } finally {
      client.close();
    }
    const text = await (await scrape()).text();
    expect(text).toContain(
      'aic_grpc_server_handled_total{method="GetCompressionHints",code="OK"} 1',
    );
  });

  it('leaves other methods on /metrics to the API, which has no such route', async () => {
    const response = await fetch(`${runtime.url}/metrics`, { method: 'POST' });
    expect(response.status).toBe(404);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
  });
});
