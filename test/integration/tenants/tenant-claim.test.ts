import { randomUUID } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compressResponseSchema } from '../../../functions/core/contracts/compress.ts';
import {
  metricsResponseSchema,
  performanceSummarySchema,
} from '../../../functions/core/contracts/dashboard.ts';
import { errorEnvelopeSchema } from '../../../functions/core/contracts/errors.ts';
import { sessionStatisticsSchema } from '../../../functions/core/contracts/network.ts';
import type { NetworkEstimateMessage } from '../../../functions/grpc/proto.ts';
import { encodeFrame } from '../../support/frames.ts';
import { callMetadata, unaryCall } from '../../support/grpc.ts';
import { deleteKeysWithPrefix, SHARED_REDIS_URL } from '../../support/redis-keys.ts';
import { createTestDatabase, type TestDatabase } from '../../support/test-database.ts';
import {
  grpcCompressFrame,
  startTwoTransports,
  type TwoTransports,
} from '../../support/two-transports.ts';

/**
 * With `AIC_TENANT_CLAIM=client_id` (a media server's app client, e.g. Cognito's client
 * credentials), the tenant is the token's `client_id`, not its `sub`: end users of one app client
 * share its sessions, quotas and dashboards, and a token without a `client_id` is refused.
 */

const PREFIX = `aic-test:tenant-claim:${randomUUID()}:`;
const API = '/api/v1/aic';
const APP = `media-app-${randomUUID()}`;
const OTHER_APP = `other-app-${randomUUID()}`;
const [ALICE, BOB, CAROL] = ['alice', 'bob', 'carol'].map((name) => `${name}-${randomUUID()}`) as [
  string,
  string,
  string,
];
const SESSION = randomUUID();

let db: TestDatabase;
let both: TwoTransports;

/** An end user of an app client: their `sub`, and the `client_id` naming the tenant. */
interface Caller {
  sub: string;
  claims: Record<string, string>;
}

const ofApp = (sub: string, app = APP): Caller => ({ sub, claims: { client_id: app } });
const withoutClient = (sub: string): Caller => ({ sub, claims: {} });

beforeAll(async () => {
  db = await createTestDatabase({ migrate: true });
  both = await startTwoTransports({
    DATABASE_URL: db.url,
    REDIS_URL: SHARED_REDIS_URL,
    REDIS_KEY_PREFIX: PREFIX,
    RATE_LIMIT_ROUTE_OVERRIDES: '{"*":"exempt"}',
    AIC_TENANT_CLAIM: 'client_id',
  });
}, 60_000);

afterAll(async () => {
  await both?.close();
  await db?.drop();
  await deleteKeysWithPrefix(PREFIX);
  delete process.env.AIC_TENANT_CLAIM;
});

const metadataOf = (caller: Caller) => callMetadata(caller.sub, {}, caller.claims);

function request(caller: Caller, path: string, init: RequestInit = {}) {
  return both.api.request(`${API}${path}`, { ...init, user: caller.sub, claims: caller.claims });
}

async function compress(caller: Caller, frameNumber: number) {
  const frame = await encodeFrame('scene', { width: 320, height: 180, seed: frameNumber + 1 });
  return request(caller, '/compress', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      session_id: SESSION,
      frame_number: frameNumber,
      frame_data: frame.toString('base64'),
      max_latency_ms: 100,
    }),
  });
}

async function answered<T>(response: Response, schema: { parse(value: unknown): T }) {
  const text = await response.text();
  expect(response.status, text).toBe(200);
  return schema.parse(JSON.parse(text));
}

async function unauthorized(response: Response) {
  const text = await response.text();
  expect(response.status, text).toBe(401);
  expect(errorEnvelopeSchema.parse(JSON.parse(text)).error.code).toBe('UNAUTHORIZED');
}

const sessionOf = async (caller: Caller) =>
  answered(await request(caller, `/sessions/${SESSION}`), sessionStatisticsSchema);

describe('the tenant named by client_id', () => {
  const sizes: number[] = [];

  it('makes a session one end user starts the other end users’ session too', async () => {
    sizes.push(
      (await answered(await compress(ofApp(ALICE), 0), compressResponseSchema)).original_size_bytes,
    );
    sizes.push(
      (await answered(await compress(ofApp(BOB), 1), compressResponseSchema)).original_size_bytes,
    );
    const { response, error } = await grpcCompressFrame(
      both.client,
      {
        session_id: SESSION,
        frame_data: await encodeFrame('scene', { width: 320, height: 180, seed: 3 }),
        metadata: { frame_number: 2 },
      },
      await metadataOf(ofApp(ALICE)),
    );
    expect(error).toBeUndefined();
    sizes.push(Number(response?.original_size_bytes));
    await both.api.metricsSettled();

    const sessions = await db.sql<{ user_id: string; frames_total: number; bytes_in: number }[]>`
      select user_id, frames_total::int, bytes_in_total::int as bytes_in from sessions
      where session_id = ${SESSION}`;
    const bytesIn = sizes.reduce((total, size) => total + size, 0);
    expect(sessions).toEqual([{ user_id: APP, frames_total: 3, bytes_in: bytesIn }]);
    const [alices, bobs] = [await sessionOf(ofApp(ALICE)), await sessionOf(ofApp(BOB))];
    expect(alices).toMatchObject({ frames: 3, bytes_in: bytesIn });
    expect(bobs).toEqual(alices);
    // Nothing is kept under an end user's own id.
    const [byUser] = await db.sql<{ n: number }[]>`
      select count(*)::int as n from sessions where user_id in (${ALICE}, ${BOB})`;
    expect(byUser?.n).toBe(0);
  });

  it('counts a frame number one end user sent, sent again by another, once in the tenant’s session', async () => {
    await answered(await compress(ofApp(BOB), 0), compressResponseSchema);
    await both.api.metricsSettled();
    expect((await sessionOf(ofApp(ALICE))).frames).toBe(3);
  });

  it('shares the session’s network estimate between the end users, by either transport', async () => {
    const update = await request(ofApp(BOB), `/sessions/${SESSION}/network`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        available_bandwidth_kbps: 2500,
        rtt_ms: 30,
        packet_loss_percent: 0,
        jitter_ms: 2,
        fps: 30,
      }),
    });
    expect(update.status, await update.text()).toBe(200);
    const analysed = await unaryCall<NetworkEstimateMessage>(
      both.client,
      'AnalyzeNetworkConditions',
      { session_id: SESSION },
      await metadataOf(ofApp(ALICE)),
    );
    expect(analysed.error).toBeUndefined();
    expect(analysed.response?.sample_count).toBe(1);
  });

  it('shows every end user of the app client the same dashboard figures, and another app client none', async () => {
    // The window's bounds (`from`, `to`) are the time of the request: the figures are the rest.
    const figures = async (caller: Caller) => {
      const {
        from: _from,
        to: _to,
        ...summary
      } = await answered(await request(caller, '/performance/summary'), performanceSummarySchema);
      return {
        summary,
        metrics: await answered(await request(caller, '/metrics'), metricsResponseSchema),
      };
    };
    const alices = await figures(ofApp(ALICE));
    expect(alices.summary.frames).toBe(3);
    expect(alices.metrics.count).toBe(3);
    // A third end user of the app, who sent nothing, sees the app's figures too.
    expect(await figures(ofApp(CAROL))).toEqual(await figures(ofApp(BOB)));
    expect(await figures(ofApp(BOB))).toEqual(alices);

    const other = await figures(ofApp(ALICE, OTHER_APP));
    expect(other.summary.frames).toBe(0);
    expect(other.metrics.count).toBe(0);
    const unknown = await request(ofApp(ALICE, OTHER_APP), `/sessions/${SESSION}`);
    expect(unknown.status).toBe(404);
  });

  it('refuses a token without a client_id with 401 on every HTTP route that needs one, and stores nothing', async () => {
    // Whatever its sub, even the app client's id itself: the sub names no tenant here.
    for (const caller of [withoutClient(ALICE), withoutClient(APP)]) {
      await unauthorized(await compress(caller, 9));
      await unauthorized(await request(caller, '/config'));
      await unauthorized(await request(caller, `/sessions/${SESSION}`));
      await unauthorized(await request(caller, '/performance/summary'));
      await unauthorized(
        await request(caller, `/sessions/${SESSION}/network`, {
          method: 'PUT',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({
            available_bandwidth_kbps: 100,
            rtt_ms: 30,
            packet_loss_percent: 0,
            jitter_ms: 2,
            fps: 30,
          }),
        }),
      );
    }
    await both.api.metricsSettled();
    expect((await sessionOf(ofApp(ALICE))).frames).toBe(3);
    const [row] = await db.sql<{ n: number }[]>`select count(*)::int as n from sessions`;
    expect(row?.n).toBe(1);
  });

  it('refuses a token without a client_id with UNAUTHENTICATED on every gRPC method', async () => {
    const frame = await encodeFrame('scene', { width: 320, height: 180 });
    for (const caller of [withoutClient(ALICE), withoutClient(APP)]) {
      const metadata = await metadataOf(caller);
      for (const [method, body] of [
        ['CompressFrame', { session_id: SESSION, frame_data: frame }],
        ['GetCompressionHints', { session_id: SESSION }],
        ['AnalyzeNetworkConditions', { session_id: SESSION }],
        [
          'UpdateNetworkConditions',
          {
            session_id: SESSION,
            network: {
              available_bandwidth_kbps: 100,
              rtt_ms: 30,
              packet_loss_percent: 0,
              jitter_ms: 2,
              fps: 30,
            },
          },
        ],
      ] as const) {
        const { error } = await unaryCall(both.client, method, body, metadata);
        expect(error?.code, method).toBe(grpc.status.UNAUTHENTICATED);
      }
    }
    const [samples] = await db.sql<{ n: number }[]>`
      select count(*)::int as n from network_samples where session_id = ${SESSION}`;
    expect(samples?.n).toBe(1);
  });
});
