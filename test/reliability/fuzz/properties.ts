/**
 * The properties every fuzzed HTTP response must hold, whatever was sent: never a 5xx, always JSON
 * (except an empty 204), the security headers, an `X-Request-ID` that echoes a sane client one, and
 * on every non-2xx the error envelope whose `request_id` equals that header. A 2xx of a known route
 * must also match the route's response schema.
 */
import { expect } from 'vitest';
import { errorEnvelopeSchema } from '../../../functions/core/contracts/errors.ts';
import type { RouteSpec } from '../../../functions/core/contracts/routes.ts';
import { SECURITY_HEADERS } from '../../../functions/http/middlewares/security-headers.ts';
import type { FuzzRequest, FuzzResponse } from './http-client.ts';

const SANE_REQUEST_ID = /^[A-Za-z0-9._:@/+=-]{1,128}$/;

/** Tallies of one fuzz run, for the report line and docs/reliability.md. */
export interface FuzzTally {
  cases: number;
  byStatus: Record<number, number>;
}

/** A new, empty tally. */
export function newTally(): FuzzTally {
  return { cases: 0, byStatus: {} };
}

/** `cases=N 200:a 400:b ...`, the summary line a fuzz test prints. */
export function formatTally(label: string, tally: FuzzTally): string {
  const statuses = Object.entries(tally.byStatus)
    .sort(([a], [b]) => Number(a) - Number(b))
    .map(([status, count]) => `${status}:${count}`)
    .join(' ');
  return `[fuzz] ${label}: cases=${tally.cases} ${statuses}`;
}

function describeRequest(request: FuzzRequest): string {
  const body = request.body
    ? ` body(${request.body.length})=${request.body.toString('utf8', 0, 300)}`
    : '';
  return `${request.method} ${request.path.slice(0, 300)} headers=${JSON.stringify(request.headers).slice(0, 400)}${body}`;
}

/**
 * Asserts the properties on one exchange and counts it in `tally`. `route` is the route the request
 * was built for, when its path could only match that route.
 */
export function checkExchange(
  request: FuzzRequest,
  response: FuzzResponse,
  tally: FuzzTally,
  route?: RouteSpec,
): void {
  tally.cases += 1;
  tally.byStatus[response.status] = (tally.byStatus[response.status] ?? 0) + 1;
  const label = `${describeRequest(request)}\n -> ${response.status} ${response.text.slice(0, 500)}`;

  expect(response.status, label).toBeGreaterThanOrEqual(200);
  expect(response.status, label).toBeLessThan(500);

  const requestId = response.headers['x-request-id'];
  expect(typeof requestId, label).toBe('string');
  const sent = request.headers['x-request-id'];
  if (sent !== undefined && SANE_REQUEST_ID.test(sent)) expect(requestId, label).toBe(sent);
  else expect(requestId, label).toMatch(SANE_REQUEST_ID);

  for (const [name, value] of Object.entries(SECURITY_HEADERS)) {
    expect(response.headers[name.toLowerCase()], `${name}: ${label}`).toBe(value);
  }

  if (response.status === 204 && response.text === '') return;
  expect(response.headers['content-type'], label).toBe('application/json');
  let body: unknown;
  expect(() => {
    body = JSON.parse(response.text);
  }, label).not.toThrow();

  if (response.status >= 300) {
    const envelope = errorEnvelopeSchema.safeParse(body);
    expect(envelope.success, label).toBe(true);
    expect(envelope.data?.error.request_id, label).toBe(requestId);
  } else if (route && response.status === route.response.status) {
    const parsed = route.response.schema.safeParse(body);
    expect(parsed.success, `${label}\n${parsed.error?.message ?? ''}`).toBe(true);
  }
}
