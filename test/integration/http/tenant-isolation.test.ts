import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAlertEvaluation } from '../../../functions/app/alert-evaluator.ts';
import { DEFAULT_CONFIG } from '../../../functions/core/contracts/config.ts';
import { type RouteSpec, routeList } from '../../../functions/core/contracts/routes.ts';
import { insertFrames, rebuildRollups } from '../../support/dashboard-seed.ts';
import { encodeFrame } from '../../support/frames.ts';
import { startTestApi, type TestApi } from '../../support/local-api.ts';
import { requestFor } from '../../support/route-requests.ts';
import { createTestDatabase, type TestDatabase } from '../../support/test-database.ts';

/**
 * Every route of the route table, called as tenant B with tenant A's identifiers (A's session id,
 * A's alerts), answers 404 or B's own data: never anything of A's. A session is its tenant's by key,
 * so a write of B's that names A's session id starts B's own session under that id; B's reads then
 * show B's session only. New routes are walked automatically; a route that takes a body needs an
 * example in functions/http/openapi-examples.ts.
 */

const A = `tenant-a-${randomUUID()}`;
const B = `tenant-b-${randomUUID()}`;
const SESSION_A = randomUUID();
// Values no default or example uses, so they can only come from A's stored config.
const CONFIG_A = {
  ...DEFAULT_CONFIG,
  mode: 'aggressive',
  target_compression_ratio: 0.77,
  max_latency_ms: 37,
} as const;

let db: TestDatabase;
let api: TestApi;
let frameA: string;
let alertIdsA: string[];

beforeAll(async () => {
  db = await createTestDatabase({ migrate: true });
  api = await startTestApi({
    DATABASE_URL: db.url,
    REDIS_URL: undefined,
    RATE_LIMIT_ROUTE_OVERRIDES: '{"*":"exempt"}',
  });
  frameA = (await encodeFrame('scene', { seed: 7 })).toString('base64');

  // A stores a config, compresses frames, uses every route of the table, and has alerts.
  expect((await call(A, 'PUT', '/api/v1/aic/config', CONFIG_A)).status).toBe(200);
  for (let i = 0; i < 2; i++) {
    const response = await call(A, 'POST', '/api/v1/aic/compress', {
      session_id: SESSION_A,
      frame_number: i,
      frame_data: frameA,
    });
    expect(response.status).toBe(200);
  }
  for (const route of routeList) {
    // Compress and the config writes are done above, with A's own frame and config.
    if (['compress', 'putConfig', 'postConfig'].includes(route.id)) continue;
    await call(
      A,
      route.method,
      ...requestFor(route, { sessionId: SESSION_A, alertId: randomUUID(), frameData: frameA }),
    );
  }
  await insertFrames(
    db.sql,
    Array.from({ length: 30 }, (_, i) => ({
      userId: A,
      sessionId: SESSION_A,
      recordedAt: new Date(Date.now() - i * 1000),
      originalBytes: 9_999,
      compressedBytes: 9_000,
      ssim: 0.5,
      totalMs: 300,
      fallback: true,
    })),
  );
  // The seeded frames may straddle an hour boundary, and past hours are read from the rollups.
  await rebuildRollups(db.sql);
  await runAlertEvaluation(db.sql, { windowMinutes: 5, minFrames: 1 });
  alertIdsA = (await db.sql<{ id: string }[]>`select id from alerts where user_id = ${A}`).map(
    (row) => row.id,
  );
  expect(alertIdsA.length).toBeGreaterThan(0);
}, 120_000);

afterAll(async () => {
  await api?.close();
  await db?.drop();
});

function call(user: string, method: string, path: string, body?: unknown, query = '') {
  return api.request(`${path}${query}`, {
    method,
    user,
    ...(body === undefined
      ? {}
      : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
  });
}

/** Every string and number in a JSON value, with the key it sits under. */
function leaves(value: unknown, key = ''): [string, unknown][] {
  if (Array.isArray(value)) return value.flatMap((item) => leaves(item, key));
  if (value && typeof value === 'object') {
    return Object.entries(value).flatMap(([k, v]) => leaves(v, k));
  }
  return [[key, value]];
}

/** Checks one of B's answers: nothing of A's; A's session id only as the id B itself sent. */
function expectNothingOfA(label: string, status: number, text: string): [string, unknown][] {
  expect([200, 404], label).toContain(status);
  for (const secret of [A, ...alertIdsA]) expect(text, label).not.toContain(secret);
  if (status !== 200) {
    expect(text, label).not.toContain(SESSION_A);
    return [];
  }
  const found = leaves(JSON.parse(text));
  for (const [key, value] of found) {
    if (value === SESSION_A) expect(key, `${label}: ${SESSION_A} under ${key}`).toBe('session_id');
  }
  return found;
}

/** B's call of `route` naming A's session and each of A's alerts (or an unknown alert). */
async function walkAsB(route: RouteSpec): Promise<{ label: string; found: [string, unknown][] }[]> {
  const answers: { label: string; found: [string, unknown][] }[] = [];
  for (const alertId of route.path.includes('{alert_id}') ? alertIdsA : [randomUUID()]) {
    const response = await call(
      B,
      route.method,
      ...requestFor(route, { sessionId: SESSION_A, alertId, frameData: frameA }),
    );
    const text = await response.text();
    const label = `${route.method} ${route.path} as B -> ${response.status} ${text.slice(0, 300)}`;
    const found = expectNothingOfA(label, response.status, text);
    // The OpenAPI document is static text: its examples are not anyone's data.
    answers.push({ label, found: route.id === 'openApi' ? [] : found });
  }
  return answers;
}

const reads = routeList.filter((route) => route.method === 'GET');
const writes = routeList.filter((route) => route.method !== 'GET');
const COUNTS = ['frames', 'count', 'bytes_in', 'bytes_saved', 'fallbacks'];

describe('tenant isolation', () => {
  let sessionA: { frames_total: number; bytes_in_total: number } | undefined;

  beforeAll(async () => {
    [sessionA] = await db.sql<{ frames_total: number; bytes_in_total: number }[]>`
      select frames_total::int, bytes_in_total::int from sessions
      where user_id = ${A} and session_id = ${SESSION_A}`;
  });

  it('shows tenant B none of tenant A’s data on any read route while B has none of its own', async () => {
    for (const route of reads) {
      for (const { label, found } of await walkAsB(route)) {
        for (const [key, value] of found) {
          expect(value, `${label}: ${key}`).not.toBe(SESSION_A);
          if (COUNTS.includes(key)) expect(value, `${label}: ${key}`).toBe(0);
        }
        if (route.id === 'getConfig') {
          expect(Object.fromEntries(found)).toMatchObject({
            updated_at: null,
            max_latency_ms: DEFAULT_CONFIG.max_latency_ms,
          });
        }
      }
    }
    expect(reads.map((route) => route.id)).toContain('getSession');
  });

  it('gives tenant B’s writes that name A’s session id and alerts B’s own session, or 404', async () => {
    for (const route of writes) {
      const answers = await walkAsB(route);
      // A's alerts are A's: B can resolve none of them.
      if (route.id === 'resolveAlert') {
        for (const { label } of answers) expect(label).toMatch(/-> 404 /);
      }
    }
    const owners = await db.sql<{ user_id: string }[]>`
      select user_id from sessions where session_id = ${SESSION_A} order by started_at`;
    expect(owners.map((row) => row.user_id)).toEqual([A, B]);
  });

  it('shows tenant B only its own session under A’s session id afterwards', async () => {
    const [own] = await db.sql<{ frames_total: number; bytes_in_total: number }[]>`
      select frames_total::int, bytes_in_total::int from sessions
      where user_id = ${B} and session_id = ${SESSION_A}`;
    // B sent one frame (compress) with A's session id: its figures are that frame's.
    expect(own?.frames_total).toBe(1);
    const ownFigures: Record<string, number[]> = {
      frames: [0, 1],
      count: [0, 1],
      fallbacks: [0, 1],
      bytes_in: [0, own?.bytes_in_total ?? -1],
    };
    const seen = new Set<string>();
    for (const route of reads) {
      for (const { label, found } of await walkAsB(route)) {
        for (const [key, value] of found) {
          if (key in ownFigures) expect(ownFigures[key], `${label}: ${key}`).toContain(value);
          if (key === 'frames' && value === 1) seen.add(route.id);
        }
      }
    }
    // B's own frame is there to see: the walk reads B's session, not an empty one.
    expect([...seen]).toEqual(expect.arrayContaining(['getSession', 'getPerformanceSummary']));
  });

  it('leaves tenant A’s config, session, frames and alerts as they were', async () => {
    const config = await (await call(A, 'GET', '/api/v1/aic/config')).json();
    expect(config).toMatchObject(CONFIG_A);
    const summary = (await (await call(A, 'GET', '/api/v1/aic/performance/summary')).json()) as {
      frames: number;
    };
    expect(summary.frames).toBe(32);
    const open = await db.sql`select 1 from alerts where user_id = ${A} and resolved_at is null`;
    expect(open.length).toBe(alertIdsA.length);
    const [session] = await db.sql<{ frames_total: number; bytes_in_total: number }[]>`
      select frames_total::int, bytes_in_total::int from sessions
      where user_id = ${A} and session_id = ${SESSION_A}`;
    expect(session).toEqual(sessionA);
    expect(session?.frames_total).toBe(2);
  });
});
