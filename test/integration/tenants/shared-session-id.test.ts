import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compressResponseSchema } from '../../../functions/core/contracts/compress.ts';
import {
  bandwidthSavingsSchema,
  metricsResponseSchema,
  performanceSummarySchema,
  qualityDistributionSchema,
} from '../../../functions/core/contracts/dashboard.ts';
import {
  networkEstimateResponseSchema,
  sessionStatisticsSchema,
} from '../../../functions/core/contracts/network.ts';
import type {
  CompressionHintsMessage,
  NetworkEstimateMessage,
} from '../../../functions/grpc/proto.ts';
import { networkStateKey } from '../../../functions/platform/network/live-state.ts';
import { modelKey } from '../../../functions/platform/redis/session-model.ts';
import { encodeFrame } from '../../support/frames.ts';
import { callMetadata, grpcCompressStream, unaryCall } from '../../support/grpc.ts';
import { deleteKeysWithPrefix, SHARED_REDIS_URL } from '../../support/redis-keys.ts';
import { createTestDatabase, type TestDatabase } from '../../support/test-database.ts';
import {
  grpcCompressFrame,
  startTwoTransports,
  type TwoTransports,
} from '../../support/two-transports.ts';

/**
 * A session is its tenant's by key (`(user_id, session_id)`, migration 0006): two tenants that
 * choose the same session UUID, over HTTP and gRPC alike, have two sessions, each with its own
 * frames, totals, samples, model and estimate, and each tenant's dashboards show its own only.
 */

const PREFIX = `aic-test:tenants:${randomUUID()}:`;
const API = '/api/v1/aic';
const A = `tenant-a-${randomUUID()}`;
const B = `tenant-b-${randomUUID()}`;
const SESSION = randomUUID();

/** What a tenant sent and was answered, frame by frame. */
interface Sent {
  frameNumber: number;
  original: number;
  compressed: number;
}

let db: TestDatabase;
let both: TwoTransports;
const sent = new Map<string, Sent[]>([
  [A, []],
  [B, []],
]);
const samples = new Map<string, number>([
  [A, 0],
  [B, 0],
]);

const sentBy = (tenant: string) => sent.get(tenant) ?? [];
const sum = (values: number[]) => values.reduce((total, value) => total + value, 0);
const bytesIn = (tenant: string) => sum(sentBy(tenant).map((s) => s.original));
const bytesOut = (tenant: string) => sum(sentBy(tenant).map((s) => s.compressed));

const conditions = (kbps: number) => ({
  available_bandwidth_kbps: kbps,
  rtt_ms: 40,
  packet_loss_percent: 0.5,
  jitter_ms: 5,
  fps: 30,
});

const frameOf = (seed: number) => encodeFrame('scene', { width: 320, height: 180, seed });

async function httpFrame(tenant: string, frameNumber: number, seed: number): Promise<void> {
  const response = await both.api.request(`${API}/compress`, {
    method: 'POST',
    user: tenant,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      session_id: SESSION,
      frame_number: frameNumber,
      frame_data: (await frameOf(seed)).toString('base64'),
      max_latency_ms: 100,
    }),
  });
  const text = await response.text();
  expect(response.status, text).toBe(200);
  const result = compressResponseSchema.parse(JSON.parse(text));
  sentBy(tenant).push({
    frameNumber,
    original: result.original_size_bytes,
    compressed: result.compressed_size_bytes,
  });
}

async function httpNetwork(tenant: string, kbps: number): Promise<void> {
  const response = await both.api.request(`${API}/sessions/${SESSION}/network`, {
    method: 'PUT',
    user: tenant,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(conditions(kbps)),
  });
  expect(response.status, await response.text()).toBe(200);
  samples.set(tenant, (samples.get(tenant) ?? 0) + 1);
}

async function grpcFrame(tenant: string, frameNumber: number, seed: number): Promise<void> {
  const { response, error } = await grpcCompressFrame(
    both.client,
    {
      session_id: SESSION,
      frame_data: await frameOf(seed),
      metadata: { frame_number: frameNumber },
      max_latency_ms: 100,
    },
    await callMetadata(tenant),
  );
  expect(error).toBeUndefined();
  expect(response?.session_id).toBe(SESSION);
  sentBy(tenant).push({
    frameNumber,
    original: Number(response?.original_size_bytes),
    compressed: Number(response?.compressed_size_bytes),
  });
}

async function grpcStream(tenant: string, frameNumbers: number[], seed: number): Promise<void> {
  const requests = await Promise.all(
    frameNumbers.map(async (frameNumber, i) => ({
      frame: {
        session_id: SESSION,
        frame_data: await frameOf(seed + i),
        metadata: { frame_number: frameNumber },
        max_latency_ms: 100,
      },
    })),
  );
  const { responses, status } = await grpcCompressStream(
    both.client,
    requests,
    await callMetadata(tenant),
  );
  expect(status.code).toBe(0);
  for (const { result } of responses) {
    expect(result?.session_id).toBe(SESSION);
    sentBy(tenant).push({
      frameNumber: Number(result?.frame_number),
      original: Number(result?.original_size_bytes),
      compressed: Number(result?.compressed_size_bytes),
    });
  }
}

async function grpcNetwork(tenant: string, kbps: number): Promise<void> {
  const { error } = await unaryCall(
    both.client,
    'UpdateNetworkConditions',
    { session_id: SESSION, network: conditions(kbps) },
    await callMetadata(tenant),
  );
  expect(error).toBeUndefined();
  samples.set(tenant, (samples.get(tenant) ?? 0) + 1);
}

async function httpGet<T>(path: string, tenant: string, schema: { parse(value: unknown): T }) {
  const response = await both.api.request(`${API}${path}`, { user: tenant });
  const text = await response.text();
  expect(response.status, `${path} as ${tenant}: ${text}`).toBe(200);
  return schema.parse(JSON.parse(text));
}

beforeAll(async () => {
  db = await createTestDatabase({ migrate: true });
  both = await startTwoTransports({
    DATABASE_URL: db.url,
    REDIS_URL: SHARED_REDIS_URL,
    REDIS_KEY_PREFIX: PREFIX,
    RATE_LIMIT_ROUTE_OVERRIDES: '{"*":"exempt"}',
  });

  // Both tenants' first frames race for the one session id; the same frame numbers follow.
  await Promise.all([httpFrame(A, 0, 1), httpFrame(B, 0, 11)]);
  await httpFrame(A, 1, 2);
  await httpFrame(B, 1, 12);
  await httpFrame(A, 2, 3);
  await grpcFrame(A, 3, 4);
  await grpcStream(B, [2, 3, 4], 13);
  // A's network is fast, B's slow, each sampled by both transports.
  await Promise.all([httpNetwork(A, 3000), httpNetwork(B, 400)]);
  await grpcNetwork(A, 3200);
  await httpNetwork(B, 450);
  await grpcNetwork(B, 500);
  await both.api.metricsSettled();
}, 120_000);

afterAll(async () => {
  await both?.close();
  await db?.drop();
  await deleteKeysWithPrefix(PREFIX);
});

describe('two tenants that use the same session id', () => {
  it('have two sessions, each with its own frames, totals and network samples', async () => {
    expect(sentBy(A)).toHaveLength(4);
    expect(sentBy(B)).toHaveLength(5);
    const sessions = await db.sql<
      { user_id: string; frames_total: number; bytes_in_total: number; bytes_out_total: number }[]
    >`
      select user_id, frames_total::int, bytes_in_total::int, bytes_out_total::int
      from sessions where session_id = ${SESSION} order by user_id`;
    expect(sessions).toEqual(
      [A, B].map((tenant) => ({
        user_id: tenant,
        frames_total: sentBy(tenant).length,
        bytes_in_total: bytesIn(tenant),
        bytes_out_total: bytesOut(tenant),
      })),
    );
    const frames = await db.sql<{ user_id: string; numbers: number[] }[]>`
      select user_id, array_agg(frame_number::int order by frame_number) as numbers
      from frame_metrics where session_id = ${SESSION} group by user_id order by user_id`;
    expect(frames).toEqual([
      { user_id: A, numbers: [0, 1, 2, 3] },
      { user_id: B, numbers: [0, 1, 2, 3, 4] },
    ]);
    const sampled = await db.sql<{ user_id: string; n: number }[]>`
      select user_id, count(*)::int as n from network_samples where session_id = ${SESSION}
      group by user_id order by user_id`;
    expect(sampled).toEqual([
      { user_id: A, n: samples.get(A) },
      { user_id: B, n: samples.get(B) },
    ]);
  });

  it('are each shown their own session and estimate over HTTP', async () => {
    for (const tenant of [A, B]) {
      const stats = await httpGet(`/sessions/${SESSION}`, tenant, sessionStatisticsSchema);
      expect(stats).toMatchObject({
        session_id: SESSION,
        frames: sentBy(tenant).length,
        bytes_in: bytesIn(tenant),
        bytes_out: bytesOut(tenant),
      });
      const estimate = await httpGet(
        `/sessions/${SESSION}/network`,
        tenant,
        networkEstimateResponseSchema,
      );
      expect(estimate.sample_count).toBe(samples.get(tenant));
    }
    const [fast, slow] = await Promise.all(
      [A, B].map((tenant) =>
        httpGet(`/sessions/${SESSION}/network`, tenant, networkEstimateResponseSchema),
      ),
    );
    expect(fast?.smoothed_bandwidth_kbps).toBeGreaterThan(2000);
    expect(slow?.smoothed_bandwidth_kbps).toBeLessThan(1000);
  });

  it('are each shown their own estimate and hints over gRPC', async () => {
    const answers = new Map<string, number>();
    for (const tenant of [A, B]) {
      const metadata = await callMetadata(tenant);
      const analysed = await unaryCall<NetworkEstimateMessage>(
        both.client,
        'AnalyzeNetworkConditions',
        { session_id: SESSION },
        metadata,
      );
      expect(analysed.error).toBeUndefined();
      expect(analysed.response?.sample_count).toBe(samples.get(tenant));
      const hints = await unaryCall<CompressionHintsMessage>(
        both.client,
        'GetCompressionHints',
        { session_id: SESSION },
        metadata,
      );
      expect(hints.response?.sample_count).toBe(samples.get(tenant));
      answers.set(tenant, Number(hints.response?.budget_bytes_per_frame));
    }
    // A's fast network allows A's frames more bytes than B's slow one allows B's.
    expect(answers.get(A)).toBeGreaterThan(answers.get(B) ?? Number.POSITIVE_INFINITY);
  });

  it('are each shown only their own frames on their dashboards', async () => {
    for (const tenant of [A, B]) {
      const own = sentBy(tenant);
      const newestFirst = [...own].sort((x, y) => y.frameNumber - x.frameNumber);
      for (const path of [`/metrics?session_id=${SESSION}`, '/metrics']) {
        const { metrics, count } = await httpGet(path, tenant, metricsResponseSchema);
        expect(count, path).toBe(own.length);
        expect(
          metrics.map((m) => [m.session_id, m.frame_number, m.original_size_bytes]),
          path,
        ).toEqual(newestFirst.map((s) => [SESSION, s.frameNumber, s.original]));
      }
      const summary = await httpGet('/performance/summary', tenant, performanceSummarySchema);
      expect(summary).toMatchObject({
        frames: own.length,
        bytes_in: bytesIn(tenant),
        bytes_out: bytesOut(tenant),
      });
      const savings = await httpGet(
        `/stats/bandwidth-savings?days=1&session_id=${SESSION}`,
        tenant,
        bandwidthSavingsSchema,
      );
      expect(savings).toMatchObject({
        session_id: SESSION,
        frames: own.length,
        bytes_saved: bytesIn(tenant) - bytesOut(tenant),
      });
      const quality = await httpGet(
        '/stats/quality-distribution',
        tenant,
        qualityDistributionSchema,
      );
      expect(quality.frames).toBe(own.length);
    }
  });

  it('keep each tenant’s model and live estimate under keys of their own in Redis', async () => {
    const redis = new Redis(SHARED_REDIS_URL, { keyPrefix: PREFIX });
    try {
      for (const tenant of [A, B]) {
        const model = JSON.parse((await redis.get(modelKey(tenant, SESSION))) ?? '{}');
        // Each model learned from its own tenant's frames only, by either transport.
        expect(model.frames, tenant).toBe(sentBy(tenant).length);
        expect(await redis.exists(networkStateKey(tenant, SESSION)), tenant).toBe(1);
      }
    } finally {
      redis.disconnect();
    }
  });
});
