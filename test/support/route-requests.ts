/**
 * A request to any route of the route table, built from its OpenAPI examples, for tests that walk
 * every route (new routes are walked automatically; a route that takes a body needs an example in
 * functions/http/openapi-examples.ts).
 */
import { expect } from 'vitest';
import type { RouteSpec } from '../../functions/core/contracts/routes.ts';
import { ROUTE_EXAMPLES } from '../../functions/http/openapi-examples.ts';

/** The identifiers a walked request names, and the frame a compress request sends. */
export interface RouteRequestIds {
  sessionId: string;
  alertId: string;
  /** Base64 of the frame of a compress request. */
  frameData: string;
}

/** Path, body and query of a request to `route` that names `ids` wherever it can. */
export function requestFor(route: RouteSpec, ids: RouteRequestIds): [string, unknown, string] {
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
        ? { session_id: ids.sessionId, frame_data: ids.frameData }
        : swap(examples?.body);
  }
  const query = route.request?.query
    ? `?${new URLSearchParams(swap(examples?.query ?? {}) as Record<string, string>)}`
    : '';
  return [path, body, query];
}
