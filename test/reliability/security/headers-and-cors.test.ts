import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type RouteId,
  type RouteSpec,
  routeList,
} from '../../../functions/core/contracts/routes.ts';
import { SECURITY_HEADERS } from '../../../functions/http/middlewares/security-headers.ts';
import { ROUTE_EXAMPLES } from '../../../functions/http/openapi-examples.ts';
import { encodeFrame } from '../../support/frames.ts';
import { startTestApi, type TestApi } from '../../support/local-api.ts';
import { createTestDatabase, type TestDatabase } from '../../support/test-database.ts';

/**
 * Walks the route table: every route, called with a valid request, without a token and from an
 * unlisted origin, answers with all security headers, and no response ever grants an unlisted
 * origin (`Access-Control-Allow-Origin`), preflights included.
 */

const LISTED = 'https://dashboard.auralink.example';
const UNLISTED = 'https://evil.example';

let db: TestDatabase;
let api: TestApi;
let frame: string;

beforeAll(async () => {
  db = await createTestDatabase({ migrate: true });
  api = await startTestApi({
    DATABASE_URL: db.url,
    REDIS_URL: undefined,
    CORS_ALLOWED_ORIGINS: LISTED,
    RATE_LIMIT_ROUTE_OVERRIDES: JSON.stringify(
      Object.fromEntries(routeList.map((route) => [route.id, 'exempt'])),
    ),
  });
  frame = (await encodeFrame('scene', { width: 320, height: 180 })).toString('base64');
});

afterAll(async () => {
  await api?.close();
  await db?.drop();
});

/** A valid request to `route` from the OpenAPI examples. */
function call(route: RouteSpec, init: { user?: string; origin: string }) {
  const examples = ROUTE_EXAMPLES[route.id as RouteId];
  const path = route.path.replace('{session_id}', randomUUID()).replace('{alert_id}', randomUUID());
  const query =
    examples?.query && route.request?.query ? `?${new URLSearchParams(examples.query)}` : '';
  const body =
    route.id === 'compress'
      ? { session_id: randomUUID(), frame_data: frame }
      : route.request?.body
        ? examples?.body
        : undefined;
  return api.request(`${path}${query}`, {
    method: route.method,
    user: init.user,
    headers: { origin: init.origin, ...(body ? { 'content-type': 'application/json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
}

function expectSecurityHeaders(response: Response, label: string) {
  for (const [name, value] of Object.entries(SECURITY_HEADERS)) {
    expect(response.headers.get(name), `${label}: ${name}`).toBe(value);
  }
}

describe('security headers and CORS on every route', () => {
  it('sends every security header on every route, authorised or not', async () => {
    for (const route of routeList) {
      for (const user of ['headers-user', undefined]) {
        const response = await call(route, { user, origin: LISTED });
        const label = `${route.method} ${route.path} (${user ?? 'no token'}) -> ${response.status}`;
        expect(response.status, label).toBeLessThan(500);
        if (!user && route.auth) expect(response.status, label).toBe(401);
        expectSecurityHeaders(response, label);
        expect(response.headers.get('access-control-allow-origin'), label).toBe(LISTED);
      }
    }
  });

  it('never grants an unlisted origin, on any route or preflight', async () => {
    for (const route of routeList) {
      const response = await call(route, { user: 'cors-user', origin: UNLISTED });
      const label = `${route.method} ${route.path} -> ${response.status}`;
      expect(response.headers.get('access-control-allow-origin'), label).toBeNull();
      expectSecurityHeaders(response, label);
      const preflight = await api.request(route.path.replace(/\{\w+\}/g, randomUUID()), {
        method: 'OPTIONS',
        headers: { origin: UNLISTED, 'access-control-request-method': route.method },
      });
      expect(preflight.headers.get('access-control-allow-origin'), `preflight ${label}`).toBeNull();
      expectSecurityHeaders(preflight, `preflight ${label}`);
    }
  });
});
