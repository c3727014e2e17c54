import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAlertEvaluation } from '../../../functions/app/alert-evaluator.ts';
import { DEFAULT_CONFIG } from '../../../functions/core/contracts/config.ts';
import { type RouteSpec, routeList } from '../../../functions/core/contracts/routes.ts';
import { ROUTE_EXAMPLES } from '../../../functions/http/openapi-examples.ts';
import { insertFrames, rebuildRollups } from '../../support/dashboard-seed.ts';
import { encodeFrame } from '../../support/frames.ts';
import { startTestApi, type TestApi } from '../../support/local-api.ts';
import { createTestDatabase, type TestDatabase } from '../../support/test-database.ts';

/**
 * Every route of the route table, called as user B with user A's identifiers (A's session, A's
 * alert), answers 404 or B's own (empty) data: never anything of A's. New routes are walked
 * automatically; a route that takes a body needs an example in functions/http/openapi-examples.ts.
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
      ...requestFor(route, { sessionId: SESSION_A, alertId: randomUUID() }),
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

/** Path, body and query of a request to `route` that names A's session and alert wherever it can. */
function requestFor(
  route: RouteSpec,
  ids: { sessionId: string; alertId: string },
): [string, unknown, string] {
  const examples = ROUTE_EXAMPLES[route.id as keyof typeof ROUTE_EXAMPLES];
  const path = route.path.replace('{session_id}', ids.sessionId).replace('{alert_id}', ids.alertId);
  const swap = (value: unknown): unknown =>
    value && typeof value === 'object' && !Array.isArray(value)
      ? Object.fromEntries(
          Object.entries(value).map(([key, v]) => [
            key,
            key === 'session_id' ? ids.sessionId : swap(v),
          ]),
        )
      : value;
  const jsonBody = route.request?.body?.contentTypes.includes('application/json');
  let body: unknown;
  if (jsonBody) {
    expect(examples?.body, `${route.id} needs a body example`).toBeDefined();
    body =
      route.id === 'compress'
        ? { session_id: ids.sessionId, frame_data: frameA }
        : swap(examples?.body);
  }
  const query = route.request?.query
    ? `?${new URLSearchParams(swap(examples?.query ?? {}) as Record<string, string>)}`
    : '';
  return [path, body, query];
}

/** Every string and number in a JSON value, with the key it sits under. */
function leaves(value: unknown, key = ''): [string, unknown][] {
  if (Array.isArray(value)) return value.flatMap((item) => leaves(item, key));
  if (value && typeof value === 'object') {
    return Object.entries(value).flatMap(([k, v]) => leaves(v, k));
  }
  return [[key, value]];
}

describe('tenant isolation', () => {
  it('shows user B none of user A’s data on any route of the route table', async () => {
    const walked: string[] = [];
    for (const route of routeList) {
      for (const alertId of route.path.includes('{alert_id}') ? alertIdsA : [randomUUID()]) {
        const response = await call(
          B,
          route.method,
          ...requestFor(route, { sessionId: SESSION_A, alertId }),
        );
        const text = await response.text();
        const label = `${route.method} ${route.path} as B -> ${response.status} ${text.slice(0, 300)}`;
        expect([200, 404], label).toContain(response.status);
        for (const secret of [A, SESSION_A, ...alertIdsA])
          expect(text, label).not.toContain(secret);
        // The OpenAPI document is static text: its examples are not anyone's data.
        if (response.status === 200 && route.id !== 'openApi') {
          for (const [key, value] of leaves(JSON.parse(text))) {
            if (['frames', 'count', 'bytes_in', 'bytes_saved', 'fallbacks'].includes(key)) {
              expect(value, `${label}: ${key}`).toBe(0);
            }
          }
          if (route.id === 'getConfig') {
            expect(JSON.parse(text)).toMatchObject({
              updated_at: null,
              max_latency_ms: DEFAULT_CONFIG.max_latency_ms,
            });
          }
        }
      }
      walked.push(route.id);
    }
    expect(walked).toEqual(routeList.map((route) => route.id));
  });

  it('leaves user A’s config, frames and alerts as they were', async () => {
    const config = await (await call(A, 'GET', '/api/v1/aic/config')).json();
    expect(config).toMatchObject(CONFIG_A);
    const summary = (await (await call(A, 'GET', '/api/v1/aic/performance/summary')).json()) as {
      frames: number;
    };
    expect(summary.frames).toBe(32);
    const open = await db.sql`select 1 from alerts where user_id = ${A} and resolved_at is null`;
    expect(open.length).toBe(alertIdsA.length);
    const sessions = await db.sql`select user_id from sessions where session_id = ${SESSION_A}`;
    expect(sessions).toEqual([{ user_id: A }]);
  });
});
