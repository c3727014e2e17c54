import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorEnvelopeSchema } from '../../../functions/core/contracts/errors.ts';
import { migrate } from '../../../functions/platform/db/migrate.ts';
import { encodeFrame } from '../../support/frames.ts';
import { startTestApi, type TestApi } from '../../support/local-api.ts';
import { createTestDatabase, type TestDatabase } from '../../support/test-database.ts';

const PREFIX = '/api/v1/aic';
const STATEMENT_TIMEOUT_MS = 1000;

let db: TestDatabase;
let api: TestApi;
let frame: string;

beforeAll(async () => {
  db = await createTestDatabase({ migrate: true });
  // What the deploy step does: the service's role gets its statement_timeout in this database.
  await migrate(db.sql, { statementTimeoutMs: STATEMENT_TIMEOUT_MS });
  api = await startTestApi({
    DATABASE_URL: db.url,
    REDIS_URL: undefined,
    RATE_LIMIT_ROUTE_OVERRIDES: '{"*":"exempt"}',
    SESSIONS_PER_USER_PER_DAY: '2',
  });
  frame = (await encodeFrame('scene', { seed: 3 })).toString('base64');
}, 60_000);

afterAll(async () => {
  await api?.close();
  await db?.drop();
});

const compress = (user: string, session: string) =>
  api.request(`${PREFIX}/compress`, {
    method: 'POST',
    user,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ session_id: session, frame_data: frame }),
  });

const network = (user: string, session: string) =>
  api.request(`${PREFIX}/sessions/${session}/network`, {
    method: 'PUT',
    user,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      available_bandwidth_kbps: 3000,
      rtt_ms: 40,
      packet_loss_percent: 0,
      jitter_ms: 5,
    }),
  });

async function answered(response: Response) {
  const text = await response.text();
  expect(response.status, text).toBe(200);
}

async function rejected(response: Response, status: number, code: string) {
  const text = await response.text();
  expect(response.status, text).toBe(status);
  const body = errorEnvelopeSchema.parse(JSON.parse(text));
  expect(body.error.code).toBe(code);
  expect(body.error.request_id).toBe(response.headers.get('x-request-id'));
  return Number(response.headers.get('retry-after'));
}

describe('the daily cap on new sessions through HTTP', () => {
  it('answers 429 SESSION_QUOTA_EXCEEDED for a new session over it, by frame or update', async () => {
    const user = `capped-${randomUUID()}`;
    const [first, second, third] = [randomUUID(), randomUUID(), randomUUID()];
    await answered(await compress(user, first));
    await answered(await network(user, second));

    const retryAfter = await rejected(await compress(user, third), 429, 'SESSION_QUOTA_EXCEEDED');
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(86_400);
    await rejected(await network(user, third), 429, 'SESSION_QUOTA_EXCEEDED');
    // Nothing of the refused session was stored.
    await rejected(await api.request(`${PREFIX}/sessions/${third}`, { user }), 404, 'NOT_FOUND');
  });

  it('keeps the existing sessions of a user over it working', async () => {
    const user = `steady-${randomUUID()}`;
    const [first, second] = [randomUUID(), randomUUID()];
    await answered(await network(user, first));
    await answered(await compress(user, second));
    await rejected(await compress(user, randomUUID()), 429, 'SESSION_QUOTA_EXCEEDED');
    await answered(await compress(user, first));
    await answered(await network(user, second));
    await answered(await compress(user, second));
  });

  it('counts each user on their own', async () => {
    const [alice, bob] = [`alice-${randomUUID()}`, `bob-${randomUUID()}`];
    for (let i = 0; i < 2; i++) await answered(await network(alice, randomUUID()));
    await rejected(await network(alice, randomUUID()), 429, 'SESSION_QUOTA_EXCEEDED');
    await answered(await network(bob, randomUUID()));
  });
});

describe('the statement timeout through HTTP', () => {
  it('answers a statement cut off by it with 503 DEPENDENCY_UNAVAILABLE, not 500', async () => {
    const user = `blocked-${randomUUID()}`;
    let locked: () => void = () => {};
    const isLocked = new Promise<void>((resolve) => {
      locked = resolve;
    });
    // Another session holds the summary's rollup for longer than the limit.
    const holder = db.sql.begin(async (tx) => {
      await tx`set local statement_timeout = 0`;
      await tx`lock table frame_metrics_user_hourly in access exclusive mode`;
      locked();
      await tx`select pg_sleep(${(STATEMENT_TIMEOUT_MS * 4) / 1000})`;
    });
    await isLocked;
    const started = performance.now();
    const response = await api.request(`${PREFIX}/performance/summary`, { user });
    const elapsed = performance.now() - started;
    expect(await rejected(response, 503, 'DEPENDENCY_UNAVAILABLE')).toBe(1);
    expect(elapsed).toBeLessThan(STATEMENT_TIMEOUT_MS * 3);
    await holder;
    await answered(await api.request(`${PREFIX}/performance/summary`, { user }));
  });
});
